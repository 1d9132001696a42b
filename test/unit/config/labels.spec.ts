import { describe, expect, it } from 'vitest';
import { isWatched, parseLabels } from '../../../src/config/labels.js';
import { type ImageDefaults, ImageDefaultsSchema } from '../../../src/config/schema.js';
import { StateStore } from '../../../src/state/store.js';
import { filterTags } from '../../../src/tags/filter.js';
import { noHooks } from '../../../src/watch/hooks.js';
import { Watcher } from '../../../src/watch/watcher.js';
import { config, container, digest, fakeProvider, fakeRegistry } from '../watch/fixtures.js';

const DEFAULTS: ImageDefaults = ImageDefaultsSchema.parse({
  notifyOn: ['new', 'update'],
  maxTags: 5,
  includeTags: ['^v'],
  metadata: { team: 'ops', site: 'paris' },
});

describe('isWatched', () => {
  it('follows diun.enable, else the provider default', () => {
    expect(isWatched({}, false)).toBe(false);
    expect(isWatched({}, true)).toBe(true);
    expect(isWatched({ 'diun.enable': 'true' }, false)).toBe(true);
    expect(isWatched({ 'diun.enable': 'false' }, true)).toBe(false);
    // Go's strconv.ParseBool words, as Diun reads them.
    expect(isWatched({ 'diun.enable': '1' }, false)).toBe(true);
    expect(isWatched({ 'diun.enable': 'FALSE' }, true)).toBe(false);
  });

  it('keeps the default when diun.enable is not a boolean', () => {
    expect(isWatched({ 'diun.enable': 'yes' }, false)).toBe(false);
    expect(isWatched({ 'diun.enable': 'yes' }, true)).toBe(true);
  });
});

describe('parseLabels', () => {
  it('gives the defaults when there are no labels', () => {
    expect(parseLabels({ 'com.docker.compose.service': 'web' }, DEFAULTS)).toEqual({
      options: DEFAULTS,
      errors: [],
    });
  });

  it('reads every label', () => {
    const { options, errors } = parseLabels(
      {
        'diun.enable': 'true',
        'diun.regopt': 'docker.io',
        'diun.watch_repo': 'true',
        'diun.notify_on': 'update',
        'diun.sort_tags': 'semver',
        'diun.max_tags': '20',
        'diun.include_tags': '^\\d+\\.\\d+\\.\\d+$;^latest$',
        'diun.exclude_tags': '-rc\\d*$;^\\d{1,2}$',
        'diun.hub_link': 'https://hub.docker.com/_/nginx',
        'diun.platform': 'linux/arm/v7',
        'diun.metadata.owner': 'alice',
      },
      DEFAULTS,
    );
    expect(errors).toEqual([]);
    expect(options).toEqual({
      enable: true,
      regopt: 'docker.io',
      watchRepo: true,
      notifyOn: ['update'],
      sortTags: 'semver',
      maxTags: 20,
      includeTags: ['^\\d+\\.\\d+\\.\\d+$', '^latest$'],
      excludeTags: ['-rc\\d*$', '^\\d{1,2}$'],
      hubLink: 'https://hub.docker.com/_/nginx',
      platform: 'linux/arm/v7',
      metadata: { team: 'ops', site: 'paris', owner: 'alice' },
    });
  });

  it('merges diun.metadata.* over the default metadata', () => {
    const { options } = parseLabels(
      { 'diun.metadata.site': 'berlin', 'diun.metadata.rack_id': '12', 'diun.metadata.empty': '' },
      DEFAULTS,
    );
    expect(options.metadata).toEqual({ team: 'ops', site: 'berlin', rack_id: '12' });
    expect(DEFAULTS.metadata).toEqual({ team: 'ops', site: 'paris' });
  });

  it('reads notify_on with both statuses and leaves empty values at their default', () => {
    expect(parseLabels({ 'diun.notify_on': 'new;update' }, DEFAULTS).options.notifyOn).toEqual([
      'new',
      'update',
    ]);
    const { options, errors } = parseLabels(
      { 'diun.notify_on': '', 'diun.sort_tags': '', 'diun.regopt': '', 'diun.hub_link': '' },
      DEFAULTS,
    );
    expect(errors).toEqual([]);
    expect(options).toEqual(DEFAULTS);
  });

  it('clears the default tag filter with an empty diun.include_tags, as Diun does', () => {
    // Diun reads "" as one empty pattern, which matches every tag: no filter.
    expect(parseLabels({ 'diun.include_tags': '' }, DEFAULTS).options.includeTags).toEqual([]);
  });

  it('normalises the platform', () => {
    const platform = (value: string) =>
      parseLabels({ 'diun.platform': value }, DEFAULTS).options.platform;
    expect(platform('linux/amd64')).toBe('linux/amd64');
    expect(platform('Linux/x86_64')).toBe('linux/amd64');
    expect(platform('linux/aarch64/v8')).toBe('linux/arm64/v8');
  });

  it('reports bad values and keeps the defaults', () => {
    const { options, errors } = parseLabels(
      {
        'diun.enable': 'yes',
        'diun.watch_repo': 'sometimes',
        'diun.notify_on': 'new;deleted',
        'diun.sort_tags': 'alphabetical',
        'diun.max_tags': 'abc',
        'diun.include_tags': '^v;(',
        'diun.exclude_tags': 'a**',
        'diun.platform': 'linux',
        'diun.metadata.bad-key': 'x',
      },
      DEFAULTS,
    );
    expect(errors).toEqual([
      'label diun.enable: expected true or false, got "yes"',
      'label diun.exclude_tags: invalid regular expression: invalid nested repetition operator: `**`',
      'label diun.include_tags: invalid regular expression: missing closing ): `(`',
      'label diun.max_tags: expected integer >= 0, got "abc"',
      'label diun.metadata.bad-key: metadata keys may only contain letters, digits and _',
      'label diun.notify_on: expected new or update (separated by ";"), got "new;deleted"',
      'label diun.platform: expected os/arch or os/arch/variant, got "linux"',
      'label diun.sort_tags: expected one of default, reverse, semver, lexicographical, got "alphabetical"',
      'label diun.watch_repo: expected true or false, got "sometimes"',
    ]);
    expect(options).toEqual(DEFAULTS);
  });

  it.each([
    ['diun.max_tags', '-1', 'expected integer >= 0, got "-1"'],
    ['diun.max_tags', '1.5', 'expected integer >= 0, got "1.5"'],
    [
      'diun.platform',
      'linux/amd64/v8/extra',
      'expected os/arch or os/arch/variant, got "linux/amd64/v8/extra"',
    ],
    ['diun.platform', 'linux//v8', 'expected os/arch or os/arch/variant, got "linux//v8"'],
    ['diun.notify_on', 'new;', 'expected new or update (separated by ";"), got "new;"'],
    ['diun.include_tags', '(a)\\1', 'invalid regular expression: invalid escape sequence: `\\1`'],
  ])('rejects %s=%s', (label, value, message) => {
    expect(parseLabels({ [label]: value }, DEFAULTS).errors).toEqual([
      `label ${label}: ${message}`,
    ]);
  });

  it('uses RE2, so no pattern takes super-linear time', () => {
    // Catastrophic for a backtracking engine; RE2 accepts it and matches in linear time.
    const { options, errors } = parseLabels({ 'diun.include_tags': '^(a+)+$' }, DEFAULTS);
    expect(errors).toEqual([]);
    expect(options.includeTags).toEqual(['^(a+)+$']);
  });
});

