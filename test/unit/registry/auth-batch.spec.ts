import { describe, expect, it } from 'vitest';
import {
  Authenticator,
  pullGrants,
  SCOPE_BATCH_LIMITS,
  scopeBatches,
} from '../../../src/registry/auth.js';
import type {
  Transport,
  TransportRequest,
  TransportResponse,
} from '../../../src/registry/transport.js';
import type { RequestOptions } from '../../../src/registry/types.js';
import { jwt } from '../../support/jwt.js';

const REGISTRY = 'registry.test';
const REALM = 'https://auth.test/token';
const anonymous: RequestOptions = { timeoutMs: 1000, insecureTLS: false };

const pullOf = (name: string) => ({ type: 'repository', name, actions: ['pull'] });
const repoOf = (scope: string) => scope.replace(/^repository:/, '').replace(/:pull$/, '');

/**
 * A registry and its token service in one fake transport: the ping asks for Bearer, the token
 * service answers with a JWT listing the scopes `grant` keeps (or an opaque token).
 */
function fakeRegistry(
  grant: (scopes: string[]) => string[] | 'opaque' = (s) => s,
  opts: { tokenStatus?: number } = {},
) {
  const tokenRequests: { scopes: string[]; url: URL; headers: Record<string, string> }[] = [];
  let pings = 0;
  const send = async (req: TransportRequest): Promise<TransportResponse> => {
    if (req.kind === 'ping') {
      pings++;
      const challenge = `Bearer realm="${REALM}",service="registry.test"`;
      return { status: 401, headers: { 'www-authenticate': challenge }, body: Buffer.alloc(0) };
    }
    const url = new URL(req.url);
    const scopes = url.searchParams.getAll('scope');
    tokenRequests.push({ scopes, url, headers: req.headers });
    if (opts.tokenStatus) return { status: opts.tokenStatus, headers: {}, body: Buffer.alloc(0) };
    const granted = grant(scopes);
    const token =
      granted === 'opaque'
        ? `opaque-${tokenRequests.length}`
        : jwt({ access: granted.map((s) => pullOf(repoOf(s))) });
    return { status: 200, headers: {}, body: Buffer.from(JSON.stringify({ token })) };
  };
  const auth = new Authenticator({ send } as unknown as Transport);
  return { auth, tokenRequests, pings: () => pings };
}

const repos = (n: number, prefix = 'team/app') => Array.from({ length: n }, (_, i) => prefix + i);

describe('scopeBatches', () => {
  const base = new URL('https://auth.docker.io/token?service=registry.docker.io');

  it('puts every scope in one request when they fit', () => {
    const scopes = repos(30).map((r) => `repository:${r}:pull`);
    const urls = scopeBatches(base, scopes);
    expect(urls).toHaveLength(1);
    expect(urls[0]!.searchParams.getAll('scope')).toEqual(scopes);
    expect(urls[0]!.searchParams.get('service')).toBe('registry.docker.io');
  });

  it('splits by count and by URL length, keeping every scope once and in order', () => {
    const scopes = repos(120).map((r) => `repository:${r}:pull`);
    const byCount = scopeBatches(base, scopes);
    expect(byCount.map((u) => u.searchParams.getAll('scope').length)).toEqual([50, 50, 20]);
    const long = repos(200, `org/${'x'.repeat(150)}/`).map((r) => `repository:${r}:pull`);
    const byLength = scopeBatches(base, long);
    expect(byLength.length).toBeGreaterThan(4);
    for (const url of byLength) {
      expect(url.href.length).toBeLessThanOrEqual(SCOPE_BATCH_LIMITS.maxUrlBytes);
    }
    expect(byLength.flatMap((u) => u.searchParams.getAll('scope'))).toEqual(long);
  });

  it('still asks for a scope longer than the limit, alone', () => {
    const huge = `repository:${'y'.repeat(5000)}:pull`;
    const urls = scopeBatches(base, ['repository:a:pull', huge, 'repository:b:pull']);
    expect(urls.map((u) => u.searchParams.getAll('scope'))).toEqual([
      ['repository:a:pull'],
      [huge],
      ['repository:b:pull'],
    ]);
  });
});

