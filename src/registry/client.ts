/**
 * The registry client: HEAD and GET of manifests, blobs and tag lists over the distribution
 * API, authenticated as Docker would be. Every failure is a RegistryError with a `reason`.
 */

import type { LookupFunction } from 'node:net';
import { Authenticator } from './auth.js';
import {
  contentType,
  isRedirect,
  nextPage,
  parseTagList,
  readManifest,
  verifyDigest,
} from './content.js';
import type { DockerCredentials, StoredCredentials } from './docker-credentials.js';
import { RegistryError } from './errors.js';
import { concurrencyCeiling } from './limiter.js';
import { formatReference, type ImageReference, isValidDigest, repositoryKey } from './reference.js';
import { RegistrySchemes } from './schemes.js';
import {
  headerValue,
  type RegistryObserver,
  type RequestKind,
  statusError,
  Transport,
  type TransportRequest,
  type TransportResponse,
} from './transport.js';
import type { Manifest, ManifestHead, RequestOptions } from './types.js';

export type { RegistryObserver, RequestKind } from './transport.js';

/** The multi-platform manifest types: an OCI image index and a Docker manifest list. */
export const INDEX_MEDIA_TYPES = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
] as const;

/** Manifest types asked for, multi-platform first, so a multi-arch tag answers with its index. */
export const MANIFEST_MEDIA_TYPES = [
  ...INDEX_MEDIA_TYPES,
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
] as const;

// Sent with every manifest request: joined once, not per request.
const MANIFEST_ACCEPT = MANIFEST_MEDIA_TYPES.join(', ');
const MANIFEST_MAX_BYTES = 4 * 1024 * 1024;
const BLOB_MAX_BYTES = 16 * 1024 * 1024;
const TAGS_MAX_BYTES = 4 * 1024 * 1024;
const MAX_REDIRECTS = 5;
const MAX_TAG_PAGES = 50;

interface Exchange {
  kind: RequestKind;
  method: 'GET' | 'HEAD';
  path: string;
  accept?: string;
  maxBytes: number;
  describe: string;
}

export interface RegistryClientOptions {
  observer?: RegistryObserver;
  /** Defaults to `diun-exporter/<version>`, `version` to 'dev'. */
  userAgent?: string;
  version?: string;
  /** Where credentials come from when the request options carry none (Docker's config.json). */
  dockerCredentials?: DockerCredentials;
  /** Resolves registry host names; the system resolver when unset. */
  lookup?: LookupFunction;
}

export class RegistryClient {
  private readonly transport: Transport;
  private readonly auth: Authenticator;
  private readonly schemes = new RegistrySchemes();
  private readonly stored: DockerCredentials | undefined;

  constructor(opts: RegistryClientOptions = {}) {
    const userAgent = opts.userAgent ?? `diun-exporter/${opts.version ?? 'dev'}`;
    this.transport = new Transport(userAgent, {
      ...(opts.observer && { observer: opts.observer }),
      ...(opts.lookup && { lookup: opts.lookup }),
    });
    this.auth = new Authenticator(this.transport, this.schemes);
    this.stored = opts.dockerCredentials;
  }

  /** Requests allowed in flight to `registry` now, for requests made with `opts` (it adapts). */
  concurrencyLimit(registry: string, opts: RequestOptions): number {
    return this.transport.concurrencyLimit(registry, concurrencyCeiling(opts));
  }

  /** The digest and media type the registry has for a tag (or digest), at the cost of one HEAD. */
  async headManifest(ref: ImageReference, opts: RequestOptions): Promise<ManifestHead> {
    const res = await this.manifestRequest(ref, opts, 'HEAD');
    const digest = headerValue(res.headers, 'docker-content-digest');
    if (digest && isValidDigest(digest)) return { digest, mediaType: contentType(res) ?? '' };
    // Without Docker-Content-Digest the digest is the hash of the body, so fetch it.
    const manifest = await this.getManifest(ref, opts);
    return { digest: manifest.digest, mediaType: manifest.mediaType };
  }

  /** The manifest body, parsed; when fetched by digest, the body is checked against it. */
  async getManifest(ref: ImageReference, opts: RequestOptions): Promise<Manifest> {
    const res = await this.manifestRequest(ref, opts, 'GET');
    return readManifest(res, ref.digest, `GET ${formatReference(ref)}`);
  }

