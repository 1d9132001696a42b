import { describe, expect, it } from 'vitest';
import { newestVersion, type SemverDiff } from '../../../src/tags/compare.js';
import { filterTags } from '../../../src/tags/filter.js';
import { tagFixture } from '../../support/tag-fixtures.js';

/** running tag, picked tag (undefined: the running tag is not a version), diff, why. */
type Case = [running: string, picked: string | undefined, diff: SemverDiff | '', why: string];

const cases: Record<string, Case[]> = {
  nginx: [
    [
      '1.25.3',
      '1.27.3',
      'minor',
      '`-alpine`, `-perl`, `mainline` are not comparable with a bare version',
    ],
    ['1.25.3-alpine', '1.27.3-alpine', 'minor', 'same variant `-alpine`'],
    [
      '1.25.3-alpine3.18',
      '1.27.3-alpine3.20',
      'minor',
      'shape `-alpine#.#`; core first, then 3.18 < 3.20',
    ],
    [
      '1.26.2-alpine-slim',
      '1.27.3-alpine-slim',
      'minor',
      'shape `-alpine-slim`, not `-alpine#.#-slim`',
    ],
    ['1.25', '1.27', 'minor', 'two components compare with two: never `1.27.3`'],
    ['1.25-alpine', '1.27-alpine', 'minor', 'two components with the same variant'],
    ['1', '1', '', 'nothing newer with one component'],
    ['1.27.3', '1.27.3', '', 'already the newest'],
    ['1.27.3-alpine3.20-slim', '1.27.3-alpine3.20-slim', '', 'the only tag of its shape'],
    ['mainline', undefined, '', 'a channel name is not a version'],
    ['latest', undefined, '', 'not a version'],
  ],
  postgres: [
    [
      '16.1',
      '17.2',
      'major',
      'every two-component bare tag compares: 17.2 is newest (pin with include_tags)',
    ],
    ['16', '17', 'major', 'one component follows majors'],
    ['16-alpine', '17-alpine', 'major', 'same variant; `17-alpine3.21` has another shape'],
    ['16.4-alpine3.20', '17.2-alpine3.21', 'major', 'core first, then the Alpine release'],
    ['17.2-alpine3.20', '17.2-alpine3.21', 'patch', 'same core, newer variant number'],
    ['17rc1', '17', 'prerelease', 'a pre-release runner moves to the release'],
    ['17beta2', '17', 'prerelease', 'release > rc1 > beta3 > beta2'],
    ['17beta3-alpine', '17-alpine', 'prerelease', 'pre-release with a variant keeps the variant'],
    ['14.13-bookworm', '17.2-bookworm', 'major', 'same variant `-bookworm`'],
    ['17', '17', '', '`17rc1`/`17beta3` are ignored for a release runner'],
    ['alpine3.20', undefined, '', 'no leading number'],
  ],
  node: [
    ['20', '23', 'major', 'one component: 18, 20, 22, 23 compare (pin with include_tags)'],
    ['20.11.1', '23.4.0', 'major', 'three components, no variant'],
    ['20-alpine', '23-alpine', 'major', '`20-alpine3.20` has another shape'],
    ['20.18.1-alpine3.20', '22.12.0-alpine3.21', 'major', 'shape `-alpine#.#`'],
    ['20.18-alpine', '22.12-alpine', 'major', 'two components with `-alpine`'],
    ['20.11.1-bullseye', '20.11.1-bullseye', '', 'the only `-bullseye` three-component tag'],
    ['23.4.0', '23.4.0', '', 'already the newest'],
    ['lts', undefined, '', 'not a version'],
    ['iron', undefined, '', 'codename, not a version'],
  ],
  redis: [
    ['7.2', '7.4', 'minor', '`8.0-M02` is a pre-release, ignored for a release runner'],
    ['7.2.4', '7.4.1', 'minor', 'three components'],
    ['7.2.4-alpine', '7.4.1-alpine', 'minor', 'same variant'],
    ['7.4.1-alpine3.20', '7.4.1-alpine3.20', '', 'nothing newer of its shape'],
    ['8.0-M01', '8.0-M02', 'prerelease', 'milestones compare by number'],
    ['7.4-rc1', '8.0-M02', 'major', 'a pre-release runner also follows newer pre-releases'],
    ['7.4-rc2-alpine', '8.0-M02-alpine', 'major', 'pre-release with a variant'],
    ['6', '7', 'major', 'one component'],
    ['latest', undefined, '', 'not a version'],
  ],
  traefik: [
    [
      'v2.11.13',
      'v3.2.1',
      'major',
      '`v3.2.1` and `3.2.1` tie: the one written like the running tag',
    ],
    ['2.11.14', '3.2.1', 'major', 'same tie, without `v` this time'],
    ['v3.2', 'v3.2', '', '`3.2` is the same version, not newer'],
    ['v3.2.0', 'v3.2.1', 'patch', 'third component'],
    ['v3.3.0-rc1', 'v3.3.0-rc2', 'prerelease', 'no release yet'],
    ['v2', 'v3', 'major', '`v` ignored for comparison'],
    [
      'v3.1.7-windowsservercore-ltsc2022',
      'v3.2.1-windowsservercore-ltsc2022',
      'minor',
      'same variant',
    ],
    ['comte', undefined, '', 'codename, not a version'],
    ['latest', undefined, '', 'not a version'],
  ],
  'linuxserver-sonarr': [
    [
      '4.0.9.2244-ls240',
      '4.0.16.2944-ls261',
      'patch',
      'four components, the 4th and later count as patch',
    ],
    ['4.0.14-ls258', '4.0.16-ls260', 'patch', 'three components with `-ls#`'],
    ['4.0.16.2944-ls260', '4.0.16.2944-ls261', 'patch', 'same version, newer `-ls` build'],
    ['3.0.10-ls200', '4.0.16-ls260', 'major', 'three components with `-ls#`'],
    ['version-4.0.9.2244', 'version-4.0.16.2944', 'patch', 'prefix `version-`, third component'],
    ['version-4.0.16.2944', 'version-4.0.16.2944', '', 'prefix `version-`: newest of its shape'],
    ['amd64-4.0.16.2944-ls260', 'amd64-4.0.16.2944-ls261', 'patch', 'architecture prefix `amd64-`'],
    ['develop', undefined, '', 'not a version'],
  ],
  'linuxserver-plex': [
    [
      '1.40.0.7998-c29d4c0c8-ls250',
      '1.41.3.9314-a0bfb8370-ls265',
      'minor',
      'the commit id is set aside',
    ],
    ['1.40.0.7998-ls250', '1.41.3.9314-ls266', 'minor', 'shape `-ls#`'],
    ['1.41.3.9314-ls265', '1.41.3.9314-ls266', 'patch', 'newer `-ls` build of the same version'],
    [
      'version-1.40.0.7998-c29d4c0c8',
      'version-1.41.3.9314-a0bfb8370',
      'minor',
      'prefix `version-`, commit id set aside',
    ],
  ],
  'home-assistant': [
    ['2024.10.4', '2024.12.1', 'minor', 'calendar version; `2025.1.0b1` is a pre-release'],
    ['2024.10', '2024.12', 'minor', 'two components'],
    ['2024.11.0b0', '2025.1.0b1', 'major', 'a beta runner follows betas too'],
    ['2025.1.0b0', '2025.1.0b1', 'prerelease', 'next beta of the same release'],
    ['2025.1.0.dev20241217', '2025.1.0b1', 'prerelease', 'dev < beta'],
    ['2024.12.1', '2024.12.1', '', 'newest release; cosign tags are not versions'],
    ['stable', undefined, '', 'channel name'],
  ],
  'ci-app': [
    ['608111629', '612003318', 'major', 'pipeline ids compare with each other'],
    ['20', '20', '', 'a 9-digit pipeline id is not the next release of `20`'],
    ['19', '20', 'major', 'release numbers'],
    ['5', '20', 'major', 'one more digit is still a release number'],
    ['v1.4.2', 'v1.5.0', 'minor', '`v` prefix'],
    ['20-hotfix', '20-hotfix', '', 'the only tag of its shape'],
    ['sha-3f9c2a1', undefined, '', 'commit tag, not a version'],
  ],
};

