import { type FSWatcher, watch } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { parse } from 'yaml';
import { regexpProblem } from '../config/fields.js';
import { type ImageOptions, parseLabels } from '../config/labels.js';
import { describeReadError, formatKeyPath } from '../config/problems.js';
import type { Config, ImageDefaults } from '../config/schema.js';
import { log } from '../log.js';
import { formatReference, parseReference } from '../registry/reference.js';
import type { EndpointStatus, Provider, WatchedContainer } from './types.js';

type FileConfig = NonNullable<Config['providers']['file']>;

/** One file as read: its name and text, or why it could not be read. */
interface Source {
  name: string;
  text?: string;
  error?: string;
}

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
  'platform',
  'metadata',
]);
const PLATFORM_KEYS = new Set(['os', 'arch', 'variant']);
// Node's process.arch as Docker names architectures.
const DOCKER_ARCH: Record<string, string> = {
  x64: 'amd64',
  arm64: 'arm64',
  arm: 'arm',
  ia32: '386',
  ppc64: 'ppc64le',
};
const YAML_FILE = /\.ya?ml$/;
const debounceMs = 200;
const rearmMs = 5_000;
const settleMs = 50;
const settleTries = 5;

/**
 * Diun's file provider: the images listed in one YAML file, or in every `*.yml` and `*.yaml` of a
 * folder. Each entry is watched as its registry tag, compared with its pinned or first digest.
 */
export class FileProvider implements Provider {
  readonly name = 'file';
  private up = false;
  private error: string | undefined = 'not read yet';
  // What the last list() read and made of it: re-parsed only when some text changed.
  private signature: string | undefined;
  private entries: WatchedContainer[] = [];
  private warned = new Set<string>();
  private readonly listeners: Array<() => void> = [];
  private watcher: FSWatcher | undefined;
  private debounce: NodeJS.Timeout | undefined;
  private rearm: NodeJS.Timeout | undefined;
  private watchFailing = false;
  private closed = false;

  constructor(
    private readonly config: FileConfig,
    private readonly defaults: ImageDefaults,
  ) {}

  async list(): Promise<WatchedContainer[]> {
    let sources = await this.read();
    let signature = JSON.stringify(sources);
    // A file caught in the middle of an in-place write may parse as fewer entries, and an entry
    // dropped even for one list loses its first digest: take a changed text once it holds still.
    for (let tries = 0; signature !== this.signature && tries < settleTries; tries++) {
      await new Promise((resolve) => setTimeout(resolve, settleMs));
      const previous = signature;
      sources = await this.read();
      signature = JSON.stringify(sources);
      if (signature === previous) break;
    }
    if (signature !== this.signature) {
      this.signature = signature;
      this.load(sources);
    }
    return this.up ? structuredClone(this.entries) : [];
  }

  subscribe(onChange: () => void): void {
    this.listeners.push(onChange);
    if (this.listeners.length === 1) this.arm();
  }

