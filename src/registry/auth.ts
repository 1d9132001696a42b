/**
 * Registry authentication as Docker does it: ping `/v2/` once per registry to learn its
 * challenge, then Basic credentials or a Bearer token from the challenge's realm, scoped to
 * `repository:<repo>:pull`. Challenges and tokens are cached so a steady-state run costs one
 * request per image.
 */
import { parseWwwAuthenticate, pickChallenge, type RegistryChallenge } from './challenge.js';
import type { RequestOptions } from './client.js';
import { RegistryError } from './errors.js';
import { registryApiUrl } from './reference.js';
import { statusError, type Transport } from './transport.js';

/** The Authorization header for one request, and where it came from. */
export interface Authorization {
  header?: string;
  challenge: RegistryChallenge;
  /** Set when the header carries a token taken from the cache. */
  cachedTokenKey?: string;
}

interface CachedToken {
  token: string;
  expiresAt: number;
}

const TOKEN_BODY_CAP = 1024 * 1024;
const PING_BODY_CAP = 64 * 1024;

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

export class Authenticator {
  private readonly challenges = new Map<string, Promise<RegistryChallenge>>();
  private readonly tokens = new Map<string, CachedToken>();
  private readonly pending = new Map<string, Promise<CachedToken>>();

  constructor(private readonly transport: Transport) {}

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
    const scope = `repository:${repository}:pull`;
    const key = JSON.stringify([registry, scope, username ?? '']);
    const cached = this.tokens.get(key);
    if (cached && cached.expiresAt > Date.now()) {
      return { challenge, header: `Bearer ${cached.token}`, cachedTokenKey: key };
    }
    this.tokens.delete(key);
    let pending = this.pending.get(key);
    if (!pending) {
      pending = this.fetchToken(registry, repository, challenge, scope, opts)
        .then((t) => this.remember(key, t))
        .finally(() => this.pending.delete(key));
      this.pending.set(key, pending);
    }
    return { challenge, header: `Bearer ${(await pending).token}` };
  }

  /**
   * Called when a request was answered 401: forgets the token used and any outdated challenge,
   * and says whether one retry can help (the token was cached, or the challenge changed).
   */
  rejected(registry: string, used: Authorization, wwwAuthenticate: string | string[] | undefined) {
    let retry = used.cachedTokenKey !== undefined;
    if (used.cachedTokenKey) this.tokens.delete(used.cachedTokenKey);
    const now = pickChallenge(parseWwwAuthenticate(wwwAuthenticate));
    if (now && JSON.stringify(now) !== JSON.stringify(used.challenge)) {
      this.challenges.set(registry, Promise.resolve(now));
      retry = true;
    }
    return retry;
  }

  private challenge(registry: string, opts: RequestOptions): Promise<RegistryChallenge> {
    let challenge = this.challenges.get(registry);
    if (!challenge) {
      challenge = this.ping(registry, opts);
      this.challenges.set(registry, challenge);
      // A failed ping is not remembered: the next check asks again.
      challenge.catch(() => {
        if (this.challenges.get(registry) === challenge) this.challenges.delete(registry);
      });
    }
    return challenge;
  }

  private async ping(registry: string, opts: RequestOptions): Promise<RegistryChallenge> {
    const req = { describe: `GET ${registry}/v2/` };
    const res = await this.transport.send({
      ...req,
      registry,
      kind: 'ping',
      method: 'GET',
      url: registryApiUrl(registry, '/v2/'),
      headers: {},
      timeoutMs: opts.timeoutMs,
      insecureTLS: opts.insecureTLS,
      maxBytes: PING_BODY_CAP,
      ...(opts.maxConcurrent !== undefined && { maxConcurrent: opts.maxConcurrent }),
    });
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

  private async fetchToken(
    registry: string,
    repository: string,
    challenge: { realm: string; service?: string },
    scope: string,
    opts: RequestOptions,
  ): Promise<CachedToken> {
    const req = { describe: `token for ${registry}/${repository}` };
    let url: URL;
    try {
      url = new URL(challenge.realm);
    } catch {
      throw new RegistryError('invalid', `${req.describe}: the registry's token realm is no URL`);
    }
    if (challenge.service) url.searchParams.set('service', challenge.service);
    url.searchParams.set('scope', scope);
    const { username, password } = opts.credentials ?? {};
    const headers: Record<string, string> = { accept: 'application/json' };
    if (username) {
      url.searchParams.set('account', username);
      headers.authorization = basic(username, password);
    }
    const res = await this.transport.send({
      ...req,
      registry,
      kind: 'token',
      method: 'GET',
      url,
      headers,
      timeoutMs: opts.timeoutMs,
      insecureTLS: opts.insecureTLS,
      maxBytes: TOKEN_BODY_CAP,
      ...(opts.maxConcurrent !== undefined && { maxConcurrent: opts.maxConcurrent }),
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

  private remember(key: string, token: CachedToken): CachedToken {
    const now = Date.now();
    for (const [k, t] of this.tokens) if (t.expiresAt <= now) this.tokens.delete(k);
    this.tokens.set(key, token);
    return token;
  }
}

function basic(username: string, password: string | undefined): string {
  return `Basic ${Buffer.from(`${username}:${password ?? ''}`).toString('base64')}`;
}
