// Property tests of version comparison and tag filtering: no crash on any tag, the answer is
// always one of the tags given, and the order is a real order (antisymmetric, transitive, and
// independent of the order of the listing).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { newestVersion } from '../../../src/tags/compare.js';
import { filterTags, type SortTags } from '../../../src/tags/filter.js';

const RUNS = { numRuns: 300 };

// Tags as registries list them, and plain noise.
const tagLike = fc.oneof(
  fc.string({ maxLength: 30 }),
  fc
    .array(fc.constantFrom(...'v0123456789.-_+', 'rc', 'beta', 'alpha', 'alpine', 'ls', 'M', 'b'), {
      maxLength: 12,
    })
    .map((parts) => parts.join('')),
);

/** `a` is strictly newer than `b`, as seen from a container running `b`. */
function isNewer(a: string, b: string): boolean {
  return newestVersion(b, [a])?.newer === true;
}

// Versions that compare with each other: one core length, one variant shape per sample.
const comparableVersions = fc
  .record({
    coreLength: fc.integer({ min: 1, max: 4 }),
    variant: fc.constantFrom('', '-alpine3.#', '-ls#', '-r#-ls#'),
    preRelease: fc.boolean(),
  })
  .chain(({ coreLength, variant, preRelease }) => {
    // Numbers below 1000 in single-number cores: a candidate 3 digits longer is a build number.
    const number = fc.oneof(
      fc.nat({ max: coreLength === 1 ? 999 : 30 }).map(String),
      fc.nat({ max: 9 }).map((n) => `0${n}`),
    );
    const version = fc
      .record({
        v: fc.constantFrom('', 'v'),
        core: fc.array(number, { minLength: coreLength, maxLength: coreLength }),
        pre: preRelease
          ? fc.option(fc.tuple(fc.constantFrom('-rc', '-beta', '-alpha', 'rc', '-M'), fc.nat(12)))
          : fc.constant(null),
        variantNumbers: fc.array(fc.nat(40), { minLength: 2, maxLength: 2 }),
      })
      .map(({ v, core, pre, variantNumbers }) => {
        let i = 0;
        const suffix = variant.replace(/#/g, () => String(variantNumbers[i++]));
        return `${v}${core.join('.')}${pre === null ? '' : `${pre[0]}${pre[1]}`}${suffix}`;
      });
    return fc.array(version, { minLength: 1, maxLength: 8 });
  });

describe('newestVersion', () => {
  it('never throws, and answers with the running tag or one of the listed tags', () => {
    fc.assert(
      fc.property(tagLike, fc.array(tagLike, { maxLength: 10 }), (current, tags) => {
        const verdict = newestVersion(current, tags);
        if (verdict === undefined) return;
        expect(verdict.current).toBe(current);
        expect([current, ...tags]).toContain(verdict.latest);
        // A tie never moves away from the running tag, so another tag means a newer one.
        expect(verdict.newer).toBe(verdict.latest !== current);
        expect(verdict.diff === '').toBe(!verdict.newer);
      }),
      RUNS,
    );
  });

  it('is antisymmetric: if a is newer than b, b is not newer than a', () => {
    fc.assert(
      fc.property(comparableVersions, (versions) => {
        for (const a of versions) {
          for (const b of versions) {
            if (isNewer(a, b)) expect(isNewer(b, a)).toBe(false);
          }
        }
      }),
      RUNS,
    );
  });

  it('is transitive: a newer than b newer than c means a newer than c', () => {
    fc.assert(
      fc.property(comparableVersions, (versions) => {
        for (const a of versions) {
          for (const b of versions) {
            if (!isNewer(a, b)) continue;
            for (const c of versions) {
              if (isNewer(b, c)) expect(isNewer(a, c), `${a} > ${b} > ${c}`).toBe(true);
            }
          }
        }
      }),
      RUNS,
    );
  });

  it('gives the same answer for the listing in any order', () => {
    fc.assert(
      fc.property(
        comparableVersions.chain(([current, ...tags]) =>
          fc.tuple(
            fc.constant(current!),
            fc.constant(tags),
            fc.shuffledSubarray(tags, { minLength: tags.length }),
          ),
        ),
        ([current, tags, shuffled]) => {
          const a = newestVersion(current, tags);
          const b = newestVersion(current, shuffled);
          expect(b?.newer).toBe(a?.newer);
          // The same version, though a tie between spellings (`1.0`, `v1.0`) may pick either.
          if (a && b) {
            expect(isNewer(a.latest, b.latest)).toBe(false);
            expect(isNewer(b.latest, a.latest)).toBe(false);
          }
        },
      ),
      RUNS,
    );
  });
});

describe('newestVersion: the `v` tie rule', () => {
  it('picks the spelling of the running tag when the newest is listed with and without `v`', () => {
    fc.assert(
      fc.property(
        comparableVersions.chain(([current, ...tags]) =>
          fc.tuple(fc.constant(current!), fc.constant(tags), fc.nat()),
        ),
        ([current, tags, seed]) => {
          const verdict = newestVersion(current, tags);
          if (!verdict?.newer) return;
          const other = verdict.latest.startsWith('v')
            ? verdict.latest.slice(1)
            : `v${verdict.latest}`;
          const listing = [...tags, other];
          // Either order: the other spelling first, or last.
          if (seed % 2 === 0) listing.reverse();
          const latest = newestVersion(current, listing)!.latest;
          expect(latest.startsWith('v')).toBe(current.startsWith('v'));
        },
      ),
      RUNS,
    );
  });
});

const SORTS: SortTags[] = ['default', 'reverse', 'semver', 'lexicographical'];
const pattern = fc.oneof(
  fc.constantFrom('^v?\\d+\\.\\d+$', 'alpine', '^latest$', '(a+)+$', '-rc', '[', 'x**', '^\\d'),
  fc.string({ maxLength: 6 }),
);

describe('filterTags', () => {
  it('keeps a sub-list of the listing in every sort mode, never more than maxTags', () => {
    fc.assert(
      fc.property(
        fc.array(tagLike, { maxLength: 25 }),
        fc.record({
          includeTags: fc.array(pattern, { maxLength: 2 }),
          excludeTags: fc.array(pattern, { maxLength: 2 }),
          maxTags: fc.nat(10),
          sortTags: fc.constantFrom(...SORTS),
        }),
        (tags, filter) => {
          const kept = filterTags(tags, filter);
          const left = [...tags];
          for (const tag of kept) {
            const at = left.indexOf(tag);
            expect(at, `${tag} was not listed (or kept twice)`).toBeGreaterThanOrEqual(0);
            left.splice(at, 1);
          }
          if (filter.maxTags > 0) expect(kept.length).toBeLessThanOrEqual(filter.maxTags);
          // Without filters nothing but artifact tags is dropped before the cut.
          if (filter.includeTags.length === 0 && filter.excludeTags.length === 0) {
            const all = filterTags(tags, { ...filter, maxTags: 0 });
            expect(all).toHaveLength(tags.length);
            expect(kept).toEqual(filter.maxTags > 0 ? all.slice(0, filter.maxTags) : all);
          }
        },
      ),
      RUNS,
    );
  });
});
