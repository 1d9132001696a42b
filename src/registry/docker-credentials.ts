/**
 * Credentials for registries no regopt gives any for, where Docker keeps them: config.json's
 * `auths`, its `credHelpers` and `credsStore` (see docker-config.ts). Read when a registry is
 * first used and again when the registry refuses them, so a helper's short-lived token (ECR,
 * GCR, ACR) is fetched anew once it expires. Warnings name the file, registry and helper, never
 * a credential.
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { log } from '../log.js';
import { getFromHelper } from './credential-helper.js';
import {
  type DockerConfigFile,
  dockerConfigPath,
  parseDockerConfig,
  type StoredAuthSource,
  storedAuthSource,
} from './docker-config.js';

/** Credentials found for a registry, and where, for messages. */
export interface StoredCredentials {
  username: string;
  password: string;
  /** `docker-credential-ecr-login` or `/root/.docker/config.json`. */
  origin: string;
}

const HELPER_TIMEOUT_MS = 10_000;
// Docker's marker for an identity token (an OAuth2 refresh token) in place of a username.
const IDENTITY_TOKEN_USER = '<token>';

export class DockerCredentials {
  private readonly found = new Map<string, Promise<StoredCredentials | undefined>>();
  /** What each promise of `found` resolved to, once it has. */
  private readonly settledFor = new Map<string, { stored: StoredCredentials | undefined }>();
  private readonly refreshing = new WeakMap<StoredCredentials, Promise<unknown>>();
  private readonly env: NodeJS.ProcessEnv;
  private readonly file: string;
  private readonly helperTimeoutMs: number;

  constructor(opts: { env?: NodeJS.ProcessEnv; helperTimeoutMs?: number } = {}) {
    this.env = opts.env ?? process.env;
    this.file = dockerConfigPath(this.env, homedir());
    this.helperTimeoutMs = opts.helperTimeoutMs ?? HELPER_TIMEOUT_MS;
  }

  /** The credentials config.json holds for `registry`, read once and then kept. */
  get(registry: string): Promise<StoredCredentials | undefined> {
    let found = this.found.get(registry);
    if (!found) {
      found = this.read(registry);
      this.remember(registry, found);
    }
    return found;
  }

  /**
   * What `get` resolved to for `registry`, once it has (`stored` undefined: config.json holds
   * none for it); undefined while it is being read or was never asked.
   */
  settled(registry: string): { stored: StoredCredentials | undefined } | undefined {
    return this.settledFor.get(registry);
  }

  private remember(registry: string, found: Promise<StoredCredentials | undefined>): void {
    this.found.set(registry, found);
    this.settledFor.delete(registry);
    found.then(
      (stored) => {
        if (this.found.get(registry) === found) this.settledFor.set(registry, { stored });
      },
      () => undefined,
    );
  }

  /**
   * Reads `registry`'s credentials again after the registry refused `used`: the helper is asked
   * anew. Callers refused the same credentials at once share one read.
   */
  refresh(registry: string, used: StoredCredentials): Promise<StoredCredentials | undefined> {
    const pending = this.refreshing.get(used) as Promise<StoredCredentials | undefined> | undefined;
    if (pending) return pending;
    const found = this.read(registry);
    this.refreshing.set(used, found);
    this.remember(registry, found);
    return found;
  }

  private async read(registry: string): Promise<StoredCredentials | undefined> {
    const config = this.readFile();
    const source = config && storedAuthSource(config, registry);
    return source && this.fromSource(registry, source);
  }

  private async fromSource(
    registry: string,
    source: StoredAuthSource,
  ): Promise<StoredCredentials | undefined> {
    if (source.kind === 'auths') {
      return { username: source.username, password: source.password, origin: this.file };
    }
    if (source.kind === 'identity-token') return this.identityToken(registry);
    const origin = `docker-credential-${source.helper}`;
    try {
      const answer = await getFromHelper(source.helper, source.serverUrl, {
        env: this.env,
        timeoutMs: this.helperTimeoutMs,
      });
      if (answer?.username === IDENTITY_TOKEN_USER) return this.identityToken(registry);
      if (answer) return { username: answer.username, password: answer.secret, origin };
    } catch (err) {
      log('warn', 'credential helper failed; trying without it', {
        registry,
        helper: origin,
        error: err instanceof Error ? err.message : String(err),
      });
    }
    return source.fallback && this.fromSource(registry, source.fallback);
  }

  private identityToken(registry: string): undefined {
    log('warn', 'Docker keeps an identity token for this registry, which is not supported here', {
      registry,
      hint: 'give the regopt a username and password (or token) instead',
    });
    return undefined;
  }

  private readFile(): DockerConfigFile | undefined {
    let text: string;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT') log('warn', 'cannot read Docker config', { file: this.file, code });
      return undefined;
    }
    try {
      return parseDockerConfig(text);
    } catch (err) {
      log('warn', 'Docker config ignored', { file: this.file, error: (err as Error).message });
      return undefined;
    }
  }
}
