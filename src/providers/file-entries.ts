// Diun's file format: one YAML list of images, each entry read as the `diun.*` labels a
// container would carry, so files and labels are validated by the same rules.
import { regexpProblem } from '../config/fields.js';
import { type ImageOptions, parseLabels } from '../config/labels.js';
import { formatKeyPath } from '../config/problems.js';
import type { ImageDefaults } from '../config/schema.js';
import { hostArchitecture } from '../registry/platform.js';
import { composePresentation, type Listed, readReference } from './common.js';
import { shareDefaults } from './entry-options.js';
import type { WatchedContainer } from './types.js';
import { parseYaml } from './yaml-list.js';

const ENTRY_KEYS = new Set([
  'name',
  'regopt',
  'notify_on',
  'watch_repo',
  'sort_tags',
  'max_tags',
  'include_tags',
  'exclude_tags',
  'hub_link',
  'hub_tpl',
  'release_url',
  'platform',
  'metadata',
]);
const PLATFORM_KEYS = new Set(['os', 'arch', 'variant']);
/**
 * One file's entries; `problems` (bad YAML, not a list, unknown keys, no name) make the whole
 * file unusable, while a bad value is kept in its entry's `errors`.
 */
export function parseFile(
  source: { name: string; text?: string },
  defaults: ImageDefaults,
): { entries: WatchedContainer[]; problems: string[] } {
  let doc: unknown;
  try {
    // Warnings are dropped (they would bypass the log); errors throw and are reported.
    doc = parseYaml(source.text ?? '');
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    return { entries: [], problems: [message.split('\n')[0]!.replace(/:$/, '')] };
  }
  if (doc === null || doc === undefined) return { entries: [], problems: [] };
  if (!Array.isArray(doc)) return { entries: [], problems: ['expected a list of images'] };
  const problems = doc.flatMap((item: unknown, i) => structureProblems(item, i));
  if (problems.length > 0) return { entries: [], problems };
  const entries = doc.map((item: Record<string, unknown>, i) =>
    toWatched(
      detach(item),
      // Joined: a template's cons string kept a second, flattened copy (32 bytes per entry).
      [source.name, '#', i].join(''),
      (path, message) => `${source.name}: ${formatKeyPath([i, ...path])}: ${message}`,
      defaults,
    ),
  );
  return { entries, problems: [] };
}

function structureProblems(item: unknown, i: number): string[] {
  const at = (path: PropertyKey[], message: string) => `${formatKeyPath([i, ...path])}: ${message}`;
  if (!isMapping(item)) return [at([], 'expected a mapping')];
  const problems = Object.keys(item)
    .filter((k) => !ENTRY_KEYS.has(k))
    .map((k) => at([k], 'unknown key'));
  if (!isText(item.name) || item.name === '') problems.push(at(['name'], 'required'));
  const { platform } = item;
  if (platform !== undefined && platform !== null) {
    if (!isMapping(platform)) problems.push(at(['platform'], 'expected a mapping'));
    else {
      for (const k of Object.keys(platform).filter((k) => !PLATFORM_KEYS.has(k))) {
        problems.push(at(['platform', k], 'unknown key'));
      }
    }
  }
  return problems;
}

function toWatched(
  item: Record<string, unknown>,
  id: string,
  at: (path: PropertyKey[], message: string) => string,
  defaults: ImageDefaults,
): WatchedContainer {
  const name = String(item.name);
  const { labels, errors } = toLabels(item, at);
  const parsed = parseLabels(labels, defaults);
  // parseLabels names labels (`label diun.max_tags: ...`); the file's readers know keys.
  errors.push(
    ...parsed.errors.map((e) => {
      const m = /^label diun\.([^:]+): (.*?)(?:, got ".*")?$/s.exec(e);
      return m ? at(m[1]!.split('.'), m[2]!) : at([], e);
    }),
  );
  // Copied key by key onto a new object, not spread: a spread's copy cannot take V8's frozen
  // transition, so each frozen entry of 10,000 got its own hidden class (about 0.6 KiB each).
  let options: ImageOptions = Object.assign({}, parsed.options);
  for (const key of ['include_tags', 'exclude_tags'] as const) {
    const patterns = readPatterns(item[key], [key], at, errors);
    if (patterns === undefined) continue;
    if (key === 'include_tags') options.includeTags = patterns;
    else options.excludeTags = patterns;
  }
  options = shareDefaults(options, defaults);
  const watched: Listed = {
    provider: 'file',
    endpoint: 'file',
    id,
    name,
    image: name,
    imageId: '',
    repoDigests: NONE,
    platform: platformOf(options.platform),
    state: 'file',
    kind: 'entry',
    options,
    errors,
  };
  readReference(
    watched,
    name,
    (ref) => {
      if (ref.digest === undefined) return;
      if (ref.tag === undefined) watched.skip = 'pinned by digest';
      else watched.pinnedDigest = ref.digest;
    },
    { tagOnly: true, describe: (message) => at(['name'], message) },
  );
  // A name written as its normalised reference (the usual way in a long list) is the same
  // text twice: one string (48 bytes per entry at 10,000). Assigned in place: the key order of
  // the entry (the state file's) stays.
  if (watched.name === watched.image) watched.name = watched.image;
  if (watched.errors.length === 0) watched.errors = NONE;
  // No Compose project: shown by name, updated by whatever deploys it; a pull gets the image.
  // Assigned, not spread: `{ ...watched, ...presentation }` gave nearly every entry a hidden
  // class of its own (about 0.45 KiB each at 10,000 entries).
  return Object.assign({}, watched, composePresentation(watched, '', '')) as WatchedContainer;
}

