import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Authenticator } from '../../../src/registry/auth.js';
import type {
  Transport,
  TransportRequest,
  TransportResponse,
} from '../../../src/registry/transport.js';
import type { RequestOptions } from '../../../src/registry/types.js';

const REGISTRY = 'registry.test';
const anonymous: RequestOptions = { timeoutMs: 1000, insecureTLS: false };
const START = Date.parse('2025-01-01T00:00:00Z');

/**
 * A Bearer registry whose token service answers with `fields` (expires_in, issued_at) and an
 * opaque token numbered by request, so a test can tell a reused token from a new one.
 */
function fakeRegistry(fields: () => Record<string, unknown> = () => ({})) {
  const tokenRequests: string[][] = [];
  const send = async (req: TransportRequest): Promise<TransportResponse> => {
    if (req.kind === 'ping') {
      const challenge = 'Bearer realm="https://auth.test/token",service="registry.test"';
      return { status: 401, headers: { 'www-authenticate': challenge }, body: Buffer.alloc(0) };
    }
    tokenRequests.push(new URL(req.url).searchParams.getAll('scope'));
    const body = { token: `token-${tokenRequests.length}`, ...fields() };
    return { status: 200, headers: {}, body: Buffer.from(JSON.stringify(body)) };
  };
  const auth = new Authenticator({ send } as unknown as Transport);
  const header = async (repo: string) => (await auth.authorize(REGISTRY, repo, anonymous)).header;
  return { auth, tokenRequests, header };
}

describe('Authenticator token cache', () => {
  beforeEach(() => {
    // Only the clock: the cache's sweep timer stays real (and unref'd).
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(START);
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it.each([
    ['until 10 s before expires_in runs out', { expires_in: 300 }, 290_000],
    ['54 s when the answer has no expires_in', {}, 54_000],
    [
      'counting from a recent issued_at',
      { expires_in: 60, issued_at: new Date(START - 20_000).toISOString() },
      34_000,
    ],
  ])('keeps a token %s, then asks again', async (_, fields, keptMs) => {
    const { tokenRequests, header } = fakeRegistry(() => fields);
    expect(await header('app')).toBe('Bearer token-1');
    vi.setSystemTime(START + keptMs - 1);
    expect(await header('app')).toBe('Bearer token-1');
    vi.setSystemTime(START + keptMs + 1);
    expect(await header('app')).toBe('Bearer token-2');
    expect(tokenRequests).toHaveLength(2);
  });

  it('uses a token spent on arrival once, and never keeps it', async () => {
    // Issued 27 s ago with expires_in 30: it expires exactly now, which must not mean "forever".
    const { tokenRequests, header } = fakeRegistry(() => ({
      expires_in: 30,
      issued_at: new Date(Date.now() - 27_000).toISOString(),
    }));
    expect(await header('app')).toBe('Bearer token-1');
    expect(await header('app')).toBe('Bearer token-2');
    vi.setSystemTime(START + 3_600_000);
    expect(await header('app')).toBe('Bearer token-3');
    expect(tokenRequests).toHaveLength(3);
  });

  it('asks again for a cached token the registry refused', async () => {
    const { auth, header } = fakeRegistry(() => ({ expires_in: 300 }));
    await header('app');
    const used = await auth.authorize(REGISTRY, 'app', anonymous);
    expect(used.cachedTokenKey).toBeDefined();
    expect(auth.rejected(REGISTRY, used, undefined)).toBe(true);
    expect(await header('app')).toBe('Bearer token-2');
  });

  it('batches again once the batch token has expired', async () => {
    const { auth, tokenRequests, header } = fakeRegistry(() => ({ expires_in: 300 }));
    await auth.prefetch(REGISTRY, ['a', 'b'], anonymous);
    await auth.prefetch(REGISTRY, ['a', 'b'], anonymous);
    expect(await header('b')).toBe('Bearer token-1');
    vi.setSystemTime(START + 290_001);
    await auth.prefetch(REGISTRY, ['a', 'b'], anonymous);
    expect(await header('a')).toBe('Bearer token-2');
    expect(tokenRequests.map((scopes) => scopes.length)).toEqual([2, 2]);
  });
});
