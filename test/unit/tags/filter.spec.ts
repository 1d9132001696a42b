import { describe, expect, it } from 'vitest';
import { filterTags, isArtifactTag, type TagFilter } from '../../../src/tags/filter.js';
import { tagFixture } from '../../support/tag-fixtures.js';

function filter(over: Partial<TagFilter>): TagFilter {
  return { includeTags: [], excludeTags: [], maxTags: 0, sortTags: 'default', ...over };
}

const HEX = `${'c0ffee'.repeat(10)}beef`;

// In a registry's (lexical) order.
const LISTING = [
  '0.1.0',
  '04.1.0',
  '3.0.0-beta.1',
  '4',
  '4.0.0',
  '4.0.0-beta.1',
  '4.1.0',
  '4.1.0-Alpine',
  '4.1.0-alpine',
  '4.10.0',
  '4.2.0',
  '4.20',
  '4.20.0',
  'V4.3',
  'alpine-5.0',
  'edge',
  'latest',
  'v4.20.1',
];

describe('filterTags sort_tags', () => {
  it('default keeps the registry order', () => {
    expect(filterTags(LISTING, filter({ sortTags: 'default' }))).toEqual(LISTING);
  });

  it('reverse reverses the registry order', () => {
    expect(filterTags(LISTING, filter({ sortTags: 'reverse' }))).toEqual([...LISTING].reverse());
  });

  it('lexicographical sorts by bytes, not by locale', () => {
    const shuffled = ['b', 'B', '1.10', '1.9', 'a-1', 'a.1', 'A'];
    expect(filterTags(shuffled, filter({ sortTags: 'lexicographical' }))).toEqual([
      '1.10',
      '1.9',
      'A',
      'B',
      'a-1',
      'a.1',
      'b',
    ]);
  });

  it('semver sorts newest first after trimming leading non-digits; non-semver tags last', () => {
    expect(filterTags(LISTING, filter({ sortTags: 'semver' }))).toEqual([
      'alpine-5.0', // read as 5.0 = 5.0.0
      'v4.20.1',
      '4.20.0', // ties with 4.20: more dots first
      '4.20',
      '4.10.0',
      'V4.3',
      '4.2.0',
      '4.1.0',
      '4.1.0-alpine', // a pre-release for semver: below 4.1.0, identifiers in byte order
      '4.1.0-Alpine',
      '4.0.0',
      '4',
      '4.0.0-beta.1',
      '3.0.0-beta.1',
      '0.1.0',
      '04.1.0', // leading zero: not semver; among those, more dots first, then bytes
      'edge',
      'latest',
    ]);
  });

  it('semver orders pre-releases as semver does', () => {
    const ordered = [
      '1.0.0',
      '1.0.0-rc.1',
      '1.0.0-beta.11',
      '1.0.0-beta.2',
      '1.0.0-beta',
      '1.0.0-alpha.beta',
      '1.0.0-alpha.1',
      '1.0.0-alpha',
    ];
    const shuffled = [
      ordered[3]!,
      ordered[0]!,
      ordered[7]!,
      ordered[1]!,
      ...ordered.slice(4, 7),
      ordered[2]!,
    ];
    expect(filterTags(shuffled, filter({ sortTags: 'semver' }))).toEqual(ordered);
  });

  it('does not change the list it was given', () => {
    const tags = ['b', 'a', 'c'];
    filterTags(tags, filter({ sortTags: 'lexicographical' }));
    filterTags(tags, filter({ sortTags: 'reverse' }));
    expect(tags).toEqual(['b', 'a', 'c']);
  });
});

describe('filterTags include, exclude and max_tags', () => {
  it('matches patterns unanchored, as Go regexp.MatchString', () => {
    const tags = ['1.2.0', '11.2.0', '1.20', '2.1.2', '1.3.0'];
    expect(filterTags(tags, filter({ includeTags: ['1\\.2'] }))).toEqual([
      '1.2.0',
      '11.2.0',
      '1.20',
      '2.1.2',
    ]);
    expect(filterTags(tags, filter({ includeTags: ['^1\\.2\\.'] }))).toEqual(['1.2.0']);
  });

  it('keeps a tag matching any include pattern and no exclude pattern', () => {
    const tags = tagFixture('nginx');
    const kept = filterTags(
      tags,
      filter({ includeTags: ['^1\\.26\\.', '^1\\.27\\.'], excludeTags: ['-'] }),
    );
    expect(kept).toEqual(['1.26.0', '1.26.1', '1.26.2', '1.27.0', '1.27.1', '1.27.2', '1.27.3']);
  });

  it('treats a pattern that does not compile as matching nothing, as Diun does', () => {
    const tags = ['1.0', '2.0'];
    expect(filterTags(tags, filter({ includeTags: ['('] }))).toEqual([]);
    expect(filterTags(tags, filter({ excludeTags: ['('] }))).toEqual(tags);
  });

  it('cuts to max_tags after sorting; 0 keeps all', () => {
    const tags = tagFixture('traefik');
    const v3 = filter({ includeTags: ['^v3\\.'], sortTags: 'semver', maxTags: 3 });
    expect(filterTags(tags, v3)).toEqual(['v3.3.0-rc2', 'v3.3.0-rc1', 'v3.2.1']);
    expect(filterTags(tags, { ...v3, excludeTags: ['-rc'] })).toEqual([
      'v3.2.1',
      'v3.2.1-windowsservercore-ltsc2022', // semver reads the suffix as a pre-release
      'v3.2.1-nanoserver-ltsc2022',
    ]);
    expect(filterTags(tags, filter({ sortTags: 'reverse', maxTags: 2 }))).toEqual([
      'windowsservercore-ltsc2022',
      'v3.3.0-rc2',
    ]);
    expect(filterTags(tags, filter({ maxTags: 0 }))).toHaveLength(tags.length);
  });

  it('drops cosign and referrers artifact tags before anything else', () => {
    const tags = tagFixture('home-assistant');
    const kept = filterTags(tags, filter({ includeTags: ['.'] }));
    expect(kept.some((t) => t.startsWith('sha256-'))).toBe(false);
    expect(kept).toHaveLength(tags.length - 10);
    expect(filterTags(tags, filter({ sortTags: 'semver', maxTags: 1 }))).toEqual([
      '2024.12.1', // `2025.1.0b1` and `2025.1.0.dev…` are not semver: they sort last
    ]);
  });

  it('returns for a pathological pattern against a long tag (RE2: no backtracking)', () => {
    const long = `${'a'.repeat(10_000)}!`;
    expect(filterTags([long, 'aaa'], filter({ includeTags: ['(a+)+$'] }))).toEqual(['aaa']);
    expect(filterTags([long], filter({ excludeTags: ['(a+)+$', '(a|aa)+$'] }))).toEqual([long]);
  });
});

describe('isArtifactTag', () => {
  it.each([
    [`sha256-${HEX}.sig`, true],
    [`sha256-${HEX}.att`, true],
    [`sha256-${HEX}.sbom`, true],
    [`sha256-${HEX}`, true],
    [`sha256-${HEX.slice(1)}.sig`, false],
    [`sha256-${HEX.toUpperCase()}.sig`, false],
    [`sha256-${HEX}.sig.1`, false],
    [`sha256-${HEX}.json`, false],
    ['sha-3f9c2a1', false],
    ['1.27.3', false],
  ])('%s → %s', (tag, artifact) => {
    expect(isArtifactTag(tag)).toBe(artifact);
  });
});
