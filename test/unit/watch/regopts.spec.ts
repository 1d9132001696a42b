import { describe, expect, it } from 'vitest';
import { selectRegopt } from '../../../src/watch/regopts.js';
import { config } from './fixtures.js';

const { regopts } = config({
  regopts: [
    { name: 'by-name', username: 'n' },
    { name: 'docker.io', selector: 'image', username: 'hub' },
    { name: 'docker.io/acme', selector: 'image', username: 'acme' },
    { name: 'ghcr.io/acme/', selector: 'image', username: 'gh' },
  ],
});
const pick = (image: string, named?: string) => selectRegopt(image, named, regopts)?.name;

describe('selectRegopt', () => {
  it('takes the regopt a container names with diun.regopt, whatever its selector', () => {
    expect(pick('docker.io/acme/api:1', 'by-name')).toBe('by-name');
    expect(pick('ghcr.io/acme/api:1', 'docker.io')).toBe('docker.io');
  });

  it('matches selector: image entries by prefix of the reference, the first in the file winning', () => {
    expect(pick('docker.io/library/nginx:latest')).toBe('docker.io');
    // docker.io/acme would match too, but docker.io comes first.
    expect(pick('docker.io/acme/api:1')).toBe('docker.io');
    expect(pick('ghcr.io/acme/api:1')).toBe('ghcr.io/acme/');
    expect(pick('ghcr.io/acme-corp/api:1')).toBeUndefined();
  });

  it('matches the normalised reference only, so a selector without the registry never matches', () => {
    const { regopts: short } = config({
      regopts: [{ name: 'acme/', selector: 'image', username: 'u' }],
    });
    expect(selectRegopt('docker.io/acme/api:1', undefined, short)).toBeUndefined();
  });

  it('never matches a selector: name entry by prefix, nor an unknown name', () => {
    expect(pick('by-name/app:1')).toBeUndefined();
    expect(pick('docker.io/library/nginx:latest', 'missing')).toBeUndefined();
  });
});
