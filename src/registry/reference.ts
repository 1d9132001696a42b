/**
 * Image references, normalised as Docker does (docker/distribution's `ParseNormalizedNamed`):
 * `nginx` is `docker.io/library/nginx:latest`. The formatted string is the `image` label.
 */
export interface ImageReference {
  /** 'docker.io', '127.0.0.1:5000', 'ghcr.io' */
  registry: string;
  /** 'library/nginx' */
  repository: string;
  tag?: string;
  /** 'sha256:...' */
  digest?: string;
}

export class ReferenceParseError extends Error {
  override readonly name = 'ReferenceParseError';
  constructor(input: string, why: string) {
    super(`invalid image reference ${JSON.stringify(input)}: ${why}`);
  }
}

const DEFAULT_REGISTRY = 'docker.io';
// Names that all mean Docker Hub; Docker itself folds index.docker.io, we also fold the API host.
const DOCKER_HUB_ALIASES = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);
const NAME_MAX_LENGTH = 255;

const domainComponent = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const ipv6 = '\\[[a-fA-F0-9:]+\\]';
const DOMAIN = new RegExp(`^(?:${domainComponent}(?:\\.${domainComponent})*|${ipv6})(?::[0-9]+)?$`);
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;
const DIGEST_HEX_LENGTH: Record<string, number> = { sha256: 64, sha384: 96, sha512: 128 };
const IMAGE_ID = /^[a-f0-9]{64}$/;

/** Parses a reference the way `docker pull` does; throws ReferenceParseError when Docker would. */
export function parseReference(input: string): ImageReference {
  if (input === '') throw new ReferenceParseError(input, 'empty');
  if (IMAGE_ID.test(input)) {
    throw new ReferenceParseError(input, 'a 64-character hex string is an image ID, not a name');
  }
  let rest = input;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at !== -1) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    const problem = digestProblem(digest);
    if (problem) throw new ReferenceParseError(input, problem);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw new ReferenceParseError(input, `bad tag ${JSON.stringify(tag)}`);
  }
  const { registry, repository } = splitRegistry(rest);
  if (!DOMAIN.test(registry)) throw new ReferenceParseError(input, `bad registry ${registry}`);
  if (repository.toLowerCase() !== repository) {
    throw new ReferenceParseError(input, 'repository name must be lowercase');
  }
  if (!repository.split('/').every((c) => PATH_COMPONENT.test(c))) {
    throw new ReferenceParseError(input, `bad repository name ${JSON.stringify(repository)}`);
  }
  if (registry.length + 1 + repository.length > NAME_MAX_LENGTH) {
    throw new ReferenceParseError(input, `name longer than ${NAME_MAX_LENGTH} characters`);
  }
  if (tag === undefined && digest === undefined) tag = 'latest';
  const ref: ImageReference = { registry, repository };
  if (tag !== undefined) ref.tag = tag;
  if (digest !== undefined) ref.digest = digest;
  return ref;
}

// The first path component is a registry only when it looks like a host: it has a dot or a
// port, is `localhost`, or has uppercase letters (which a repository may not).
function splitRegistry(name: string): { registry: string; repository: string } {
  const slash = name.indexOf('/');
  const first = name.slice(0, slash);
  let registry: string;
  let repository: string;
  if (
    slash === -1 ||
    (!/[.:]/.test(first) && first !== 'localhost' && first.toLowerCase() === first)
  ) {
    registry = DEFAULT_REGISTRY;
    repository = name;
  } else {
    registry = first;
    repository = name.slice(slash + 1);
  }
  if (DOCKER_HUB_ALIASES.has(registry)) {
    registry = DEFAULT_REGISTRY;
    if (!repository.includes('/')) repository = `library/${repository}`;
  }
  return { registry, repository };
}

function digestProblem(digest: string): string | undefined {
  if (!DIGEST.test(digest)) return `bad digest ${JSON.stringify(digest)}`;
  const [algorithm = '', hex = ''] = digest.split(':');
  const length = DIGEST_HEX_LENGTH[algorithm];
  if (length === undefined) return `unsupported digest algorithm ${algorithm}`;
  if (hex.length !== length || !/^[a-f0-9]+$/.test(hex)) {
    return `${algorithm} digest must be ${length} lowercase hex characters`;
  }
  return undefined;
}

/** True for a digest Docker accepts: `sha256:` and 64 lowercase hex characters, or sha384/512. */
export function isValidDigest(digest: string): boolean {
  return digestProblem(digest) === undefined;
}

/** `docker.io/library/nginx:latest`, with `@digest` appended when the reference has one. */
export function formatReference(ref: ImageReference): string {
  let s = repositoryKey(ref);
  if (ref.tag !== undefined) s += `:${ref.tag}`;
  if (ref.digest !== undefined) s += `@${ref.digest}`;
  return s;
}

/** `registry/repository`: what RepoDigests and registry caches are keyed by. */
export function repositoryKey(ref: Pick<ImageReference, 'registry' | 'repository'>): string {
  return `${ref.registry}/${ref.repository}`;
}

/**
 * Reads one of Docker's `RepoDigests` entries (`nginx@sha256:...`); undefined for anything that
 * is not a repository with a digest (such as `<none>@<none>`).
 */
export function parseRepoDigest(s: string): { repository: string; digest: string } | undefined {
  if (!s.includes('@')) return undefined;
  try {
    const ref = parseReference(s);
    if (ref.digest === undefined) return undefined;
    return { repository: repositoryKey(ref), digest: ref.digest };
  } catch {
    return undefined;
  }
}

/** The host the registry API answers on: Docker Hub's is registry-1.docker.io. */
export function registryApiHost(registry: string): string {
  return registry === DEFAULT_REGISTRY ? 'registry-1.docker.io' : registry;
}

/** The URL of `path` (such as `/v2/`) on a registry's API: plain HTTP for loopback registries. */
export function registryApiUrl(registry: string, path: string): URL {
  const scheme = isLoopbackRegistry(registry) ? 'http' : 'https';
  return new URL(path, `${scheme}://${registryApiHost(registry)}`);
}

/**
 * True for localhost, 127.0.0.0/8 and [::1], with or without a port: Docker treats these as
 * insecure registries, so they are spoken to over plain HTTP.
 */
export function isLoopbackRegistry(registry: string): boolean {
  const host = registry.startsWith('[')
    ? registry.slice(0, registry.indexOf(']') + 1)
    : (registry.split(':')[0] ?? '');
  if (host.toLowerCase() === 'localhost' || host === '[::1]') return true;
  const octets = host.split('.');
  return (
    octets.length === 4 &&
    octets[0] === '127' &&
    octets.every((o) => /^\d{1,3}$/.test(o) && Number(o) <= 255)
  );
}
