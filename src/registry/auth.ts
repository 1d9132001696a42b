/**
 * Registry authentication as Docker does it: ping `/v2/` once per registry to learn its
 * challenge, then Basic credentials or a Bearer token from the challenge's realm, scoped to
 * `repository:<repo>:pull`. Challenges and tokens are cached so a steady-state run costs one
 * request per image.
 */
import NodeCache from 'node-cache';
import { parseWwwAuthenticate, pickChallenge, type RegistryChallenge } from './challenge.js';
import { RegistryError } from './errors.js';
import { concurrencyCeiling } from './limiter.js';
import { RegistrySchemes } from './schemes.js';
import { statusError, type Transport, type TransportResponse } from './transport.js';
import type { RequestOptions } from './types.js';

/** The Authorization header for one request, and where it came from. */
export interface Authorization {
  header?: string;
  challenge: RegistryChallenge;
  /** Set when the header carries a token taken from the cache. */
  cachedTokenKey?: string;
}

/** A token as the token service gave it, and when it stops being used (`tokenExpiresAt`). */
interface IssuedToken {
  token: string;
  expiresAt: number;
}

const TOKEN_BODY_CAP = 1024 * 1024;
const PING_BODY_CAP = 64 * 1024;
// An expired token is dropped when next looked up; the sweep frees those never looked up again.
const TOKEN_SWEEP_SECONDS = 60;

/**
 * Bounds of one token request for several repositories. nginx (in front of Docker Hub and Quay)
 * refuses a request line over 8 KB by default, and the token that comes back lists every scope,
 * so it grows the Authorization header of every later request: 4 KB of URL and 50 scopes keep
 * both well under that.
 */
export const SCOPE_BATCH_LIMITS = { maxUrlBytes: 4096, maxScopes: 50 };

/**
 * A batch token longer than this is not used: sent as `Authorization: Bearer ...` it could pass
 * the 8 KB a header line may have behind nginx, and the request would fail instead of asking
 * again. Docker Hub's tokens grow by about 120 bytes per scope, so 50 scopes come near it.
 */
export const MAX_BATCH_TOKEN_BYTES = 7 * 1024;

export {
  type Challenge,
  parseWwwAuthenticate,
  pickChallenge,
  type RegistryChallenge,
} from './challenge.js';

/**
 * When a token stops being used: `expires_in` (default 60s) after `issued_at`, less a margin.
 * `issued_at` is trusted only within a minute before now, so a skewed clock cannot make every
 * token look expired.
 */
export function tokenExpiresAt(expiresIn: unknown, issuedAt: unknown, now: number): number {
  const lifetime = typeof expiresIn === 'number' && expiresIn > 0 ? expiresIn : 60;
  const issued = typeof issuedAt === 'string' ? Date.parse(issuedAt) : Number.NaN;
  const start = issued <= now && issued >= now - 60_000 ? issued : now;
  return start + (lifetime - Math.min(10, lifetime * 0.1)) * 1000;
}

/**
 * The token request URLs for `scopes`, in order: each as many `scope` parameters as fit under
 * `limits` (at least one), after the parameters `base` already has.
 */
export function scopeBatches(
  base: URL,
  scopes: readonly string[],
  limits = SCOPE_BATCH_LIMITS,
): URL[] {
  const urls: URL[] = [];
  let count = 0;
  for (const scope of scopes) {
    const last = urls.at(-1);
    // The last URL already has a query, so the scope adds `&scope=<encoded>` to it.
    const added = 1 + new URLSearchParams({ scope }).toString().length;
    if (last && count < limits.maxScopes && last.href.length + added <= limits.maxUrlBytes) {
      last.searchParams.append('scope', scope);
      count++;
      continue;
    }
    const url = new URL(base);
    url.searchParams.append('scope', scope);
    urls.push(url);
    count = 1;
  }
  return urls;
}

/**
 * The repositories a token grants `pull` on, from its JWT `access` claim; undefined when the
 * token is opaque or carries no such claim, so nothing can be said.
 */
