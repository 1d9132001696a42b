/** What registry responses carry: digests of bodies, content types, tag lists, next-page links. */
import { createHash } from 'node:crypto';
import { RegistryError } from './errors.js';
import { isValidDigest } from './reference.js';
import { headerValue, type TransportResponse } from './transport.js';
import type { Manifest } from './types.js';

/** The response's media type, without parameters such as `charset`. */
export function contentType(res: TransportResponse): string | undefined {
  const value = headerValue(res.headers, 'content-type')?.split(';')[0]?.trim();
  return value ? value : undefined;
}

/** `sha256:<hex>` of a body: a manifest's digest when the registry does not send one. */
export function sha256(body: Buffer): string {
  return `sha256:${createHash('sha256').update(body).digest('hex')}`;
}

/** Throws `invalid` unless the body hashes to `digest` (sha256, sha384 or sha512). */
export function verifyDigest(body: Buffer, digest: string, describe: string): void {
  const [algorithm = '', expected] = digest.split(':');
  const actual = createHash(algorithm).update(body).digest('hex');
  if (actual !== expected) {
    throw new RegistryError('invalid', `${describe}: body does not match its digest`);
  }
}

export function isRedirect(status: number): boolean {
  return status === 301 || status === 302 || status === 303 || status === 307 || status === 308;
}

/** The `tags` of a `/tags/list` body; `invalid` if the body is not one. */
export function parseTagList(body: Buffer, describe: string): string[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    throw new RegistryError('invalid', `${describe}: the tag list is not JSON`);
  }
  if (typeof parsed !== 'object' || parsed === null || !('tags' in parsed)) {
    throw new RegistryError('invalid', `${describe}: the tag list has no tags`);
  }
  // A repository with no tags left answers `"tags": null`.
  const tags: unknown = parsed.tags ?? [];
  if (!Array.isArray(tags) || !tags.every((t) => typeof t === 'string')) {
    throw new RegistryError('invalid', `${describe}: the tag list has no tags`);
  }
  return tags;
}

/**
 * The path and query of the `rel="next"` page from a Link header, resolved against `current`;
 * undefined when there is none or it points to another host (credentials stay on the registry).
 */
export function nextPage(link: string | undefined, current: URL): string | undefined {
  const m = link ? /<([^>]+)>\s*;[^,]*rel="?next"?/.exec(link) : null;
  if (!m?.[1]) return undefined;
  const next = new URL(m[1], current);
  if (next.host !== current.host) return undefined;
  return `${next.pathname}${next.search}`;
}

/**
 * A manifest from a GET answer: parsed, checked against `expectedDigest` when fetched by digest,
 * its digest the registry's (or the body's hash), its type the one it declares (or Content-Type).
 */
export function readManifest(
  res: TransportResponse,
  expectedDigest: string | undefined,
  describe: string,
): Manifest {
  const body = res.body;
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch {
    throw new RegistryError('invalid', `${describe}: the manifest is not JSON`);
  }
  if (expectedDigest !== undefined) verifyDigest(body, expectedDigest, describe);
  // A Docker-Content-Digest that does not name this body is a registry (or proxy) lying about
  // what it served: trusting it would record a digest nobody can pull. One that is no digest
  // at all is ignored, as before, and the body's hash is used.
  const header = headerValue(res.headers, 'docker-content-digest');
  const headerDigest = header !== undefined && isValidDigest(header) ? header : undefined;
  if (headerDigest !== undefined) {
    verifyDigest(body, headerDigest, `${describe} (Docker-Content-Digest)`);
  }
  const digest = expectedDigest ?? headerDigest ?? sha256(body);
  const declared =
    typeof json === 'object' && json !== null && 'mediaType' in json ? json.mediaType : undefined;
  const mediaType = typeof declared === 'string' ? declared : (contentType(res) ?? '');
  return { digest, mediaType, body, json };
}