describe('a container with bad labels', () => {
  it('is reported `error` with the label messages, and the others are still checked', async () => {
    const defaults = config().defaults;
    const bad = parseLabels({ 'diun.max_tags': 'abc', 'diun.include_tags': '^v(' }, defaults);
    expect(bad.errors).toEqual([
      'label diun.include_tags: invalid regular expression: missing closing ): `^v(`',
      'label diun.max_tags: expected integer >= 0, got "abc"',
    ]);
    const containers = [
      container({ name: 'bad', ...bad }),
      container({ name: 'good', image: 'docker.io/library/redis:latest' }),
    ];
    const remote = fakeRegistry(() => digest('a'));
    const watcher = new Watcher({
      config: config(),
      providers: [fakeProvider(() => containers)],
      registry: remote.registry,
      store: new StateStore('/nonexistent/state.json', { readOnly: true }),
      hooks: noHooks,
    });
    await watcher.run();
    const states = watcher.snapshot().images.flatMap((image) => image.containers);
    const statusOf = (name: string) => states.find((s) => s.container.name === name);
    expect(statusOf('bad')).toMatchObject({ status: 'error', container: { errors: bad.errors } });
    expect(statusOf('good')?.status).toBe('new');
  });

  it('cannot stall tag matching with a pathological pattern: RE2 returns on a hostile listing', () => {
    // A backtracking engine (JS RegExp) takes seconds on ONE `aaa…a!` tag of 30 characters
    // against (a+)+$, and far longer on 10,000; RE2 is linear. No timing is asserted: a
    // backtracking engine would not finish within the test timeout.
    const { options, errors } = parseLabels(
      { 'diun.include_tags': '(a+)+$', 'diun.exclude_tags': '^(a|aa)+!$', 'diun.max_tags': '0' },
      DEFAULTS,
    );
    expect(errors).toEqual([]);
    const hostile = [
      ...Array.from({ length: 200 }, (_, i) => `${'a'.repeat(30 + (i % 20))}!`),
      `${'a'.repeat(10_000)}!`,
      'a'.repeat(10_000),
      'aaa',
    ];
    expect(filterTags(hostile, options)).toEqual(['aaa', 'a'.repeat(10_000)]);
  });
});