export function pullGrants(token: string): Set<string> | undefined {
  const parts = token.split('.');
  if (parts.length !== 3 || !parts[1]) return undefined;
  let claims: unknown;
  try {
    claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  const fields: Record<string, unknown> =
    typeof claims === 'object' && claims !== null ? { ...claims } : {};
  const access = fields.access;
  if (!Array.isArray(access)) return undefined;
  const granted = new Set<string>();
  for (const entry of access as unknown[]) {
    if (typeof entry !== 'object' || entry === null) continue;
    const { type, name, actions } = entry as Record<string, unknown>;
    const pulls = Array.isArray(actions) && (actions.includes('pull') || actions.includes('*'));
    if (type === 'repository' && typeof name === 'string' && pulls) granted.add(name);
  }
  return granted;
}

export class Authenticator {
  private readonly challenges = new Map<string, Promise<RegistryChallenge>>();
  /** The challenge of `challenges` once its ping was answered: read without awaiting. */
  private readonly known = new Map<string, RegistryChallenge>();
  /**
   * The `Bearer ...` header of each token, by token key, kept until the token's `expiresAt`.
   * Kept whole so that every request sends the same string: one built per request would be
   * copied again to be checked and written (batch tokens reach 7 KB). node-cache `unref()`s its
   * sweep timer, so the cache never keeps the process alive; headers are strings, so no clones.
   */
  private readonly tokens = new NodeCache({ checkperiod: TOKEN_SWEEP_SECONDS, useClones: false });
  private readonly pending = new Map<string, Promise<IssuedToken>>();
  /** Per token key: a batch request under way that may bring its token. */
  private readonly batched = new Map<string, Promise<void>>();
  /** Per registry and user: batches being set up (the ping is not answered yet). */
  private readonly warming = new Map<string, Promise<void>>();
  /** Keys whose cached token came from a batch whose grants could not be read. */
  private readonly unverified = new Set<string>();
  /** Registries whose opaque batch token was refused: asked one repository at a time. */
  private readonly noBatching = new Set<string>();
  /** Registries whose batch token came back too long: fewer scopes per request there. */
  private readonly maxScopes = new Map<string, number>();

  constructor(
    private readonly transport: Transport,
    private readonly schemes: RegistrySchemes = new RegistrySchemes(),
  ) {
    // An expired token takes its mark with it. Not on 'del': `rejected` deletes, then reads it.
    this.tokens.on('expired', (key: string) => this.unverified.delete(key));
  }

  /**
   * Resolves once `registry` was pinged: its challenge and scheme are known. Undefined, not a
   * promise, when they are known already: every request asks.
   */
  ready(registry: string, opts: RequestOptions): Promise<void> | undefined {
    if (this.known.has(registry)) return undefined;
    return this.challenge(registry, opts).then(() => undefined);
  }

  /**
   * What `authorize` would give, when it can be given without waiting: the registry was pinged,
   * no batch that may cover the repository is under way, and for Bearer a token is cached.
   * Undefined otherwise, and then `authorize` is the way.
   */
  authorizeNow(
    registry: string,
    repository: string,
    opts: RequestOptions,
  ): Authorization | undefined {
    const challenge = this.known.get(registry);
    if (challenge === undefined) return undefined;
    const { username, password } = opts.credentials ?? {};
    if (challenge.scheme === 'none') return { challenge };
    if (challenge.scheme === 'basic') {
      return username ? { challenge, header: basic(username, password) } : { challenge };
    }
    if (this.warming.size > 0 && this.warming.has(JSON.stringify([registry, username ?? '']))) {
      return undefined;
    }
    const key = tokenKey(registry, repository, username);
    if (this.batched.size > 0 && this.batched.has(key)) return undefined;
    const cached = this.tokens.get<string>(key);
    return cached === undefined ? undefined : { challenge, header: cached, cachedTokenKey: key };
  }

  /** The Authorization to send for a pull from `repository`, pinging the registry if needed. */
  async authorize(
    registry: string,
    repository: string,
    opts: RequestOptions,
  ): Promise<Authorization> {
    const challenge = await this.challenge(registry, opts);
    const { username, password } = opts.credentials ?? {};
    if (challenge.scheme === 'none') return { challenge };
    if (challenge.scheme === 'basic') {
      return username ? { challenge, header: basic(username, password) } : { challenge };
    }
    const key = tokenKey(registry, repository, username);
    // A batch for this repository may be on its way: wait for it rather than ask on our own.
    const warming = this.warming.get(JSON.stringify([registry, username ?? '']));
    if (warming) await warming;
    const batch = this.batched.get(key);
    if (batch) await batch;
    const cached = this.tokens.get<string>(key);
    if (cached !== undefined) return { challenge, header: cached, cachedTokenKey: key };
    let pending = this.pending.get(key);
    if (!pending) {
      const scope = `repository:${repository}:pull`;
      pending = this.fetchToken(registry, repository, challenge, scope, opts)
        .then((t) => this.remember([key], t))
        .finally(() => this.pending.delete(key));
      this.pending.set(key, pending);
    }
    return { challenge, header: `Bearer ${(await pending).token}` };
  }

  /**
   * Fetches pull tokens for many repositories of one registry in as few token requests as the
   * registry allows (several `scope` parameters each, as Docker's token spec permits), so a cold
   * run costs about one request per reference. Only the repositories the returned token grants
   * are served from it; the rest get their own token when first used. Rejects when a batch
   * failed, which costs nothing but that request: `authorize` then asks as before.
   */
  async prefetch(registry: string, repositories: string[], opts: RequestOptions): Promise<void> {
    const group = JSON.stringify([registry, opts.credentials?.username ?? '']);
    const started = this.challenge(registry, opts).then((c) =>
      this.startBatches(registry, c, repositories, opts),
    );
    // Requests that arrive before the ping is answered wait for the batches to be registered.
    const ready = started.then(
      () => undefined,
      () => undefined,
    );
    this.warming.set(group, ready);
    void ready.then(() => {
      if (this.warming.get(group) === ready) this.warming.delete(group);
    });
    await Promise.all(await started);
  }

  /**
   * Called when a request was answered 401: forgets the token used and any outdated challenge,
   * and says whether one retry can help (the token was cached, or the challenge changed).
   */
  rejected(registry: string, used: Authorization, wwwAuthenticate: string | string[] | undefined) {
    let retry = used.cachedTokenKey !== undefined;
    if (used.cachedTokenKey) {
      this.tokens.del(used.cachedTokenKey);
      // An opaque batch token that the registry refuses (GHCR-style: only the first scope
      // counts) says batching does not work there; the retry asks for this repository alone.
      if (this.unverified.delete(used.cachedTokenKey)) this.noBatching.add(registry);
    }
    const now = pickChallenge(parseWwwAuthenticate(wwwAuthenticate));
    if (now && JSON.stringify(now) !== JSON.stringify(used.challenge)) {
      this.challenges.set(registry, Promise.resolve(now));
      this.known.set(registry, now);
      retry = true;
    }
    return retry;
  }

  // Registers one batch per URL for the repositories with no usable token; synchronous once the
  // challenge is known, so `authorize` finds them as soon as the ping is answered.
  private startBatches(
    registry: string,
    challenge: RegistryChallenge,
    repositories: string[],
    opts: RequestOptions,
  ): Promise<void>[] {
    if (challenge.scheme !== 'bearer' || this.noBatching.has(registry)) return [];
    const { username } = opts.credentials ?? {};
    const wanted = [...new Set(repositories)].filter((repository) => {
      const key = tokenKey(registry, repository, username);
      return !this.tokens.has(key) && !this.pending.has(key) && !this.batched.has(key);
    });
    if (wanted.length < 2) return [];
    const base = this.tokenRequest(`tokens for ${registry}`, challenge, opts);
    const repositoryOf = new Map(wanted.map((r) => [`repository:${r}:pull`, r]));
    const limits = {
      ...SCOPE_BATCH_LIMITS,
      maxScopes: this.maxScopes.get(registry) ?? SCOPE_BATCH_LIMITS.maxScopes,
    };
    const batch = (url: URL, resplit: boolean): Promise<void> => {
      const names = url.searchParams.getAll('scope').map((s) => repositoryOf.get(s) ?? '');
      const keys = names.map((r) => tokenKey(registry, r, username));
      const describe = `token for ${names.length} repositories of ${registry}`;
      const done = this.requestToken(registry, describe, url, base.headers, opts).then((t) => {
        if (t.token.length > MAX_BATCH_TOKEN_BYTES) {
          // Sized by what this token spent per scope, with a tenth to spare: later batches, and
          // once this batch's own scopes, ask for that many, so a registry with long tokens
          // still costs a few token requests rather than one per repository.
          const fit = Math.floor((names.length * MAX_BATCH_TOKEN_BYTES * 0.9) / t.token.length);
          this.maxScopes.set(registry, Math.max(1, fit));
          if (resplit && fit >= 2) {
            const smaller = scopeBatches(base.url, url.searchParams.getAll('scope'), {
              ...limits,
              maxScopes: fit,
            });
            return Promise.all(smaller.map((u) => batch(u, false))).then(() => undefined);
          }
          throw new RegistryError('invalid', `${describe}: the token is too long to send`);
        }
        const granted = pullGrants(t.token);
        const served = keys.filter((_, i) => !granted || granted.has(names[i]!));
        this.remember(served, t);
        if (!granted) for (const key of served) this.unverified.add(key);
      });
      const settled = done.then(
        () => undefined,
        () => undefined,
      );
      for (const key of keys) this.batched.set(key, settled);
      void settled.then(() => {
        for (const key of keys) if (this.batched.get(key) === settled) this.batched.delete(key);
      });
      return done;
    };
    return scopeBatches(base.url, [...repositoryOf.keys()], limits).map((url) => batch(url, true));
  }

  private challenge(registry: string, opts: RequestOptions): Promise<RegistryChallenge> {
    let challenge = this.challenges.get(registry);
    if (!challenge) {
      const pinged = this.ping(registry, opts);
      challenge = pinged;
      this.challenges.set(registry, pinged);
      pinged.then(
        (answered) => {
          if (this.challenges.get(registry) === pinged) this.known.set(registry, answered);
        },
        // A failed ping is not remembered: the next check asks again.
        () => {
          if (this.challenges.get(registry) === pinged) this.challenges.delete(registry);
        },
      );
    }
    return challenge;
  }

  private async ping(registry: string, opts: RequestOptions): Promise<RegistryChallenge> {
    const req = { describe: `GET ${registry}/v2/` };
    const url = this.schemes.url(registry, '/v2/');
    let res: TransportResponse;
    try {
      res = await this.pingAt(registry, url, opts);
    } catch (err) {
      // A TLS or connection failure of a registry allowed to be insecure: it may speak plain
      // HTTP (a homelab registry on :5000), so ask that once, as containers/image does.
      const network = err instanceof RegistryError && err.reason === 'registry_error';
      if (!network || !this.schemes.mayFallBack(registry, url, opts.insecureTLS)) throw err;
      const plain = new URL(url);
      plain.protocol = 'http:';
      res = await this.pingAt(registry, plain, opts).catch(() => Promise.reject(err));
      this.schemes.usePlainHttp(registry);
    }
    if (res.status === 401) {
      const picked = pickChallenge(parseWwwAuthenticate(res.headers['www-authenticate']));
      if (picked) return picked;
      throw new RegistryError('auth', `${req.describe}: 401 without a Basic or Bearer challenge`, {
        status: 401,
      });
    }
    // Registries that answer the ping with anything but 401 or 5xx do not ask for credentials.
    if ((res.status >= 200 && res.status < 300) || res.status === 404) return { scheme: 'none' };
    throw statusError(req, res);
  }

  private pingAt(registry: string, url: URL, opts: RequestOptions): Promise<TransportResponse> {
    return this.transport.send({
      describe: `GET ${registry}/v2/`,
      registry,
      kind: 'ping',
      method: 'GET',
      url,
      headers: {},
      timeoutMs: opts.timeoutMs,
      insecureTLS: opts.insecureTLS,
      ...(opts.caFile !== undefined && { caFile: opts.caFile }),
      maxBytes: PING_BODY_CAP,
      ceiling: concurrencyCeiling(opts),
    });
  }

  private async fetchToken(
    registry: string,
    repository: string,
    challenge: { realm: string; service?: string },
    scope: string,
    opts: RequestOptions,
  ): Promise<IssuedToken> {
    const describe = `token for ${registry}/${repository}`;
    const { url, headers } = this.tokenRequest(describe, challenge, opts);
    url.searchParams.set('scope', scope);
    return this.requestToken(registry, describe, url, headers, opts);
  }

  // The token URL (realm, service, account) and headers, before any scope is added.
  private tokenRequest(
    describe: string,
    challenge: { realm?: string; service?: string },
    opts: RequestOptions,
  ): { url: URL; headers: Record<string, string> } {
    let url: URL;
    try {
      url = new URL(challenge.realm ?? '');
    } catch {
      throw new RegistryError('invalid', `${describe}: the registry's token realm is no URL`);
    }
    if (challenge.service) url.searchParams.set('service', challenge.service);
    const { username, password } = opts.credentials ?? {};
    const headers: Record<string, string> = { accept: 'application/json' };
    if (username) {
      url.searchParams.set('account', username);
      headers.authorization = basic(username, password);
    }
    return { url, headers };
  }

  private async requestToken(
    registry: string,
    describe: string,
    url: URL,
    headers: Record<string, string>,
    opts: RequestOptions,
  ): Promise<IssuedToken> {
    const req = { describe };
    const res = await this.transport.send({
      ...req,
      registry,
      kind: 'token',
      method: 'GET',
      url,
      headers,
      timeoutMs: opts.timeoutMs,
      insecureTLS: opts.insecureTLS,
      ...(opts.caFile !== undefined && { caFile: opts.caFile }),
      maxBytes: TOKEN_BODY_CAP,
      ceiling: concurrencyCeiling(opts),
    });
    if (res.status !== 200) throw statusError(req, res);
    let body: unknown;
    try {
      body = JSON.parse(res.body.toString('utf8'));
    } catch {
      throw new RegistryError('invalid', `${req.describe}: the token response is not JSON`);
    }
    const fields: Record<string, unknown> =
      typeof body === 'object' && body !== null ? { ...body } : {};
    const token = [fields.token, fields.access_token].find((t) => typeof t === 'string' && t);
    if (typeof token !== 'string') {
      throw new RegistryError('invalid', `${req.describe}: the token response has no token`);
    }
    return { token, expiresAt: tokenExpiresAt(fields.expires_in, fields.issued_at, Date.now()) };
  }

  // Caches `token`'s header under each key for the time it has left.
  private remember(keys: string[], token: IssuedToken): IssuedToken {
    const ttlSeconds = (token.expiresAt - Date.now()) / 1000;
    const header = `Bearer ${token.token}`;
    for (const key of keys) {
      // node-cache reads a TTL of 0 as "never expires", so a token already spent is not stored;
      // it still replaces what the key held, as a spent entry did before.
      if (ttlSeconds > 0) this.tokens.set(key, header, ttlSeconds);
      else this.tokens.del(key);
      this.unverified.delete(key);
    }
    return token;
  }
}

function tokenKey(registry: string, repository: string, username: string | undefined): string {
  return JSON.stringify([registry, `repository:${repository}:pull`, username ?? '']);
}

function basic(username: string, password: string | undefined): string {
  return `Basic ${Buffer.from(`${username}:${password ?? ''}`).toString('base64')}`;
}