describe('pullGrants', () => {
  it('reads the repositories a JWT grants pull on', () => {
    const token = jwt({
      access: [pullOf('a'), { type: 'repository', name: 'b', actions: [] }, pullOf('c')],
    });
    expect(pullGrants(token)).toEqual(new Set(['a', 'c']));
  });

  it('says nothing about opaque tokens or tokens without an access claim', () => {
    expect(pullGrants('djE6b3duZXIvcmVwbzoxMjM=')).toBeUndefined();
    expect(pullGrants(jwt({ sub: 'x' }))).toBeUndefined();
    expect(pullGrants('a.!!!.c')).toBeUndefined();
  });
});

describe('Authenticator.prefetch', () => {
  it('fetches one token for many repositories, then serves each from the cache', async () => {
    const { auth, tokenRequests, pings } = fakeRegistry();
    await auth.prefetch(REGISTRY, repos(30), anonymous);
    expect(pings()).toBe(1);
    expect(tokenRequests).toHaveLength(1);
    expect(tokenRequests[0]!.scopes).toHaveLength(30);
    for (const repo of repos(30)) {
      const a = await auth.authorize(REGISTRY, repo, anonymous);
      expect(a.header).toMatch(/^Bearer /);
      expect(a.cachedTokenKey).toBeDefined();
    }
    expect(tokenRequests).toHaveLength(1);
    // Tokens still valid: nothing to fetch again.
    await auth.prefetch(REGISTRY, repos(30), anonymous);
    expect(tokenRequests).toHaveLength(1);
  });

  it('lets requests made while the batch is under way wait for it', async () => {
    const { auth, tokenRequests } = fakeRegistry();
    const batch = auth.prefetch(REGISTRY, repos(5), anonymous);
    const during = await Promise.all(repos(5).map((r) => auth.authorize(REGISTRY, r, anonymous)));
    await batch;
    expect(during.every((a) => a.header?.startsWith('Bearer '))).toBe(true);
    expect(tokenRequests).toHaveLength(1);
  });

  it('grants only what the token lists; the rest get their own token', async () => {
    const { auth, tokenRequests } = fakeRegistry((scopes) => scopes.slice(0, 1));
    await auth.prefetch(REGISTRY, repos(4), anonymous);
    expect(tokenRequests).toHaveLength(1);
    for (const repo of repos(4)) await auth.authorize(REGISTRY, repo, anonymous);
    expect(tokenRequests.map((r) => r.scopes)).toEqual([
      repos(4).map((r) => `repository:${r}:pull`),
      ['repository:team/app1:pull'],
      ['repository:team/app2:pull'],
      ['repository:team/app3:pull'],
    ]);
  });

  it('stops batching on a registry that refuses an opaque batch token', async () => {
    const { auth, tokenRequests } = fakeRegistry(() => 'opaque');
    await auth.prefetch(REGISTRY, repos(3), anonymous);
    const used = await auth.authorize(REGISTRY, 'team/app1', anonymous);
    // The registry answers 401 (the token covered only the first scope): one retry, alone.
    expect(auth.rejected(REGISTRY, used, undefined)).toBe(true);
    await auth.authorize(REGISTRY, 'team/app1', anonymous);
    expect(tokenRequests.map((r) => r.scopes.length)).toEqual([3, 1]);
    await auth.prefetch(REGISTRY, repos(3, 'other/'), anonymous);
    expect(tokenRequests).toHaveLength(2);
  });

  it('batches only repositories that share credentials, and sends them', async () => {
    const { auth, tokenRequests } = fakeRegistry();
    const alice: RequestOptions = {
      ...anonymous,
      credentials: { username: 'alice', password: 'p' },
    };
    await Promise.all([
      auth.prefetch(REGISTRY, repos(3, 'a/'), alice),
      auth.prefetch(REGISTRY, repos(2, 'b/'), anonymous),
    ]);
    expect(tokenRequests).toHaveLength(2);
    const withAlice = tokenRequests.find((r) => r.url.searchParams.get('account') === 'alice');
    expect(withAlice?.scopes).toEqual(repos(3, 'a/').map((r) => `repository:${r}:pull`));
    expect(withAlice?.headers.authorization).toMatch(/^Basic /);
    const other = tokenRequests.find((r) => !r.url.searchParams.has('account'));
    expect(other?.headers.authorization).toBeUndefined();
    // Alice's token is not used for the anonymous caller of the same repository.
    await auth.authorize(REGISTRY, 'a/0', anonymous);
    expect(tokenRequests).toHaveLength(3);
  });

  it('rejects when the batch fails, and the per-repository path still works', async () => {
    const { auth, tokenRequests } = fakeRegistry((s) => s, { tokenStatus: 400 });
    await expect(auth.prefetch(REGISTRY, repos(3), anonymous)).rejects.toThrow();
    await expect(auth.authorize(REGISTRY, 'team/app0', anonymous)).rejects.toThrow();
    expect(tokenRequests.map((r) => r.scopes.length)).toEqual([3, 1]);
  });

  it('makes no batch for a single repository', async () => {
    const { auth, tokenRequests } = fakeRegistry();
    await auth.prefetch(REGISTRY, ['solo/app'], anonymous);
    expect(tokenRequests).toHaveLength(0);
  });
});

