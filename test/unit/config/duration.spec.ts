import { describe, expect, it } from 'vitest';
import { parseDuration } from '../../../src/config/duration.js';

describe('parseDuration', () => {
  it.each([
    ['0', 0],
    ['30s', 30_000],
    ['1m30s', 90_000],
    ['500ms', 500],
    ['2h', 7_200_000],
    ['1h2m3s4ms', 3_723_004],
    ['1.5s', 1_500],
    ['1.1s', 1_100],
    ['.5m', 30_000],
    ['1.s', 1_000],
    ['1500us', 1.5],
    ['1500µs', 1.5],
    ['2000000ns', 2],
    ['+10s', 10_000],
    ['-10s', -10_000],
    ['0s', 0],
    ['2562047h', 2562047 * 3_600_000],
  ])('reads %s as %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each([
    ['', 'invalid duration ""'],
    ['ten', 'invalid duration "ten"'],
    ['10', 'invalid duration "10": missing unit (ns, us, ms, s, m, h)'],
    ['1m30', 'invalid duration "1m30": missing unit (ns, us, ms, s, m, h)'],
    ['10d', 'invalid duration "10d": unknown unit "d"'],
    ['10 s', 'invalid duration "10 s": unknown unit " s"'],
    ['.s', 'invalid duration ".s"'],
    ['-', 'invalid duration "-"'],
    ['s', 'invalid duration "s"'],
    ['2562048h', 'invalid duration "2562048h": out of range'],
    [`${'9'.repeat(400)}s`, `invalid duration "${'9'.repeat(400)}s": out of range`],
  ])('rejects %j', (text, message) => {
    expect(() => parseDuration(text)).toThrow(new Error(message));
  });
});
