/**
 * A token service that behaves as Docker Hub's auth.docker.io does (GET `?service=&scope=`,
 * optional Basic credentials, `{token, access_token, expires_in, issued_at}`), signing RS256 JWTs
 * that the real docker-registry accepts through its `auth.token` config. Docker Hub's service has
 * no package, so this stand-in is written by hand; everything it signs is checked by the real
 * registry.
 */
import { randomUUID, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expectStatus } from './http-status.js';
import { jwt } from './jwt.js';
import { type Registry, startRegistry } from './registry.js';
import { selfSignedCertificate } from './tls-certs.js';

export interface TokenUser {
  password: string;
  /** Also grant `push` when asked for (the user that fills the registry). */
  push?: boolean;
}

export interface TokenServiceOptions {
  users?: Record<string, TokenUser>;
  /** Whether a request without credentials gets a pull token (Docker Hub: yes). Default true. */
  anonymous?: boolean;
  /** `expires_in` of every token. Default 300. */
  expiresInSeconds?: number;
  service?: string;
  issuer?: string;
  /**
   * Grant only the first of several `scope` parameters, as some registries' token services do
   * (GHCR is reported to): the token is valid, its `access` claim lists that one scope alone.
   */
  grantFirstScopeOnly?: boolean;
}

export interface TokenService {
  /** The registry's `auth.token.realm`: `http://127.0.0.1:PORT/token`. */
  realm: string;
  service: string;
  issuer: string;
  /** Path of the PEM certificate that signs the tokens: the registry's `rootcertbundle`. */
  rootCertBundle: string;
  /**
   * Gives `user` a new password, as a short-lived credential (an ECR token) expires: the old one
   * is refused from now on.
   */
  setPassword(user: string, password: string): void;
  /** How many token requests were made so far (granted or not). */
  requests(): number;
  /** The `scope` parameters of each token request so far, in order. */
  scopesPerRequest(): string[][];
  close(): Promise<void>;
}

interface Grant {
  type: string;
  name: string;
  actions: string[];
}

/** Starts the token service on 127.0.0.1 with a fresh self-signed key made by `openssl`. */
export async function startTokenService(opts: TokenServiceOptions = {}): Promise<TokenService> {
  const service = opts.service ?? 'diun-test-registry';
  const issuer = opts.issuer ?? 'diun-test-token-service';
  const expiresIn = opts.expiresInSeconds ?? 300;
  const dir = await mkdtemp(join(tmpdir(), 'token-service-'));
  const { keyFile, certFile } = await selfSignedCertificate(dir, issuer);
  const key = readFileSync(keyFile, 'utf8');
  // distribution verifies the x5c chain against rootcertbundle, so the leaf is the root itself.
  const x5c = [new X509Certificate(readFileSync(certFile)).raw.toString('base64')];
  let count = 0;
  const scopeLog: string[][] = [];
  const users: Record<string, TokenUser> = { ...opts.users };

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://token-service');
    if (req.method !== 'GET' || url.pathname !== '/token') {
      return reply(res, 404, { details: 'not found' });
    }
    count++;
    // Docker's token spec: `scope` may be given several times, one token covers them all.
    const scopes = url.searchParams.getAll('scope');
    scopeLog.push(scopes);
    const who = authenticate(req.headers.authorization, users);
    if (who === false) return reply(res, 401, { details: 'incorrect username or password' });
    if (who === undefined && opts.anonymous === false) {
      return reply(res, 401, { details: 'anonymous access is not allowed' });
    }
    const allowed = who?.push ? ['pull', 'push'] : ['pull'];
    const access = (opts.grantFirstScopeOnly ? scopes.slice(0, 1) : scopes)
      .flatMap((s) => s.split(' '))
      .map((s) => grant(s, allowed))
      .filter((g): g is Grant => g !== undefined);
    const now = Math.floor(Date.now() / 1000);
    const claims = {
      iss: issuer,
      sub: who?.name ?? '',
      aud: url.searchParams.get('service') ?? service,
      exp: now + expiresIn,
      nbf: now - 1,
      iat: now,
      jti: randomUUID(),
      access,
    };
    const token = jwt(claims, { header: { typ: 'JWT', alg: 'RS256', x5c }, privateKeyPem: key });
    const issuedAt = new Date(now * 1000).toISOString();
    reply(res, 200, { token, access_token: token, expires_in: expiresIn, issued_at: issuedAt });
  };

  const server = createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    realm: `http://127.0.0.1:${port}/token`,
    service,
    issuer,
    rootCertBundle: certFile,
    setPassword: (user, password) => {
      users[user] = { ...users[user], password };
    },
    requests: () => count,
    scopesPerRequest: () => scopeLog.map((s) => [...s]),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** docker-registry checking the tokens of its own token service, and how to stop both. */
export interface TokenRegistry {
  tokens: TokenService;
  registry: Registry;
  /** Stops the registry, then the token service. */
  stop(): Promise<void>;
}

/** Starts a token service with `opts` and a docker-registry whose `auth.token` is that service. */
export async function startTokenRegistry(opts: TokenServiceOptions = {}): Promise<TokenRegistry> {
  const tokens = await startTokenService(opts);
  const registry = await startRegistry({ tokenAuth: tokens }).catch(async (err: unknown) => {
    await tokens.close();
    throw err;
  });
  return {
    tokens,
    registry,
    async stop() {
      await registry.stop();
      await tokens.close();
    },
  };
}

/**
 * A token from the token service at `realm` for every scope in `scopes`
 * (`repository:team/app:pull,push`), asked for as a client does, with `user`'s Basic credentials.
 */
export async function requestToken(
  realm: { realm: string; service: string },
  scopes: string[],
  user: { user: string; password: string },
): Promise<string> {
  const url = new URL(realm.realm);
  url.searchParams.set('service', realm.service);
  for (const scope of scopes) url.searchParams.append('scope', scope);
  const basic = Buffer.from(`${user.user}:${user.password}`).toString('base64');
  const res = await fetch(url, { headers: { authorization: `Basic ${basic}` } });
  await expectStatus(res, 200, `token for ${scopes.length} scope(s)`);
  return ((await res.json()) as { token: string }).token;
}

// undefined: anonymous; false: credentials that do not match a user.
function authenticate(
  header: string | undefined,
  users: Record<string, TokenUser>,
): (TokenUser & { name: string }) | undefined | false {
  if (!header) return undefined;
  const m = /^Basic\s+(\S+)$/i.exec(header);
  if (!m?.[1]) return false;
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  const name = decoded.slice(0, colon);
  const user = users[name];
  if (colon === -1 || !user || user.password !== decoded.slice(colon + 1)) return false;
  return { ...user, name };
}

// `repository:team/app:pull,push` -> the requested actions this caller may have.
function grant(scope: string, allowed: string[]): Grant | undefined {
  const parts = scope.split(':');
  if (parts.length < 3) return undefined;
  const type = parts[0] ?? '';
  const actions = (parts.at(-1) ?? '').split(',').filter((a) => allowed.includes(a));
  return { type, name: parts.slice(1, -1).join(':'), actions };
}

function reply(res: ServerResponse, status: number, body: object): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}
