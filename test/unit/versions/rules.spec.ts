// Which newer version a user is told about, for the rules met in other update checkers' own test
// suites (version-checker, What's Up Docker, cup, Diun): a word prefix as part of the shape,
// include_tags deciding what compares, a pre-release word inside the suffix, `-test` builds, and
// an empty `diun.exclude_tags` label. Each row goes the way a container does: its labels over the
// config's defaults, the repository's tags filtered, then the choice. docs/versions.md lists them.
import { describe, expect, it } from 'vitest';
import { parseLabels } from '../../../src/config/labels.js';
import type { RegistryClient } from '../../../src/registry/client.js';
import type { SemverDiff } from '../../../src/tags/compare.js';
import { TagLists, versionOf } from '../../../src/watch/newest-tag.js';
import { config, container } from '../watch/fixtures.js';

interface Row {
  running: string;
  labels?: Record<string, string>;
  tags: string[];
  /** The tag chosen; undefined: the running tag is not a version. */
  latest: string | undefined;
  diff: SemverDiff | '';
  why: string;
}

const rules: Record<string, Row[]> = {
  'a word prefix is part of the shape': [
    {
      running: 'version-1.5.6',
      tags: ['version-1.5.6', 'version-1.6.0', '1.7.0', 'develop-version-1.8.0'],
      latest: 'version-1.6.0',
      diff: 'minor',
      why: '`1.7.0` and `develop-version-` are other shapes',
    },
    {
      running: 'fpm-2.1.0-prod',
      tags: ['fpm-2.1.0-prod', 'fpm-2.2.0-prod', 'fpm-2.3.0', '2.4.0-prod', 'cli-2.5.0-prod'],
      latest: 'fpm-2.2.0-prod',
      diff: 'minor',
      why: 'prefix and suffix both held',
    },
    {
      running: 'pg14-v0.2.0',
      tags: ['pg14-v0.2.0', 'pg14-v0.3.1', 'pg15-v0.4.0', 'v0.5.0'],
      latest: 'pg14-v0.3.1',
      diff: 'minor',
      why: 'the `pg14-` prefix, digits and all; `pg15-` is another image line',
    },
    {
      running: 'release-2024.1.0',
      tags: ['release-2024.1.0', 'release-2024.2.1', 'release-2024.3.0-rc1', '2025.1.0'],
      latest: 'release-2024.2.1',
      diff: 'minor',
      why: 'a release candidate is ignored for a release',
    },
    {
      running: '1.2.3',
      tags: ['1.2.3', '1.2.4', 'version-9.0.0', 'amd64-9.0.0'],
      latest: '1.2.4',
      diff: 'patch',
      why: 'no prefix: prefixed tags never compare',
    },
    {
      running: 'sha-3f9c2a1',
      tags: ['sha-3f9c2a1', 'sha-9b1e4d7'],
      latest: undefined,
      diff: '',
      why: 'a commit id after the prefix is no version',
    },
  ],
  'include_tags says which tags compare': [
    {
      running: '4.5',
      labels: { 'diun.include_tags': '^\\d+\\.\\d+\\.\\d+$' },
      tags: ['4.5', '4.6', '5.0.0', '7.8.9', '7.8.9-alpine', 'latest'],
      latest: '7.8.9',
      diff: 'major',
      why: 'the running tag is not included: the included tags compare whatever their length',
    },
    {
      running: '4.5',
      labels: { 'diun.include_tags': '^4\\.5\\.\\d+$' },
      tags: ['4.5', '4.5.0', '4.5.2'],
      latest: '4.5.2',
      diff: 'patch',
      why: 'a missing component counts as 0: `4.5.0` is `4.5`',
    },
    {
      running: '20',
      labels: { 'diun.include_tags': '^\\d+$' },
      tags: ['19', '20', '21', '608111629', '612003318', 'sha-3f9c2a1'],
      latest: '612003318',
      diff: 'major',
      why: 'the pattern says numbers are the versions: build numbers compare',
    },
    {
      running: '1.25.3',
      labels: { 'diun.include_tags': '^1\\.26\\.' },
      tags: ['1.25.3', '1.26.2', '1.26.2-alpine3.20', '1.26.2-perl'],
      latest: '1.26.2',
      diff: 'minor',
      why: 'the suffix still has to match',
    },
    {
      running: '1.26.2-alpine',
      labels: { 'diun.include_tags': '^1\\.(26|28)\\.' },
      tags: ['1.26.2-alpine', '1.28.0', '1.28.0-alpine', '1.28.0-perl', '1.28'],
      latest: '1.28.0-alpine',
      diff: 'minor',
      why: 'the running tag is included: its own shape compares, as without include_tags',
    },
  ],
  'a pre-release word inside the suffix': [
    {
      running: 'v0.1.3-12.alpha.1',
      tags: ['v0.1.3-12.alpha.1', 'v0.1.3-12.beta.1', 'v0.1.3-11.rc.1'],
      latest: 'v0.1.3-12.beta.1',
      diff: 'prerelease',
      why: 'alpha < beta; the number before the word counts first',
    },
    {
      running: 'v0.1.3-12.beta.1',
      tags: ['v0.1.3-12.beta.1', 'v0.1.3-12'],
      latest: 'v0.1.3-12',
      diff: 'prerelease',
      why: 'a pre-release moves to its release',
    },
    {
      running: 'v0.1.3-12',
      tags: ['v0.1.3-12', 'v0.1.3-13.alpha.1', 'v0.1.3-12-ubuntu'],
      latest: 'v0.1.3-12',
      diff: '',
      why: 'a pre-release is ignored for a release',
    },
  ],
  'a -test build is a pre-release': [
    {
      running: '1.0.0-test1',
      tags: ['1.0.0-test1', '1.0.0-test2'],
      latest: '1.0.0-test2',
      diff: 'prerelease',
      why: 'same core, newer test build',
    },
    {
      running: '1.0.0',
      tags: ['1.0.0', '1.0.0-test2', '1.0.1-test1'],
      latest: '1.0.0',
      diff: '',
      why: 'test builds are ignored for a release',
    },
  ],
  'an empty diun.exclude_tags label excludes every tag, as in Diun': [
    {
      running: '1.2.3',
      labels: { 'diun.exclude_tags': '' },
      tags: ['1.2.3', '1.2.4', '2.0.0'],
      latest: '1.2.3',
      diff: '',
      why: 'Diun reads "" as one empty pattern, which matches every tag',
    },
    {
      running: '1.2.3',
      labels: { 'diun.exclude_tags': '^2\\.;' },
      tags: ['1.2.3', '1.2.4', '2.0.0'],
      latest: '1.2.4',
      diff: 'patch',
      why: 'an empty pattern beside others is dropped',
    },
  ],
};

/** What version tracking tells a container running `running` with `labels`, given `tags`. */
async function verdictFor(row: Row) {
  const image = `docker.io/library/app:${row.running}`;
  const { options, errors } = parseLabels(
    { 'diun.watch_repo': 'true', ...row.labels },
    config().defaults,
  );
  expect(errors).toEqual([]);
  const registry = { listTags: async () => row.tags } as unknown as RegistryClient;
  const target = { image, keys: [], containers: [container({ image, options })] };
  const result = await versionOf(target, new TagLists(registry), {
    timeoutMs: 0,
    insecureTLS: false,
  });
  if (!result.watched || result.failed) throw new Error(`no verdict for ${image}`);
  return result.verdict;
}

describe('version choice rules', () => {
  for (const [rule, rows] of Object.entries(rules)) {
    it.each(rows)(`${rule}: $running → $latest ($diff) $why`, async (row) => {
      const verdict = await verdictFor(row);
      if (row.latest === undefined) {
        expect(verdict).toBeUndefined();
        return;
      }
      expect(verdict).toEqual({
        current: row.running,
        latest: row.latest,
        newer: row.latest !== row.running,
        diff: row.diff,
      });
    });
  }
});