  status(): EndpointStatus[] {
    return [{ provider: 'file', endpoint: 'file', up: this.up, error: this.error }];
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.debounce);
    clearTimeout(this.rearm);
    this.watcher?.close();
  }

  /** The files to read now: the one file, or the folder's YAML files in name order. */
  private async read(): Promise<Source[]> {
    const { filename, directory } = this.config;
    if (filename !== undefined) return [await readSource(filename)];
    const dir = directory!;
    let names: string[];
    try {
      names = (await readdir(dir)).filter((n) => YAML_FILE.test(n)).sort();
    } catch (err) {
      return [{ name: basename(dir), error: describeReadError(err) }];
    }
    const sources = await Promise.all(
      names.map(async (n) => {
        // A folder named x.yml is not a file to read; a symlink to a file is (ConfigMaps).
        const isFile = await stat(join(dir, n)).then(
          (s) => s.isFile(),
          () => true,
        );
        return isFile ? readSource(join(dir, n)) : undefined;
      }),
    );
    return sources.filter((s): s is Source => s !== undefined);
  }

  private load(sources: Source[]): void {
    const entries: WatchedContainer[] = [];
    const fileProblems: string[] = [];
    for (const source of sources) {
      const parsed = source.error === undefined ? parseFile(source, this.defaults) : undefined;
      if (parsed === undefined || parsed.problems.length > 0) {
        const problems = parsed?.problems ?? [source.error!];
        fileProblems.push(...problems.map((p) => `${source.name}: ${p}`));
      } else entries.push(...parsed.entries);
    }
    this.entries = entries;
    const wasUp = this.up;
    this.up = fileProblems.length === 0;
    this.error = this.up ? undefined : fileProblems.join('; ');
    if (this.up !== wasUp || !this.up) {
      log(this.up ? 'info' : 'warn', this.up ? 'file provider up' : 'file provider down', {
        error: this.error,
      });
    }
    // Each entry problem is said once, not at every list while it lasts.
    const problems = new Set(entries.flatMap((e) => e.errors));
    for (const p of problems) {
      if (!this.warned.has(p)) log('warn', 'file provider entry problem', { error: p });
    }
    this.warned = problems;
  }

  /** Watches the folder (a file's parent: editors replace files by renaming over them). */
  private arm(): void {
    if (this.closed) return;
    const { filename, directory } = this.config;
    const dir = filename !== undefined ? dirname(filename) : directory!;
    try {
      this.watcher = watch(dir, { persistent: false }, () => {
        clearTimeout(this.debounce);
        this.debounce = setTimeout(() => void this.changed(), debounceMs);
      });
      this.watcher.on('error', (err) => {
        this.watcher?.close();
        this.retryArm(dir, err);
      });
      this.watchFailing = false;
    } catch (err) {
      this.retryArm(dir, err);
    }
  }

  private retryArm(dir: string, err: unknown): void {
    // Said once, not at every retry while the folder is missing.
    if (!this.watchFailing) log('warn', 'file provider cannot watch', { path: dir, error: err });
    this.watchFailing = true;
    this.watcher = undefined;
    this.rearm = setTimeout(() => {
      this.arm();
      void this.changed(); // whatever happened while unwatched
    }, rearmMs);
    this.rearm.unref();
  }

  // Other files in the folder (the state file, swap files) change too: only a change of what
  // list() would read is worth a refresh.
  private async changed(): Promise<void> {
    if (this.closed) return;
    const signature = JSON.stringify(await this.read());
    if (signature === this.signature) return;
    for (const onChange of this.listeners) onChange();
  }
}

async function readSource(path: string): Promise<Source> {
  try {
    return { name: basename(path), text: await readFile(path, 'utf8') };
  } catch (err) {
    return { name: basename(path), error: describeReadError(err) };
  }
}

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
    // logLevel error: YAML warnings would bypass the log; errors throw and are reported.
    doc = parse(source.text ?? '', { logLevel: 'error' });
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
      item,
      `${source.name}#${i}`,
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
  const options: ImageOptions = { ...parsed.options };
  for (const key of ['include_tags', 'exclude_tags'] as const) {
    const patterns = readPatterns(item[key], [key], at, errors);
    if (patterns === undefined) continue;
    if (key === 'include_tags') options.includeTags = patterns;
    else options.excludeTags = patterns;
  }
  const watched: WatchedContainer = {
    provider: 'file',
    endpoint: 'file',
    id,
    name,
    image: name,
    imageId: '',
    repoDigests: [],
    platform: platformOf(options.platform),
    state: 'file',
    composeProject: '',
    composeService: '',
    options,
    entry: true,
    errors,
  };
  try {
    const ref = parseReference(name);
    watched.image = formatReference({ ...ref, digest: undefined });
    if (ref.digest !== undefined) {
      if (ref.tag === undefined) watched.skip = 'pinned by digest';
      else watched.pinnedDigest = ref.digest;
    }
  } catch (err) {
    errors.push(at(['name'], err instanceof Error ? err.message : String(err)));
    watched.skip = 'invalid reference';
  }
  return watched;
}

/** The entry as the `diun.*` labels a container would carry, so parseLabels validates it. */
function toLabels(
  item: Record<string, unknown>,
  at: (path: PropertyKey[], message: string) => string,
): { labels: Record<string, string>; errors: string[] } {
  const labels: Record<string, string> = {};
  const errors: string[] = [];
  for (const key of ['regopt', 'watch_repo', 'sort_tags', 'max_tags', 'hub_link'] as const) {
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
    const { os = 'linux', arch = hostArch(), variant } = item.platform;
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

function platformOf(platform: string | undefined): WatchedContainer['platform'] {
  if (platform === undefined) return { os: 'linux', architecture: hostArch() };
  const [os = 'linux', architecture = hostArch(), variant] = platform.split('/');
  return variant === undefined ? { os, architecture } : { os, architecture, variant };
}

function hostArch(): string {
  return DOCKER_ARCH[process.arch] ?? process.arch;
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
