/**
 * A cold run against docker-registry behind a Docker Hub-style token service: tokens for many
 * repositories come from one token request (several `scope` parameters), and a token service
 * that grants only the first scope costs per-repository tokens, never a failed check.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { runPool } from '../../src/concurrency/worker-pool.js';
import { RegistryClient } from '../../src/registry/client.js';
import { parseReference } from '../../src/registry/reference.js';
import type { ImageRecord } from '../../src/state/records.js';
import { checkTargets } from '../../src/watch/check.js';
import { noHooks } from '../../src/watch/hooks.js';
import { type ImageKey, imageKey } from '../../src/watch/model.js';
import type { CheckTarget } from '../../src/watch/target.js';
import { mediaTypes, putManifest, uploadBlob } from '../support/oci.js';
import type { Registry } from '../support/registry.js';
import { suiteTeardown } from '../support/teardown.js';
import { requestToken, startTokenRegistry, type TokenService } from '../support/token-service.js';

const N = 30;
const USERS = { pusher: { password: 'push-secret', push: true } };
const repositories = Array.from({ length: N }, (_, i) => `fleet/app${i}`);

/** Pushes a small image as `<repo>:1.0` to every repository, as the push user. */
async function fill(registry: Registry, tokens: TokenService): Promise<void> {
  const pusher = { user: 'pusher', password: USERS.pusher.password };
  await runPool(repositories, 8, async (repo) => {
    const token = await requestToken(tokens, [`repository:${repo}:pull,push`], pusher);
    const auth = { authorization: `Bearer ${token}` };
    const blob = (bytes: Buffer, mediaType: string) =>
      uploadBlob(registry.url, repo, bytes, mediaType, auth);
    const config = Buffer.from(JSON.stringify({ architecture: 'amd64', repo }));
    const manifest = {
      schemaVersion: 2,
      mediaType: mediaTypes.dockerManifest,
      config: await blob(config, mediaTypes.dockerConfig),
      layers: [await blob(Buffer.from(`layer of ${repo}`), mediaTypes.dockerLayer)],
    };
    await putManifest(registry.url, repo, '1.0', manifest, auth);
  });
}

/** A registry client and the requests it made so far, by kind. */
function countingClient() {
  const counts: Record<string, number> = {};
  const client = new RegistryClient({
    observer: {
      request: (e) => {
        counts[e.kind] = (counts[e.kind] ?? 0) + 1;
      },
      rateLimit: () => undefined,
    },
  });
  return { client, counts };
}

/** One cold check of every repository through `checkTargets`, counting requests by kind. */
async function coldCheck(registry: Registry) {
  const { client, counts } = countingClient();
  const targets: CheckTarget[] = repositories.map((repo) => {
    const image = `${registry.host}/${repo}:1.0`;
    return { image, keys: [imageKey('file', image)], containers: [] };
  });
  const records = new Map<ImageKey, ImageRecord>();
  const failures: string[] = [];
  try {
    await checkTargets(targets, records, {
      registry: client,
      workers: 10,
      hooks: { ...noHooks, failed: (_, reason) => failures.push(reason) },
      now: () => Date.now(),
    });
  } finally {
    await client.close();
  }
  return { counts, records, failures };
}

describe('cold run with batched token requests', () => {
  const stops = suiteTeardown();

  async function tokenRegistry(grantFirstScopeOnly: boolean) {
    const { registry, tokens } = stops.add(
      await startTokenRegistry({ users: USERS, grantFirstScopeOnly }),
      (t) => t.stop(),
    );
    await fill(registry, tokens);
    return { registry, tokens, filled: tokens.requests() };
  }

  let full: Awaited<ReturnType<typeof tokenRegistry>>;
  let firstOnly: Awaited<ReturnType<typeof tokenRegistry>>;

  beforeAll(async () => {
    full = await tokenRegistry(false);
    firstOnly = await tokenRegistry(true);
  });

  it(`costs 1 ping + 1 token request + ${N} HEADs for ${N} repositories`, async () => {
    const { counts, records, failures } = await coldCheck(full.registry);
    expect(failures).toEqual([]);
    expect(counts).toEqual({ ping: 1, token: 1, manifest_head: N });
    expect(full.tokens.requests() - full.filled).toBe(1);
    expect(full.tokens.scopesPerRequest().at(-1)).toHaveLength(N);
    expect([...records.values()].every((r) => r.status === 'new' && r.remoteDigest)).toBe(true);
  });

  it(`without batching (the per-request path alone) costs ${N} token requests`, async () => {
    const { client, counts } = countingClient();
    const opts = { timeoutMs: 10_000, insecureTLS: false };
    try {
      await runPool(repositories, 10, async (repo) => {
        await client.headManifest(parseReference(`${full.registry.host}/${repo}:1.0`), opts);
      });
    } finally {
      await client.close();
    }
    expect(counts).toEqual({ ping: 1, token: N, manifest_head: N });
  });

  it('falls back to per-repository tokens, with no failure, when only the first scope is granted', async () => {
    const { counts, records, failures } = await coldCheck(firstOnly.registry);
    expect(failures).toEqual([]);
    expect([...records.values()].every((r) => r.status === 'new' && r.remoteDigest)).toBe(true);
    // The batch serves its first repository; each other one asks for its own token, and no
    // HEAD is wasted on a token that does not cover it (the JWT's access claim said so).
    expect(counts).toEqual({ ping: 1, token: N, manifest_head: N });
    const asked = firstOnly.tokens.scopesPerRequest().slice(-N);
    expect(asked[0]).toHaveLength(N);
    expect(asked.slice(1).every((scopes) => scopes.length === 1)).toBe(true);
  });
});
