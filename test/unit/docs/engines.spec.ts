import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import semver from 'semver';
import { describe, expect, it } from 'vitest';

// package.json's engines.node is what `npm ci` and a user go by: every Node.js version it allows
// must run the exporter and its tests, and the image and the README must say the same.
const root = resolve(import.meta.dirname, '..', '..', '..');
const read = (path: string) => readFileSync(join(root, path), 'utf8');
const pkg = JSON.parse(read('package.json')) as { engines: { node: string } };
const lock = JSON.parse(read('package-lock.json')) as {
  packages: Record<string, { engines?: { node?: string } | string[] }>;
};

describe('engines.node', () => {
  const ours = pkg.engines.node;

  it('allows only versions that every installed package accepts', () => {
    const refused = Object.entries(lock.packages)
      .filter(([path]) => path.startsWith('node_modules/'))
      .flatMap(([path, entry]) => {
        const theirs = Array.isArray(entry.engines) ? undefined : entry.engines?.node;
        return theirs && !semver.subset(ours, theirs) ? [`${path} wants ${theirs}`] : [];
      });
    expect(refused).toEqual([]);
  });

  it('allows only versions with the Node.js APIs the exporter calls', () => {
    // zlib.crc32 (the /metrics gzip stream) came in 20.15.0 and 22.2.0.
    expect(semver.subset(ours, '^20.15.0 || >=22.2.0')).toBe(true);
  });

  it('is what the README says and what the image runs', () => {
    expect(read('README.md')).toContain(`Node.js \`${ours}\``);
    const from = [...read('Dockerfile').matchAll(/^FROM node:(\d+)/gm)].map((m) => m[1]);
    expect(from.length).toBeGreaterThan(0);
    for (const major of from) expect(semver.intersects(ours, `${major}.x`), major).toBe(true);
  });
});
