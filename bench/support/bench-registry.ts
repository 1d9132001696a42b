import { randomUUID } from 'node:crypto';
import { type Registry, startRegistry } from '../../test/support/registry.js';
import { startTokenService, type TokenService } from '../../test/support/token-service.js';
import {
  type CountingProxy,
  countKinds,
  type ProxiedRequest,
  startCountingProxy,
} from './counting-proxy.js';
import { type BaseImage, type PushTarget, pushBase, spreadBase } from './fill-registry.js';
import type { Counts } from './requests.js';

/**
 * The real registry behind a Docker Hub-style token service (anonymous pull tokens, one per
 * repository scope), each behind a counting latency proxy. The exporter only ever sees the
 * proxies; filling goes straight to the registry.
 */
export interface BenchRegistry {
  /** The registry proxy's `127.0.0.1:PORT`: the registry part of watched references. */
  host: string;
  registry: Registry;
  tokens: TokenService;
  registryProxy: CountingProxy;
  tokenProxy: CountingProxy;
  base: BaseImage;
  /** Sets the latency of both proxies. */
  setLatency(ms: number): void;
  /** A mark to count from: requests through both proxies after it. */
  mark(): Mark;
  since(mark: Mark): ProxiedRequest[];
  /** Makes `repos` hold the base image under each of `tags`. */
  fill(repos: string[], tags: string[]): Promise<void>;
  stop(): Promise<void>;
}

export interface Mark {
  registry: number;
  token: number;
}

/** Starts the token service, the registry and both proxies, and pushes the base image once. */
export async function startBenchRegistry(): Promise<BenchRegistry> {
  const pusher = { user: 'pusher', password: `push-${randomUUID()}` };
  const tokens = await startTokenService({
    anonymous: true,
    // Longer than the whole bench: a steady run must never need a new token.
    expiresInSeconds: 3600,
    users: { [pusher.user]: { password: pusher.password, push: true } },
  });
  const tokenProxy = await startCountingProxy(new URL(tokens.realm).host);
  const registry = await startRegistry({
    tokenAuth: { ...tokens, realm: `http://${tokenProxy.host}/token` },
  });
  const registryProxy = await startCountingProxy(registry.host);
  const target: PushTarget = {
    registryUrl: registry.url,
    realm: tokens.realm,
    service: tokens.service,
    ...pusher,
  };
  const base = await pushBase(target, 'bench/base', '1.0');
  return {
    host: registryProxy.host,
    registry,
    tokens,
    registryProxy,
    tokenProxy,
    base,
    setLatency(ms) {
      registryProxy.delayMs = ms;
      tokenProxy.delayMs = ms;
    },
    mark: () => ({ registry: registryProxy.requests.length, token: tokenProxy.requests.length }),
    since: (m) => [
      ...registryProxy.requests.slice(m.registry),
      ...tokenProxy.requests.slice(m.token),
    ],
    fill: (repos, tags) => spreadBase(target, base, repos, tags),
    async stop() {
      await registryProxy.close();
      await tokenProxy.close();
      await registry.stop();
      await tokens.close();
    },
  };
}

/** Counts of requests since `mark`, by kind. */
export function countSince(r: BenchRegistry, mark: Mark): Counts {
  return countKinds(r.since(mark));
}

/** Resolves once no request has arrived or been in flight through either proxy for `quietMs`. */
export async function quiet(r: BenchRegistry, quietMs: number): Promise<void> {
  for (;;) {
    const all = [...r.registryProxy.requests, ...r.tokenProxy.requests];
    const busy = all.some((q) => Number.isNaN(q.doneMs));
    const last = all.reduce((m, q) => Math.max(m, q.arrivedMs, q.doneMs || 0), 0);
    if (!busy && performance.now() - last >= quietMs) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
