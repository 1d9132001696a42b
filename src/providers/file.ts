import { createHash } from 'node:crypto';
import { type FSWatcher, watch } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { describeReadError } from '../config/problems.js';
import type { Config, ImageDefaults } from '../config/schema.js';
import { log } from '../log.js';
import { OnceWarnings } from './common.js';
import { parseFile } from './file-entries.js';
import { EndpointHealth } from './health.js';
import type { EndpointStatus, Provider, WatchedContainer } from './types.js';

type FileConfig = NonNullable<Config['providers']['file']>;

/** One file as read: its name and text, or why it could not be read. */
interface Source {
  name: string;
  text?: string;
  error?: string;
}

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
  private readonly health = new EndpointHealth('file', 'file');
  // What the last list() read (as signatureOf gives it) and made of it: re-parsed only when
  // some text changed.
  private signature: string | undefined;
  private entries: WatchedContainer[] = [];
  private readonly warnings = new OnceWarnings('file provider entry problem');
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
    let signature = signatureOf(sources);
    // A file caught in the middle of an in-place write may parse as fewer entries, and an entry
    // dropped even for one list loses its first digest: take a changed text once it holds still.
    for (let tries = 0; signature !== this.signature && tries < settleTries; tries++) {
      await new Promise((resolve) => setTimeout(resolve, settleMs));
      const previous = signature;
      sources = await this.read();
      signature = signatureOf(sources);
      if (signature === previous) break;
    }
    if (signature !== this.signature) {
      this.signature = signature;
      this.load(sources);
    }
    return this.health.status().up ? [...this.entries] : [];
  }

  subscribe(onChange: () => void): void {
    this.listeners.push(onChange);
    if (this.listeners.length === 1) this.arm();
  }

  status(): EndpointStatus[] {
    return [this.health.status()];
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
    // Frozen, so the same entries can be handed out at every list: a copy per list was 15 MiB
    // of garbage, and a second set of 10,000 entries held, at 10,000 images.
    this.entries = entries.map(deepFreeze);
    // Read again only when some text changed: a different problem is news, and is said.
    if (fileProblems.length === 0) this.health.mark(true);
    else this.health.mark(false, fileProblems.join('; '), { sayNewError: true });
    // An entry's problems name its file and place, so the problem alone identifies it.
    this.warnings.reportErrors(this.entries, () => ({ key: '', fields: {} }));
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
    const signature = signatureOf(await this.read());
    if (signature === this.signature) return;
    for (const onChange of this.listeners) onChange();
  }
}

/**
 * What tells one reading from another: a hash of the names, texts and errors, not the text
 * itself, which was held between lists (as much as the files: 0.4 MiB at 10,000 entries).
 */
function signatureOf(sources: Source[]): string {
  return createHash('sha256').update(JSON.stringify(sources)).digest('base64');
}

async function readSource(path: string): Promise<Source> {
  try {
    return { name: basename(path), text: await readFile(path, 'utf8') };
  } catch (err) {
    return { name: basename(path), error: describeReadError(err) };
  }
}

/** Freezes an object and everything in it: a consumer that writes to an entry fails loudly. */
function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