  /**
   * A blob, checked against its digest. Redirects are followed, but the Authorization header is
   * sent only to the registry's own host, never to the storage a redirect points at.
   */
  async getBlob(ref: ImageReference, digest: string, opts: RequestOptions): Promise<Buffer> {
    const describe = `GET ${repositoryKey(ref)}@${digest}`;
    if (!isValidDigest(digest)) throw new RegistryError('invalid', `${describe}: bad digest`);
    const res = await this.send(ref, opts, {
      kind: 'blob',
      method: 'GET',
      path: `/v2/${ref.repository}/blobs/${digest}`,
      maxBytes: BLOB_MAX_BYTES,
      describe,
    });
    if (res.status !== 200) throw statusError({ describe }, res);
    verifyDigest(res.body, digest, describe);
    return res.body;
  }

  /** Every tag of the repository, following `Link: <...>; rel="next"` pages on the same host. */
  async listTags(ref: ImageReference, opts: RequestOptions): Promise<string[]> {
    const describe = `GET ${repositoryKey(ref)} tags`;
    const tags: string[] = [];
    let path: string | undefined = `/v2/${ref.repository}/tags/list`;
    for (let page = 0; path !== undefined && page < MAX_TAG_PAGES; page++) {
      const res = await this.send(ref, opts, {
        kind: 'tags',
        method: 'GET',
        path,
        maxBytes: TAGS_MAX_BYTES,
        describe,
      });
      if (res.status !== 200) throw statusError({ describe }, res);
      tags.push(...parseTagList(res.body, describe));
      path = nextPage(headerValue(res.headers, 'link'), this.schemes.url(ref.registry, path));
    }
    return tags;
  }

