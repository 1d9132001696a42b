// Architecture names and index entries, with names that look like object properties too: a
// label value is data, never a key into a table's prototype.
import { describe, expect, it } from 'vitest';
import { normaliseArchitecture, pickPlatform } from '../../../src/registry/platform.js';

const entry = (architecture: string, variant?: string) => ({
  digest: `sha256:${architecture}${variant ?? ''}`,
  os: 'linux',
  architecture,
  ...(variant ? { variant } : {}),
});

describe('normaliseArchitecture', () => {
  it('gives Docker’s name for uname’s, and keeps any other name as it is', () => {
    expect(normaliseArchitecture('x86_64')).toBe('amd64');
    expect(normaliseArchitecture('aarch64')).toBe('arm64');
    expect(normaliseArchitecture('riscv64')).toBe('riscv64');
    for (const name of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) {
      expect(normaliseArchitecture(name)).toBe(name);
    }
  });
});

describe('pickPlatform', () => {
  it('takes the default variant when the container names none', () => {
    const index = [entry('arm', 'v6'), entry('arm', 'v7'), entry('arm64', 'v8')];
    expect(pickPlatform(index, { os: 'linux', architecture: 'arm' })?.variant).toBe('v7');
    expect(pickPlatform(index, { os: 'linux', architecture: 'arm64' })?.variant).toBe('v8');
  });
});
