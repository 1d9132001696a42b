import { describe, expect, it } from 'vitest';
import { createProgress } from '../../../src/cli/progress.js';

// A stream that records writes, and a clock the test moves by hand.
function fakeStream(isTTY: boolean) {
  const writes: string[] = [];
  return { isTTY, writes, write: (t: string) => writes.push(t) };
}

describe('progress on a terminal', () => {
  it('redraws one line in place, keeps log lines above it, and erases it on clear', () => {
    const stream = fakeStream(true);
    let t = 0;
    const progress = createProgress(stream, { now: () => t, redrawMs: 100 });
    expect(stream.writes).toEqual(['listing containers…']);
    progress.update(0, 3);
    t = 10;
    progress.update(1, 3); // within 100 ms of the last redraw: not drawn
    t = 200;
    progress.update(2, 3);
    progress.print('level=warn msg="image check failed"');
    progress.update(3, 3); // the last count always shows
    progress.clear();
    progress.print('after');
    expect(stream.writes).toEqual([
      'listing containers…',
      '\r\x1b[2Kchecking 0/3 images…',
      '\r\x1b[2Kchecking 2/3 images…',
      '\r\x1b[2Klevel=warn msg="image check failed"\nchecking 2/3 images…',
      '\r\x1b[2Kchecking 3/3 images…',
      '\r\x1b[2K',
      'after\n',
    ]);
  });
});

describe('progress elsewhere', () => {
  it('writes nothing for a short run, then a plain line every few seconds', () => {
    const stream = fakeStream(false);
    let t = 0;
    const progress = createProgress(stream, { now: () => t, lineMs: 5_000 });
    progress.update(0, 120);
    t = 4_000;
    progress.update(10, 120);
    t = 5_000;
    progress.update(37, 120);
    t = 6_000;
    progress.update(40, 120);
    t = 10_500;
    progress.update(90, 120);
    t = 20_000;
    progress.update(120, 120); // done: the table says the rest
    progress.clear();
    expect(stream.writes).toEqual(['checking 37/120 images…\n', 'checking 90/120 images…\n']);
  });
});