describe('newestVersion on real tag lists', () => {
  for (const [image, table] of Object.entries(cases)) {
    const tags = tagFixture(image);
    it.each(table)(`${image}: %s → %s (%s) %s`, (running, picked, diff) => {
      const verdict = newestVersion(running, tags);
      if (picked === undefined) {
        expect(verdict).toBeUndefined();
        return;
      }
      expect(verdict).toEqual({
        current: running,
        latest: picked,
        newer: picked !== running,
        diff,
      });
    });
  }

  it('follows one major when the list is filtered first', () => {
    const offered = filterTags(tagFixture('node'), {
      includeTags: ['^20\\.\\d+\\.\\d+$'],
      excludeTags: [],
      maxTags: 0,
      sortTags: 'default',
    });
    expect(newestVersion('20.11.1', offered)?.latest).toBe('20.18.1');
  });
});

describe('newestVersion rules', () => {
  it('never compares a different number of components', () => {
    expect(newestVersion('1.2', ['1.2.0', '1.27', '1.3.0', '2.0.0'])).toEqual({
      current: '1.2',
      latest: '1.27',
      newer: true,
      diff: 'minor',
    });
    expect(newestVersion('1.2.0', ['1.2', '1.27'])?.newer).toBe(false);
  });

  it('keeps single numbers apart from build numbers and dates', () => {
    expect(newestVersion('20', ['21', '608111629', '20241015'])?.latest).toBe('21');
    expect(newestVersion('608111629', ['1', '20', '608111630'])?.latest).toBe('608111630');
    // 3 digits more than the running tag: a build number; 2 more: still a release.
    expect(newestVersion('7', ['10', '99', '100', '1000'])?.latest).toBe('100');
  });

  it('orders linuxserver revisions and builds by number', () => {
    const tags = ['4.0.16-r0-ls123', '4.0.16-r0-ls130', '4.0.16-r1-ls125', '4.0.16-ls140'];
    expect(newestVersion('4.0.16-r0-ls123', tags)).toEqual({
      current: '4.0.16-r0-ls123',
      latest: '4.0.16-r1-ls125',
      newer: true,
      diff: 'patch',
    });
  });

  it('ignores pre-releases unless the running tag is one', () => {
    const tags = ['1.2.0', '1.3.0-rc.1', '1.3.0-beta2', '1.2.1-alpha'];
    expect(newestVersion('1.2.0', tags)?.newer).toBe(false);
    expect(newestVersion('1.3.0-beta2', tags)?.latest).toBe('1.3.0-rc.1');
    expect(newestVersion('1.3.0-rc.1', [...tags, '1.3.0'])?.latest).toBe('1.3.0');
    expect(newestVersion('2.0.0-rc.1', ['2.0.0-rc.2', '2.0.0-rc.10'])?.latest).toBe('2.0.0-rc.10');
  });

  it('keeps a variant word that starts like a pre-release a variant', () => {
    expect(newestVersion('1.0-devel', ['1.1-devel', '1.1'])?.latest).toBe('1.1-devel');
    expect(newestVersion('3.12-bookworm', ['3.13-bookworm', '3.13b1-bookworm'])?.latest).toBe(
      '3.13-bookworm',
    );
  });

  it('reads long hostile tags in linear time', () => {
    const long = `1.0-rc${'1'.repeat(5_000)}x`;
    expect(newestVersion(long, [`1.1-rc${'1'.repeat(5_000)}x`, `1.${'0'.repeat(5_000)}`])).toEqual({
      current: long,
      latest: `1.1-rc${'1'.repeat(5_000)}x`,
      newer: true,
      diff: 'minor',
    });
  });

  it('returns undefined for tags that are not versions', () => {
    for (const tag of ['latest', 'stable', 'mainline', 'alpine', 'edge', 'vNext', '']) {
      expect(newestVersion(tag, ['1.0.0', '2.0.0'])).toBeUndefined();
    }
  });
});
