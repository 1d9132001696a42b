import { describe, expect, it } from 'vitest';
import { formatDuration } from '../../../src/cli/check-table.js';
import { colourEnabled, painter } from '../../../src/cli/colour.js';
import { middleEllipsis, visibleLength, wrapText } from '../../../src/cli/text.js';

describe('middleEllipsis', () => {
  it('keeps both ends of a long name and fits the width exactly', () => {
    expect(middleEllipsis('registry.example.com/team/app:dev', 20)).toBe('registry.…am/app:dev');
    expect(middleEllipsis('registry.example.com/team/app:dev', 20)).toHaveLength(20);
    expect(middleEllipsis('short', 20)).toBe('short');
  });
});

describe('wrapText', () => {
  it('wraps at spaces within the width, indenting the lines after the first', () => {
    const text =
      'error: docker.io/library/redis:7: the registry answered 401 Unauthorized to a token';
    const lines = wrapText(text, 40);
    expect(lines).toEqual([
      'error: docker.io/library/redis:7: the',
      '  registry answered 401 Unauthorized to',
      '  a token',
    ]);
  });

  it('cuts a word longer than a line, and does not count colour codes', () => {
    const lines = wrapText(`x ${'a'.repeat(50)}`, 20);
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(20);
    expect(lines.join('').replace(/\s/g, '')).toBe(`x${'a'.repeat(50)}`);
    const red = painter(true)('red', 'error:');
    expect(wrapText(`${red} ${'b'.repeat(13)}`, 20)).toEqual([`${red} ${'b'.repeat(13)}`]);
    expect(visibleLength(red)).toBe(6);
  });
});

describe('colour', () => {
  it('is on for a TTY only, off with NO_COLOR, on with FORCE_COLOR, off for TERM=dumb', () => {
    expect(colourEnabled({ isTTY: true }, {})).toBe(true);
    expect(colourEnabled({ isTTY: false }, {})).toBe(false);
    expect(colourEnabled({}, {})).toBe(false);
    expect(colourEnabled({ isTTY: true }, { NO_COLOR: '1' })).toBe(false);
    expect(colourEnabled({ isTTY: true }, { NO_COLOR: '' })).toBe(true);
    expect(colourEnabled({ isTTY: false }, { FORCE_COLOR: '1' })).toBe(true);
    expect(colourEnabled({ isTTY: false }, { FORCE_COLOR: '' })).toBe(false);
    expect(colourEnabled({ isTTY: true }, { FORCE_COLOR: '0' })).toBe(false);
    expect(colourEnabled({ isTTY: true }, { NO_COLOR: '1', FORCE_COLOR: '1' })).toBe(false);
    expect(colourEnabled({ isTTY: true }, { TERM: 'dumb' })).toBe(false);
  });

  it('wraps text in SGR codes, or leaves it alone when off', () => {
    expect(painter(true)('red', 'error')).toBe('\x1b[31merror\x1b[39m');
    expect(painter(false)('red', 'error')).toBe('error');
  });
});

describe('formatDuration', () => {
  it('says milliseconds under a second, tenths under a minute, then minutes', () => {
    expect(formatDuration(0.3404)).toBe('340 ms');
    expect(formatDuration(2.06)).toBe('2.1 s');
    expect(formatDuration(185.2)).toBe('3 min 5 s');
  });
});