/** The entry as the `diun.*` labels a container would carry, so parseLabels validates it. */
function toLabels(
  item: Record<string, unknown>,
  at: (path: PropertyKey[], message: string) => string,
): { labels: Record<string, string>; errors: string[] } {
  const labels: Record<string, string> = {};
  const errors: string[] = [];
  const single = [
    'regopt',
    'watch_repo',
    'sort_tags',
    'max_tags',
    'hub_link',
    'hub_tpl',
    'release_url',
  ] as const;
  for (const key of single) {
    const value = item[key];
    if (value === undefined || value === null) continue;
    if (isScalar(value)) labels[`diun.${key}`] = String(value);
    else errors.push(at([key], 'expected a single value'));
  }
  const notifyOn = item.notify_on;
  if (Array.isArray(notifyOn) && notifyOn.every(isScalar)) {
    labels['diun.notify_on'] = notifyOn.map(String).join(';');
  } else if (isScalar(notifyOn)) labels['diun.notify_on'] = String(notifyOn);
  else if (notifyOn !== undefined && notifyOn !== null) {
    errors.push(at(['notify_on'], 'expected a list'));
  }
  if (isMapping(item.platform)) {
    const { os = 'linux', arch = hostArchitecture(), variant } = item.platform;
    labels['diun.platform'] = [os, arch, ...(variant ? [variant] : [])].map(String).join('/');
  }
  const { metadata } = item;
  if (isMapping(metadata)) {
    for (const [k, v] of Object.entries(metadata)) {
      if (isScalar(v)) labels[`diun.metadata.${k}`] = String(v);
      else errors.push(at(['metadata', k], 'expected a single value'));
    }
  } else if (metadata !== undefined && metadata !== null) {
    errors.push(at(['metadata'], 'expected a mapping'));
  }
  return { labels, errors };
}

// A list, not `;`-separated text as in a label, so a pattern may contain `;`.
function readPatterns(
  value: unknown,
  path: PropertyKey[],
  at: (path: PropertyKey[], message: string) => string,
  errors: string[],
): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  const items = Array.isArray(value) ? value : [value];
  const problems: string[] = [];
  items.forEach((p: unknown, j) => {
    const problem = isText(p) ? regexpProblem(String(p)) : 'expected a string';
    if (problem !== undefined) problems.push(at([...path, j], problem));
  });
  errors.push(...problems);
  return problems.length === 0 ? items.map(String).filter((p) => p !== '') : undefined;
}

// What entries share where nothing is their own (each of these was 32-40 bytes per entry):
// frozen, so a reader that writes to one fails loudly rather than changing every entry.
const NONE: string[] = [];
Object.freeze(NONE);
const platforms = new Map<string | undefined, WatchedContainer['platform']>();

/** The platform of `diun.platform` (the host's when unset), one frozen object per platform. */
function platformOf(platform: string | undefined): WatchedContainer['platform'] {
  const known = platforms.get(platform);
  if (known !== undefined) return known;
  const [os = 'linux', architecture = hostArchitecture(), variant] = platform?.split('/') ?? [];
  const made = Object.freeze(
    variant === undefined ? { os, architecture } : { os, architecture, variant },
  );
  // Bounded: a file of many platforms makes an object for each entry past these.
  if (platforms.size < 32) platforms.set(platform, made);
  return made;
}

/**
 * `value` with its strings copied out of the YAML text, in place, down to the depth an entry
 * reads (its keys, and the items of its lists and mappings; an alias may make deeper ones
 * cyclic). The parser's strings are slices of the text: a name kept by an entry kept the whole
 * file (0.4 MiB at 10,000 entries). A copy through JSON keeps every UTF-16 unit.
 */
function detach<T>(value: T, depth = 2): T {
  if (typeof value === 'string') return JSON.parse(JSON.stringify(value)) as T;
  if (typeof value === 'object' && value !== null && depth > 0) {
    const record = value as Record<string, unknown>;
    for (const key of Object.keys(record)) record[key] = detach(record[key], depth - 1);
  }
  return value;
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isScalar(value: unknown): value is string | number | boolean {
  return ['string', 'number', 'boolean'].includes(typeof value);
}

function isText(value: unknown): value is string | number {
  return typeof value === 'string' || typeof value === 'number';
}