describe('Authenticator.prefetch with long tokens', () => {
  // Docker Hub's JWT grows with each scope; here each granted repository adds 200 bytes.
  const longGrants = (scopes: string[]) =>
    scopes.map((s) => s.replace(/:pull$/, `-${'x'.repeat(200)}:pull`));

  it('asks again in batches sized to fit, instead of one token per repository', async () => {
    const { auth, tokenRequests } = fakeRegistry((scopes) => [...scopes, ...longGrants(scopes)]);
    await auth.prefetch(REGISTRY, repos(50), anonymous);
    const sizes = tokenRequests.map((r) => r.scopes.length);
    // 50 scopes give a token over the limit; the same 50 then go in a few smaller batches.
    expect(sizes[0]).toBe(50);
    expect(sizes.length).toBeLessThanOrEqual(5);
    expect(sizes.slice(1).reduce((a, b) => a + b, 0)).toBe(50);
    for (const repo of repos(50)) {
      expect((await auth.authorize(REGISTRY, repo, anonymous)).cachedTokenKey).toBeDefined();
    }
    expect(tokenRequests).toHaveLength(sizes.length);
    // The next cold batch starts at the size that fitted.
    await auth.prefetch(REGISTRY, repos(20, 'more/'), anonymous);
    const fitted = Math.max(...sizes.slice(1));
    const next = tokenRequests.slice(sizes.length).map((r) => r.scopes.length);
    expect(next).toEqual([fitted, 20 - fitted]);
  });

  it('gives up after one re-split when even small batches are too long', async () => {
    const padded = (scopes: string[]) => [...scopes, `repository:${'p'.repeat(8000)}:pull`];
    const { auth, tokenRequests } = fakeRegistry(padded);
    await expect(auth.prefetch(REGISTRY, repos(10), anonymous)).rejects.toThrow(/too long/);
    const batches = tokenRequests.length;
    expect(tokenRequests[0]!.scopes).toHaveLength(10);
    expect(batches).toBeGreaterThan(1);
    expect(batches).toBeLessThanOrEqual(1 + 10 / 2);
    // Not served from a batch: the repository asks for its own token.
    await auth.authorize(REGISTRY, 'team/app0', anonymous);
    expect(tokenRequests.slice(batches).map((r) => r.scopes.length)).toEqual([1]);
  });
});