  /**
   * Fetches the pull tokens a cold run will need, several repositories per token request, for
   * references that share a registry and credentials. Best effort: a failure here only means
   * each reference asks for its own token when it is checked. Rejects with the first failure.
   */
  async prefetchTokens(targets: { ref: ImageReference; opts: RequestOptions }[]): Promise<void> {
    const groups = new Map<string, { registry: string; opts: RequestOptions; repos: string[] }>();
    for (const target of targets) {
      const { ref } = target;
      const { opts } = await this.withStoredCredentials(ref.registry, target.opts);
      const { username, password } = opts.credentials ?? {};
      const key = JSON.stringify([ref.registry, username ?? '', password ?? '']);
      const group = groups.get(key);
      if (group) group.repos.push(ref.repository);
      else groups.set(key, { registry: ref.registry, opts, repos: [ref.repository] });
    }
    const results = await Promise.allSettled(
      [...groups.values()].map((g) => this.auth.prefetch(g.registry, g.repos, g.opts)),
    );
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  /** Closes the keep-alive connections. */
  async close(): Promise<void> {
    await this.transport.close();
  }

  private async manifestRequest(ref: ImageReference, opts: RequestOptions, method: 'GET' | 'HEAD') {
    const describe = `${method} ${formatReference(ref)}`;
    const res = await this.send(ref, opts, {
      kind: method === 'HEAD' ? 'manifest_head' : 'manifest_get',
      method,
      path: `/v2/${ref.repository}/manifests/${ref.digest ?? ref.tag ?? 'latest'}`,
      accept: MANIFEST_ACCEPT,
      maxBytes: MANIFEST_MAX_BYTES,
      describe,
    });
    if (res.status !== 200) throw statusError({ describe }, res);
    return res;
  }

  /**
   * One request to the registry. Credentials from Docker's config.json that the registry
   * refuses are read again (a helper's token may have expired) and, when they changed, the
   * request is sent once more with them.
   */
  private send(ref: ImageReference, opts: RequestOptions, x: Exchange): Promise<TransportResponse> {
    // The usual case: credentials in the options, or config.json read and holding none for
    // this registry; nothing to refresh, so no wrapping of the outcome either.
    if (opts.credentials?.username || !this.stored) return this.sendFollowing(ref, opts, x);
    const known = this.stored.settled(ref.registry);
    if (known !== undefined && known.stored === undefined) return this.sendFollowing(ref, opts, x);
    return this.sendWithStored(ref, opts, x);
  }

  private async sendWithStored(ref: ImageReference, opts: RequestOptions, x: Exchange) {
    const first = await this.withStoredCredentials(ref.registry, opts);
    const attempt = (o: RequestOptions) => outcome(this.sendFollowing(ref, o, x));
    let result = await attempt(first.opts);
    let used = first.stored;
    if (used && this.stored && refused(result)) {
      const again = await this.stored.refresh(ref.registry, used);
      if (again && (again.username !== used.username || again.password !== used.password)) {
        used = again;
        result = await attempt(withCredentials(opts, again));
      }
    }
    if (used && refused(result)) throw refusedError(result, x.describe, used);
    if ('error' in result) throw result.error;
    return result.res;
  }

  // The options with the config.json credentials for `registry` when they carry none.
  private async withStoredCredentials(
    registry: string,
    opts: RequestOptions,
  ): Promise<{ opts: RequestOptions; stored?: StoredCredentials }> {
    if (opts.credentials?.username || !this.stored) return { opts };
    const stored = await this.stored.get(registry);
    return stored ? { opts: withCredentials(opts, stored), stored } : { opts };
  }

  /**
   * One request to the registry, following redirects: the Authorization header goes only to
   * the registry's own host (same scheme), never to another host a redirect points at.
   */
  private async sendFollowing(ref: ImageReference, opts: RequestOptions, x: Exchange) {
    // The ping comes first: it tells whether the registry speaks HTTPS or plain HTTP.
    const ready = this.auth.ready(ref.registry, opts);
    if (ready) await ready;
    // A string, not a URL: a run makes one per reference. Redirects (rare) parse it.
    let url: URL | string = this.schemes.href(ref.registry, x.path);
    let res = await this.sendAuthorized(ref, opts, x, url);
    for (let hop = 0; isRedirect(res.status); hop++) {
      const location = headerValue(res.headers, 'location');
      if (!location || hop >= MAX_REDIRECTS) return res;
      const current: URL = new URL(url);
      const next: URL = new URL(location, current);
      const sameHost = next.host === current.host && next.protocol === current.protocol;
      url = next;
      res = sameHost
        ? await this.sendAuthorized(ref, opts, x, url)
        : await this.transport.send(this.request(ref, opts, x, url));
    }
    return res;
  }

  // One authenticated request; a 401 that fresh credentials may cure is retried once, so a
  // registry that answers 401 whatever it is sent costs two requests, never a loop.
  private async sendAuthorized(
    ref: ImageReference,
    opts: RequestOptions,
    x: Exchange,
    url: URL | string,
  ) {
    for (let attempt = 0; ; attempt++) {
      const auth =
        this.auth.authorizeNow(ref.registry, ref.repository, opts) ??
        (await this.auth.authorize(ref.registry, ref.repository, opts));
      const res = await this.transport.send(this.request(ref, opts, x, url, auth.header));
      const retry =
        res.status === 401 &&
        attempt === 0 &&
        this.auth.rejected(ref.registry, auth, res.headers['www-authenticate']);
      if (!retry) return res;
    }
  }

  private request(
    ref: ImageReference,
    opts: RequestOptions,
    x: Exchange,
    url: URL | string,
    authorization?: string,
  ): TransportRequest {
    const headers: Record<string, string> = {};
    if (x.accept) headers.accept = x.accept;
    if (authorization) headers.authorization = authorization;
    return {
      registry: ref.registry,
      kind: x.kind,
      method: x.method,
      url,
      headers,
      timeoutMs: opts.timeoutMs,
      insecureTLS: opts.insecureTLS,
      ...(opts.caFile !== undefined && { caFile: opts.caFile }),
      maxBytes: x.maxBytes,
      describe: x.describe,
      ceiling: concurrencyCeiling(opts),
    };
  }
}

type Outcome = { res: TransportResponse } | { error: unknown };

function outcome(p: Promise<TransportResponse>): Promise<Outcome> {
  return p.then(
    (res) => ({ res }),
    (error: unknown) => ({ error }),
  );
}

// Refused credentials: a 401 or 403 from the registry, or from its token service.
function refused(o: Outcome): boolean {
  if ('res' in o) return o.res.status === 401 || o.res.status === 403;
  return o.error instanceof RegistryError && o.error.reason === 'auth';
}

// The failure, saying where the refused credentials came from (never what they are).
function refusedError(o: Outcome, describe: string, used: StoredCredentials): RegistryError {
  const base = 'res' in o ? statusError({ describe }, o.res) : (o.error as RegistryError);
  const opts = base.status === undefined ? {} : { status: base.status };
  return new RegistryError('auth', `${base.message} (credentials from ${used.origin})`, opts);
}

function withCredentials(opts: RequestOptions, stored: StoredCredentials): RequestOptions {
  return { ...opts, credentials: { username: stored.username, password: stored.password } };
}
