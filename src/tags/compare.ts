// The newest version among a repository's tags that a running tag can move to. Our own rules
// (Diun only lists tags): a tag is an optional word prefix (`version-`, `fpm-`, `pg14-`), an
// optional `v`, a numeric core `N(.N)*` and a suffix. The suffix may hold one pre-release
// (`-rc.1`, `-beta2`, `rc1`, `b0`, `-M02`, `-test1`; where it does not open the suffix, a word
// between separators: `-12.alpha.1`) and the rest is a variant (`-alpine3.20`, `-ls123`,
// `-r0-ls123`), whose shape is itself with its numbers set aside. Two tags compare when their word
// prefixes are equal, their cores have as many components and their variants the same shape.
// When the user's include_tags chose the tags and the running tag is not among them, the pattern
// says what compares: the core may have any number of components (`4.5` moves to `7.8.9`).
//
// Decisions:
// - The `v` prefix is ignored when comparing; the tag is returned as listed. When `v3.2.1` and
//   `3.2.1` are both newest, the one written like the running tag wins (else the first listed).
// - A word prefix is part of the shape: `version-1.5.6` compares with `version-1.6.0`, never with
//   `1.6.0` or `amd64-1.6.0`. A prefixed tag whose rest is a commit id (`sha-3f9c2a1`) is no version.
// - Pre-releases are also recognised without a dash (`17rc1`, `2024.11.0b0`: PEP 440 `a`/`b`),
//   and Redis's milestones `-M02` (ranked between beta and rc), so such images are handled too.
// - Order: core, then pre-release (release > rc > pre/preview > M > beta > alpha > dev, snapshot,
//   nightly, canary; then its numbers), then the variant's numbers (`-ls123` < `-ls130`,
//   `-alpine3.19` < `-alpine3.20`: same core, newer variant, reported as 'patch').
// - Single numbers (`20`, `608111629`): a candidate with 3 or more digits more than the running
//   tag is a build number or a date, not the next major, so `20` never moves to `608111629`;
//   unless include_tags is set: then the user's pattern chose the numbers, and they compare.
// - A commit id in the variant (`1.41.3.9314-a0bfb8370-ls265`: 7 to 40 hex digits with a letter
//   and a digit, between separators) is set aside whole, or its digits would make every release's
//   shape different; the `-ls` number after it still counts.

export type SemverDiff = 'major' | 'minor' | 'patch' | 'prerelease';

export interface VersionVerdict {
  /** The running tag. */
  current: string;
  /** The newest comparable tag >= current (current itself when nothing is newer). */
  latest: string;
  /** latest is strictly newer than current. */
  newer: boolean;
  /** The first core component that changed (the 4th and later count as 'patch'); a change of
   * the variant's numbers alone is 'patch', of a pre-release runner's suffix 'prerelease'. */
  diff: SemverDiff | '';
}

/** How the tags given were chosen, when the user's include_tags chose them. */
export interface VersionScope {
  /** include_tags is set: single numbers of any length compare (build numbers, dates). */
  included: boolean;
  /** ...and does not match the running tag: cores of any length compare. */
  runningExcluded: boolean;
}

const UNSCOPED: VersionScope = { included: false, runningExcluded: false };

interface Version {
  tag: string;
  /** A word prefix with its separator (`version-`, `pg14-`), or ''. */
  word: string;
  /** `v`, `V` or ''. */
  v: string;
  core: string[];
  /** Present for a pre-release: its rank, numbers, and how many variant numbers come before it. */
  pre: { rank: number; numbers: string[]; at: number } | undefined;
  shape: string;
  variantNumbers: string[];
}

const TAG = /^((?:[A-Za-z][A-Za-z0-9]*[-_])*)([vV]?)(\d+(?:\.\d+)*)(.*)$/s;
const PRE_WORD = '(alpha|beta|rc|preview|pre|dev|snapshot|canary|nightly|test)(\\d*(?:[.-]\\d+)*)';
// A pre-release opening the suffix, then the end or a separator before the variant.
const PRE_RELEASE = new RegExp(`^(?:[-.]?${PRE_WORD}|(a|b)(\\d+)|-(M)(\\d+))(?=$|[-_+])`, 'i');
// A pre-release word further in the suffix, between separators.
const INNER_PRE_RELEASE = new RegExp(`[-._]${PRE_WORD}(?=$|[-_+])`, 'i');
const PRE_RANK: Record<string, number> = {
  dev: 0,
  test: 0,
  snapshot: 0,
  nightly: 0,
  canary: 0,
  alpha: 1,
  a: 1,
  beta: 2,
  b: 2,
  m: 3,
  pre: 4,
  preview: 4,
  rc: 5,
};
const DIGIT_RUN = /\d+/g;
const COMMIT_ID = /(?<=^|[-_.])(?=[0-9a-f]*[a-f])(?=[0-9a-f]*\d)[0-9a-f]{7,40}(?=$|[-_.])/g;
const LEADING_COMMIT_ID = /^(?=[0-9a-f]*[a-f])[0-9a-f]{7,40}(?=$|[-_.])/;
/** A single-number candidate this many digits longer than the running tag is not comparable. */
const BUILD_NUMBER_DIGITS = 3;

