import { describe, expect, it } from 'vitest';
import { bounded, MAX_VALUE_LENGTH } from '../../src/bound.js';
import { formatReference, parseReference } from '../../src/registry/reference.js';

describe('bounded', () => {
  it('keeps the longest valid image reference whole', () => {
    const name = `registry.example.com/${'n'.repeat(255 - 'registry.example.com/'.length)}`;
    const longest = formatReference(
      parseReference(`${name}:${'t'.repeat(128)}@sha512:${'0'.repeat(128)}`),
    );
    expect(longest.length).toBeGreaterThan(500);
    expect(longest.length).toBeLessThanOrEqual(MAX_VALUE_LENGTH);
    expect(bounded(longest)).toBe(longest);
  });

  it('cuts a longer value to its head, its length and a hash, so long values stay apart', () => {
    const one = `${'x'.repeat(5000)}1`;
    const two = `${'x'.repeat(5000)}2`;
    expect(bounded(one)).toMatch(/^x{200}… \[cut: 5001 characters, sha256 [0-9a-f]{12}\]$/);
    expect(bounded(one)).not.toBe(bounded(two));
    expect(bounded(one, 6000)).toBe(one);
  });
});
