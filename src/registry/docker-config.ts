/**
 * Docker's own credential file, `config.json` in `$DOCKER_CONFIG` or `~/.docker`, read as the
 * Docker CLI reads it: `credHelpers` names a helper per registry, `credsStore` the helper for
 * every other registry, and `auths` holds `auth` (base64 `user:password`) or `username` and
 * `password` per registry. Pure functions: nothing here reads a file or runs a helper.
 */
import { join } from 'node:path';

/** The parts of config.json that say where a registry's credentials are. */
export interface DockerConfigFile {
  auths: Record<string, { username?: string; password?: string; identityToken?: boolean }>;
  credHelpers: Record<string, string>;
  credsStore?: string;
}

/** Where a registry's credentials come from according to config.json. */
export type StoredAuthSource =
  | { kind: 'helper'; helper: string; serverUrl: string; fallback?: StoredAuthSource }
  | { kind: 'auths'; username: string; password: string }
  | { kind: 'identity-token' };

/** The key Docker keeps Docker Hub's credentials under (it predates registry-1.docker.io). */
export const DOCKER_HUB_SERVER = 'https://index.docker.io/v1/';
const DOCKER_HUB_HOSTS = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);

/** The config.json path Docker uses: `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`. */
export function dockerConfigPath(env: NodeJS.ProcessEnv, home: string): string {
  return env.DOCKER_CONFIG
    ? join(env.DOCKER_CONFIG, 'config.json')
    : join(env.HOME || home, '.docker', 'config.json');
}

/** Reads config.json's text; throws an Error saying what is wrong (never a credential). */
export function parseDockerConfig(text: string): DockerConfigFile {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error('not valid JSON');
  }
  if (!isObject(parsed)) throw new Error('not a JSON object');
  const auths: DockerConfigFile['auths'] = {};
  for (const [key, entry] of Object.entries(isObject(parsed.auths) ? parsed.auths : {})) {
    if (!isObject(entry)) continue;
    auths[key] = readAuthEntry(entry);
  }
  const credHelpers: Record<string, string> = {};
  for (const [key, helper] of Object.entries(
    isObject(parsed.credHelpers) ? parsed.credHelpers : {},
  )) {
    if (typeof helper === 'string' && helper !== '') credHelpers[key] = helper;
  }
  const store = parsed.credsStore;
  return {
    auths,
    credHelpers,
    ...(typeof store === 'string' && store !== '' && { credsStore: store }),
  };
}

/**
 * Where `registry`'s credentials are, in Docker's order: its `credHelpers` entry, then
 * `credsStore` (with the `auths` entry to fall back on when the store has none), then `auths`.
 * Undefined when config.json knows nothing of the registry.
 */
export function storedAuthSource(
  config: DockerConfigFile,
  registry: string,
): StoredAuthSource | undefined {
  const serverUrl = serverUrlOf(registry);
  const helper = findByHost(config.credHelpers, registry);
  const entry = findByHost(config.auths, registry);
  let fromFile: StoredAuthSource | undefined;
  if (entry?.identityToken) fromFile = { kind: 'identity-token' };
  else if (entry?.username) {
    fromFile = { kind: 'auths', username: entry.username, password: entry.password ?? '' };
  }
  if (helper) return { kind: 'helper', helper, serverUrl };
  if (config.credsStore) {
    return {
      kind: 'helper',
      helper: config.credsStore,
      serverUrl,
      ...(fromFile && { fallback: fromFile }),
    };
  }
  return fromFile;
}

/** The server URL a helper is asked about: Docker Hub's historic key, else the host. */
export function serverUrlOf(registry: string): string {
  return DOCKER_HUB_HOSTS.has(registry) ? DOCKER_HUB_SERVER : registry;
}

/**
 * The host a config.json key names, as the Docker CLI's ConvertToHostname reads it:
 * `https://registry.example.com/v2/` and `registry.example.com` are the same registry.
 */
export function keyHost(key: string): string {
  const host = key.replace(/^https?:\/\//i, '').split('/')[0] ?? '';
  return host.toLowerCase();
}

// The entry whose key names `registry`'s host; Docker Hub's under any of its names.
function findByHost<T>(entries: Record<string, T>, registry: string): T | undefined {
  const wanted = registry.toLowerCase();
  const hub = DOCKER_HUB_HOSTS.has(wanted);
  for (const [key, value] of Object.entries(entries)) {
    const host = keyHost(key);
    if (host === wanted || (hub && DOCKER_HUB_HOSTS.has(host))) return value;
  }
  return undefined;
}

function readAuthEntry(entry: Record<string, unknown>): DockerConfigFile['auths'][string] {
  if (typeof entry.identitytoken === 'string' && entry.identitytoken !== '') {
    return { identityToken: true };
  }
  if (typeof entry.auth === 'string' && entry.auth !== '') {
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon > 0) return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  }
  if (typeof entry.username === 'string' && entry.username !== '') {
    const password = typeof entry.password === 'string' ? entry.password : '';
    return { username: entry.username, password };
  }
  return {};
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
