import { log } from './log.js';

// Set once the inspector is found missing (a Node.js built without it): not asked again.
let unavailable = false;
// The collection under way, which callers in the meantime share.
let inFlight: Promise<void> | undefined;

/**
 * Asks V8 for the collection it makes when memory runs low: every unreachable object freed,
 * fragmented pages compacted, and the young generation and emptied pages handed back to the
 * system. Called when a burst of work has ended (a run, the start-up check of new images, a
 * restore from the state file): during one, V8 grows its young generation to its most (32 MiB)
 * and its old space past the live data, and without this keeps both until its own idle-time
 * reducer happens to run, which scrapes in quick succession put off. About 140 ms with
 * 10,000 images, once per run; what stays is the live data. Through an in-process inspector
 * session (node:inspector), the only way Node.js offers without a V8 flag; nothing listens on
 * a port. Never fails: the exporter only serves with more memory.
 */
export function releaseMemory(): Promise<void> {
  // Asked again while a collection is under way (a check that ends the start-up): that one does.
  inFlight ??= collect().finally(() => {
    inFlight = undefined;
  });
  return inFlight;
}

async function collect(): Promise<void> {
  if (unavailable) return;
  let session: import('node:inspector').Session;
  try {
    const { Session } = await import('node:inspector');
    session = new Session();
    session.connect();
  } catch (err) {
    unavailable = true;
    log('debug', 'cannot release memory after a run: no inspector in this Node.js', {
      error: err,
    });
    return;
  }
  const before = process.memoryUsage();
  const started = performance.now();
  try {
    await new Promise<void>((resolve, reject) =>
      session.post('HeapProfiler.collectGarbage', (err) => (err ? reject(err) : resolve())),
    );
    const after = process.memoryUsage();
    const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(1);
    log('debug', 'memory released', {
      ms: Math.round(performance.now() - started),
      rssMiB: `${mib(before.rss)} -> ${mib(after.rss)}`,
      heapMiB: `${mib(before.heapTotal)} -> ${mib(after.heapTotal)}`,
    });
  } catch (err) {
    log('debug', 'could not release memory', { error: err });
  } finally {
    session.disconnect();
  }
}
