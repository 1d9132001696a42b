// Which tags of a repository listing version tracking looks at, filtered, sorted and cut as
// Diun does it. What Diun does, read from crazy-max/diun:
// - pkg/registry/tags.go (Client.Tags): the whole listing is sorted first (SortTags), then
//   each tag is dropped when it is a generated artifact tag (`generatedArtifactTagRe`,
//   `^sha256-[a-f0-9]{64}(?:\.(?:att|sbom|sig))?$`), not included, or excluded; then the list
//   is cut to `max_tags` when it is > 0. Filtering keeps the order, so sort-then-filter and
//   filter-then-sort give the same list; we filter first to sort fewer tags.
// - internal/matcher/matcher.go: include/exclude are Go `regexp.MatchString` (RE2, unanchored);
//   a pattern that does not compile matches nothing; no include pattern means all included.
// - pkg/registry/tags_sort.go (SortTags): `reverse` reverses the listing, `lexicographical` is
//   sort.Strings, `semver` sorts newest first by golang.org/x/mod/semver after trimming the
//   leading non-digits of each tag (`alpine-5.0` sorts as `5.0`); a tag that is then not valid
//   semver sorts after every valid one; ties go to the tag with more dots, then byte order.
import { RE2JS } from 're2js';

export type SortTags = 'default' | 'reverse' | 'semver' | 'lexicographical';

export interface TagFilter {
  includeTags: string[];
  excludeTags: string[];
  maxTags: number;
  sortTags: SortTags;
}

const ARTIFACT_TAG = /^sha256-[a-f0-9]{64}(?:\.(?:att|sbom|sig))?$/;

/** True for signature/attestation/SBOM artifact tags (cosign `sha256-<hex>.sig`, `.att`, `.sbom`, and the referrers-tag-schema `sha256-<hex>` with no suffix). */
export function isArtifactTag(tag: string): boolean {
  return ARTIFACT_TAG.test(tag);
}

/** Tags a repository listing offers for version tracking: artifact tags dropped, include/exclude applied, sorted and cut to maxTags as Diun does. */
export function filterTags(tags: string[], filter: TagFilter): string[] {
  const include = filter.includeTags.map(compilePattern);
  const exclude = filter.excludeTags.map(compilePattern);
  const kept = tags.filter(
    (tag) =>
      !isArtifactTag(tag) &&
      (include.length === 0 || include.some((re) => matches(re, tag))) &&
      !exclude.some((re) => matches(re, tag)),
  );
  const sorted = sortTags(kept, filter.sortTags);
  return filter.maxTags > 0 ? sorted.slice(0, filter.maxTags) : sorted;
}

/** True when `tag` matches one of `patterns` (unanchored, as Diun matches include_tags). */
export function matchesAny(tag: string, patterns: string[]): boolean {
  return patterns.some((pattern) => matches(compilePattern(pattern), tag));
}

/** A compiled pattern, or undefined when it does not compile (Diun: such a pattern never matches). */
function compilePattern(pattern: string): RE2JS | undefined {
  try {
    return RE2JS.compile(pattern);
  } catch {
    return undefined;
  }
}

function matches(re: RE2JS | undefined, tag: string): boolean {
  return re?.matcher(tag).find() === true;
}

function sortTags(tags: string[], mode: SortTags): string[] {
  switch (mode) {
    case 'reverse':
      return [...tags].reverse();
    case 'lexicographical':
      return [...tags].sort(byteOrder);
    case 'semver':
      return semverSorted(tags);
    default:
      return tags;
  }
}

/** Go's strings.Compare; tags are ASCII, so UTF-16 code unit order is byte order. */
function byteOrder(a: string, b: string): number {
  if (a === b) return 0;
  return a < b ? -1 : 1;
}

function semverSorted(tags: string[]): string[] {
  const keyed = tags.map((tag) => ({ tag, version: parseSemver(tag.replace(/^\D+/, '')) }));
  keyed.sort((a, b) => {
    const c = compareSemver(b.version, a.version);
    if (c !== 0) return c;
    const dots = dotCount(b.tag) - dotCount(a.tag);
    if (dots !== 0) return dots;
    return byteOrder(a.tag, b.tag);
  });
  return keyed.map((k) => k.tag);
}

function dotCount(s: string): number {
  return s.split('.').length - 1;
}

/** A version as golang.org/x/mod/semver reads `v<s>`: `1` and `1.2` are short for `1.0.0`, `1.2.0`. */
interface Semver {
  core: [string, string, string];
  prerelease: string[];
}

const NUM = '(0|[1-9][0-9]*)';
const IDENT = '[0-9A-Za-z-]+';
const SEMVER = new RegExp(
  `^${NUM}(?:\\.${NUM}(?:\\.${NUM}(?:-(${IDENT}(?:\\.${IDENT})*))?(?:\\+${IDENT}(?:\\.${IDENT})*)?)?)?$`,
);

function parseSemver(s: string): Semver | undefined {
  const m = SEMVER.exec(s);
  if (!m) return undefined;
  const prerelease = m[4] === undefined ? [] : m[4].split('.');
  // A numeric pre-release identifier with a leading zero is invalid semver.
  if (prerelease.some((id) => /^0\d+$/.test(id))) return undefined;
  return { core: [m[1]!, m[2] ?? '0', m[3] ?? '0'], prerelease };
}

/** x/mod/semver.Compare: an invalid version is below every valid one, two invalid are equal. */
function compareSemver(a: Semver | undefined, b: Semver | undefined): number {
  if (!a || !b) return (a ? 1 : 0) - (b ? 1 : 0);
  for (let i = 0; i < 3; i++) {
    const c = compareDigits(a.core[i]!, b.core[i]!);
    if (c !== 0) return c;
  }
  return comparePrerelease(a.prerelease, b.prerelease);
}

function comparePrerelease(a: string[], b: string[]): number {
  // A release is above its pre-releases.
  if (a.length === 0 || b.length === 0) return Number(a.length === 0) - Number(b.length === 0);
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x === y) continue;
    const xNum = /^\d+$/.test(x);
    const yNum = /^\d+$/.test(y);
    if (xNum !== yNum) return xNum ? -1 : 1;
    return xNum ? compareDigits(x, y) : byteOrder(x, y);
  }
  return a.length - b.length;
}

/** Compares two digit strings without leading zeros as numbers, however long. */
function compareDigits(a: string, b: string): number {
  return a.length !== b.length ? a.length - b.length : byteOrder(a, b);
}
