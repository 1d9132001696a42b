// Preloaded into the exporter (`BENCH_EXPORTER_NODE_OPTIONS="--import
// ./bench/support/allocation-profile.mjs"`): samples every allocation, collected objects
// included, while the first `POST /api/v1/check` is answered (the steady run of
// scrape-memory.bench.ts), then writes to $ALLOC_PROFILE_OUT (default
// reports/allocation-profile.txt) the bytes allocated in all, the top allocating frames, and
// the top frames of the exporter's own code (dist/) each allocation happened under, with the
// raw profile beside it (`.heapprofile`, which Chrome's DevTools open).
import dc from 'node:diagnostics_channel';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { byFrame, inspectorPost, mib } from './heap-sampling.mjs';

const out = process.env.ALLOC_PROFILE_OUT ?? 'reports/allocation-profile.txt';
const post = inspectorPost();

let started = false;
dc.subscribe('http.server.request.start', ({ request, response }) => {
  if (started || request.method !== 'POST' || !request.url.startsWith('/api/v1/check')) return;
  started = true;
  const sampling = post('HeapProfiler.enable').then(() =>
    post('HeapProfiler.startSampling', {
      samplingInterval: 16384,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    }),
  );
  response.on('finish', async () => {
    await sampling;
    const { profile } = await post('HeapProfiler.stopSampling');
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(`${out}.heapprofile`, JSON.stringify(profile));
    writeFileSync(out, summary(profile));
  });
});

function summary(profile) {
  const { total, lines } = byFrame(profile, '(no exporter frame: sockets, parsers, timers)');
  return `${[`allocated while the run was answered: ${mib(total)}`, '', ...lines].join('\n')}\n`;
}
