import { describe, expect, it } from 'vitest';
import { withThousands } from '../../../src/notify/push-text.js';

describe('withThousands', () => {
  it('puts a comma between groups of three digits, as en-US does', () => {
    expect(withThousands(0)).toBe('0');
    expect(withThousands(999)).toBe('999');
    expect(withThousands(1000)).toBe('1,000');
    expect(withThousands(1234567)).toBe('1,234,567');
  });

  it('writes every count up to a million as toLocaleString("en-US") does', () => {
    for (let n = 0; n <= 1_000_000; n += 997) {
      expect(withThousands(n)).toBe(n.toLocaleString('en-US'));
    }
  });
});