/** The newest tag among `tags` that is comparable with `current` and newer than it (current itself when none is); undefined when `current` is not a version (`latest`, `alpine`, `sha-3f9c2a1`). `scope` says whether include_tags chose the tags. */
export function newestVersion(
  current: string,
  tags: string[],
  scope: VersionScope = UNSCOPED,
): VersionVerdict | undefined {
  const running = parseVersion(current);
  if (!running) return undefined;
  let best = running;
  for (const tag of tags) {
    const candidate = parseVersion(tag);
    if (!candidate || !comparable(running, candidate, scope)) continue;
    const c = compareVersions(candidate, best);
    const samePrefixTie =
      c === 0 && best !== running && candidate.v === running.v && best.v !== running.v;
    if (c > 0 || samePrefixTie) best = candidate;
  }
  const newer = compareVersions(best, running) > 0;
  return { current, latest: best.tag, newer, diff: newer ? diffOf(running, best) : '' };
}

function parseVersion(tag: string): Version | undefined {
  const m = TAG.exec(tag);
  if (!m) return undefined;
  const word = m[1]!;
  if (word !== '' && LEADING_COMMIT_ID.test(tag.slice(word.length))) return undefined;
  let suffix = m[4]!;
  let pre: Version['pre'];
  const p = PRE_RELEASE.exec(suffix) ?? INNER_PRE_RELEASE.exec(suffix);
  if (p) {
    const label = (p[1] ?? p[3] ?? p[5]!).toLowerCase();
    const numbers = (p[2] ?? p[4] ?? p[6] ?? '').match(DIGIT_RUN) ?? [];
    const before = suffix.slice(0, p.index);
    pre = { rank: PRE_RANK[label]!, numbers, at: before.match(DIGIT_RUN)?.length ?? 0 };
    suffix = before + suffix.slice(p.index + p[0].length);
  }
  suffix = suffix.replace(COMMIT_ID, '@');
  return {
    tag,
    word,
    v: m[2]!,
    core: m[3]!.split('.'),
    pre,
    shape: suffix.replace(DIGIT_RUN, '#'),
    variantNumbers: suffix.match(DIGIT_RUN) ?? [],
  };
}

function comparable(running: Version, candidate: Version, scope: VersionScope): boolean {
  const sameLength = running.core.length === candidate.core.length;
  if (running.word !== candidate.word || running.shape !== candidate.shape) return false;
  if (!sameLength && !scope.runningExcluded) return false;
  if (candidate.pre && !running.pre) return false;
  if (sameLength && running.core.length === 1 && !scope.included) {
    const extra = significant(candidate.core[0]!).length - significant(running.core[0]!).length;
    if (extra >= BUILD_NUMBER_DIGITS) return false;
  }
  return true;
}

// Left to right: the core (a missing component counts as 0), the variant's numbers before the
// pre-release, the pre-release, the variant's other numbers.
function compareVersions(a: Version, b: Version): number {
  const at = Math.min(a.pre?.at ?? a.variantNumbers.length, b.pre?.at ?? b.variantNumbers.length);
  return (
    compareCores(a.core, b.core) ||
    compareNumberLists(a.variantNumbers.slice(0, at), b.variantNumbers.slice(0, at)) ||
    comparePreReleases(a.pre, b.pre) ||
    compareNumberLists(a.variantNumbers.slice(at), b.variantNumbers.slice(at))
  );
}

function compareCores(a: string[], b: string[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const c = compareNumbers(a[i] ?? '0', b[i] ?? '0');
    if (c !== 0) return c;
  }
  return 0;
}

function comparePreReleases(a: Version['pre'], b: Version['pre']): number {
  if (!a || !b) return Number(!a) - Number(!b);
  return a.rank - b.rank || compareNumberLists(a.numbers, b.numbers);
}

/** Numbers compared one by one; a list that runs out first is the smaller. */
function compareNumberLists(a: string[], b: string[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const c = compareNumbers(a[i]!, b[i]!);
    if (c !== 0) return c;
  }
  return a.length - b.length;
}

/** Digit strings compared as numbers of any size. */
function compareNumbers(a: string, b: string): number {
  const x = significant(a);
  const y = significant(b);
  if (x.length !== y.length) return x.length - y.length;
  return x === y ? 0 : x < y ? -1 : 1;
}

function significant(digits: string): string {
  return digits.replace(/^0+(?=\d)/, '');
}

function diffOf(running: Version, latest: Version): SemverDiff {
  const length = Math.max(running.core.length, latest.core.length);
  const index = Array.from({ length }, (_, i) => i).findIndex(
    (i) => compareNumbers(running.core[i] ?? '0', latest.core[i] ?? '0') !== 0,
  );
  if (index === 0) return 'major';
  if (index === 1) return 'minor';
  if (index >= 2) return 'patch';
  return running.pre ? 'prerelease' : 'patch';
}
