import { afterEach, describe, expect, it } from 'vitest';
import { configureLog, stderrSink } from '../../src/log.js';
import { releaseMemory } from '../../src/memory.js';

afterEach(() => configureLog({ level: 'info', sink: stderrSink }));

describe('giving memory back after a burst of work', () => {
  it('collects what nothing references any more, and logs what it gave back at debug', async () => {
    const lines: string[] = [];
    configureLog({ level: 'debug', sink: (line) => lines.push(line) });
    let garbage: string[] | undefined = Array.from({ length: 10_000 }, (_, i) => `row ${i}`);
    const ref = new WeakRef(garbage);
    garbage = undefined;
    // A WeakRef keeps its target until the job that made it ends.
    await new Promise((resolve) => setImmediate(resolve));
    await releaseMemory();
    expect(ref.deref()).toBeUndefined();
    const line = lines.find((l) => l.includes('msg="memory released"'));
    expect(line).toMatch(/ms=\d+ rssMiB="[\d.]+ -> [\d.]+" heapMiB="[\d.]+ -> [\d.]+"/);
  });

  it('makes one collection of calls that come while one is under way', async () => {
    const first = releaseMemory();
    expect(releaseMemory()).toBe(first);
    await first;
    expect(releaseMemory()).not.toBe(first);
  });
});
