import type { Sample } from '../../test/support/metrics-text.js';
import type { Registry } from '../../test/support/registry.js';

/** Registry requests by the kinds of `diun_registry_requests_total`. */
export interface Counts {
  ping: number;
  token: number;
  manifestHead: number;
  manifestGet: number;
  tags: number;
  blob: number;
  other: number;
}

/** Every kind at 0. */
export const zero = (): Counts => ({
  ping: 0,
  token: 0,
  manifestHead: 0,
  manifestGet: 0,
  tags: 0,
  blob: 0,
  other: 0,
});

/**
 * The kind of a registry request, as `diun_registry_requests_total` names it; `/token` is a
 * token request only where a token service answers on that host (`tokenService`).
 */
export function kindOf(method: string, url: string, { tokenService = false } = {}): keyof Counts {
  const path = url.split('?')[0]!;
  if (tokenService && path === '/token') return 'token';
  if (path === '/v2/' || path === '/v2') return 'ping';
  if (/\/manifests\/[^/]+$/.test(path)) {
    if (method === 'HEAD') return 'manifestHead';
    if (method === 'GET') return 'manifestGet';
  }
  if (/\/tags\/list$/.test(path)) return 'tags';
  if (/\/blobs\/[^/]+$/.test(path)) return 'blob';
  return 'other';
}

/**
 * The exporter's requests in the registry's access log, by kind. The registry has no token
 * service, so `token` is always 0 here (the metric would show any token request made elsewhere).
 */
export function accessLogCounts(registry: Registry): Counts {
  const counts = zero();
  for (const line of registry.requestLines({ userAgent: 'diun-exporter' }))
    counts[kindOf(line.method, line.path)]++;
  return counts;
}

const metricKinds: Record<string, keyof Counts> = {
  ping: 'ping',
  token: 'token',
  manifest_head: 'manifestHead',
  manifest_get: 'manifestGet',
  tags: 'tags',
  blob: 'blob',
};

/** `diun_registry_requests_total` summed over registry and code, by kind. */
export function metricCounts(samples: Sample[]): Counts {
  const counts = zero();
  for (const s of samples) {
    if (s.name !== 'diun_registry_requests_total') continue;
    counts[metricKinds[s.labels.kind ?? ''] ?? 'other'] += s.value;
  }
  return counts;
}

/** `process_resident_memory_bytes`, or NaN when the scrape lacks it. */
export function rss(samples: Sample[]): number {
  return samples.find((s) => s.name === 'process_resident_memory_bytes')?.value ?? Number.NaN;
}

/** Runs `fn` over `items`, `size` at a time. */
export async function pool<T>(items: T[], size: number, fn: (item: T) => Promise<void>) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(size, items.length) }, worker));
}

/** For the exporter's requests after the first `skip`: references by number of HEADs. */
export function headsPerReference(registry: Registry, skip: number): Record<string, number> {
  const perPath = new Map<string, number>();
  for (const line of registry.requestLines({ userAgent: 'diun-exporter' }).slice(skip)) {
    if (kindOf(line.method, line.path) === 'manifestHead')
      perPath.set(line.path, (perPath.get(line.path) ?? 0) + 1);
  }
  const out: Record<string, number> = {};
  for (const n of perPath.values()) out[n] = (out[n] ?? 0) + 1;
  return out;
}
