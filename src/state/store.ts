import { randomBytes } from 'node:crypto';
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { dirname } from 'node:path';
import { z } from 'zod';
import { log } from '../log.js';
import type { WatchedContainer } from '../providers/types.js';
import type { ImageRecord, RunSummary } from './records.js';
import { containerFromV1 } from './upgrade.js';

/**
 * Bumped whenever the file's shape changes; an older file is upgraded as it is read, and a file
 * from a newer version is set aside, not read.
 */
export const stateVersion = 2;

export interface State {
  version: typeof stateVersion;
  savedAt: number;
  images: ImageRecord[];
  /** The containers last seen, so a restart renders the same picture before Docker answers. */
  containers: WatchedContainer[];
  lastRun?: RunSummary;
  /** Unix seconds: the end of the last run in which every provider answered. */
  lastSuccess?: number;
}

/**
 * A state file the exporter may not read (EACCES, EPERM). Starting afresh would hide the
 * permissions mistake and drop every first-seen time, so the exporter refuses to start instead.
 */
export class StateUnreadableError extends Error {}

/** A temporary file name beside the state file that no other process can guess. */
function randomTempName(path: string): string {
  return `${path}.tmp-${randomBytes(8).toString('hex')}`;
}

/**
 * The state file (`db.path`): versioned JSON, written atomically (temporary file, fsync,
 * rename, fsync of the folder) so a kill at any moment leaves the old or the new file whole.
 */
export class StateStore {
  constructor(
    readonly path: string,
    private readonly opts: { readOnly?: boolean; tempName?: (path: string) => string } = {},
  ) {}

  /** The saved state, or undefined when there is none or it is unusable (then kept aside). */
  load(): State | undefined {
    let problem: string;
    try {
      const checked = checkShape(readFileSync(this.path, 'utf8'));
      if (typeof checked !== 'string') return checked;
      problem = checked;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return undefined;
      if (code === 'EACCES' || code === 'EPERM') {
        throw new StateUnreadableError(
          `cannot read the state file ${this.path} (${code}: permission denied). Refusing to ` +
            'start afresh, which would lose when each update was first seen: give the user the ' +
            `exporter runs as${uidText()} read and write access to it and its folder, or move it ` +
            'away to start afresh.',
        );
      }
      // A folder (EISDIR) or an unreadable file is set aside as a bad file is: never fatal.
      problem = `cannot read it (${code ?? String(err)})`;
    }
    if (this.opts.readOnly) {
      log('warn', 'state file unusable, ignored', { path: this.path, problem });
      return undefined;
    }
    const aside = `${this.path}.bad-${Date.now()}`;
    try {
      renameSync(this.path, aside);
    } catch (err) {
      log('warn', 'state file unusable, starting afresh; it could not be kept aside', {
        path: this.path,
        problem,
        error: (err as NodeJS.ErrnoException).code ?? String(err),
      });
      return undefined;
    }
    log('warn', 'state file unusable, starting afresh', { path: this.path, problem, kept: aside });
    return undefined;
  }

  /**
   * Writes `state` atomically. Synchronous, so concurrent callers cannot interleave. The
   * temporary file has a random name and is created exclusively ('wx': O_CREAT|O_EXCL, which
   * also refuses a symlink planted at that name), and it is removed when the write fails.
   */
  save(state: Omit<State, 'version' | 'savedAt'>): void {
    if (this.opts.readOnly) return;
    mkdirSync(dirname(this.path), { recursive: true });
    const tmp = (this.opts.tempName ?? randomTempName)(this.path);
    const fd = openSync(tmp, 'wx', 0o600);
    try {
      try {
        writeState(fd, state);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(tmp, this.path);
    } catch (err) {
      rmSync(tmp, { force: true });
      throw err;
    }
    const dir = openSync(dirname(this.path), 'r');
    try {
      fsyncSync(dir);
    } finally {
      closeSync(dir);
    }
  }
}

// The write buffer of writeState, kept between saves: a save allocates only each row's JSON.
let chunk: Buffer | undefined;
const CHUNK_BYTES = 256 * 1024;

/**
 * Writes what `JSON.stringify({ version, savedAt, ...state })` gives, a row at a time
 * through one reused buffer. At 10,000 images the file is about 10 MiB: built whole, that string
 * and its encoded copy went straight to V8's old space at every save, and grew the heap.
 */
function writeState(fd: number, state: Omit<State, 'version' | 'savedAt'>): void {
  chunk ??= Buffer.allocUnsafe(CHUNK_BYTES);
  const buf = chunk;
  let used = 0;
  const flush = () => {
    for (let at = 0; at < used; ) at += writeSync(fd, buf, at, used - at);
    used = 0;
  };
  const put = (text: string) => {
    if (used + text.length * 3 > CHUNK_BYTES) {
      flush();
      // A row too large for the buffer (never seen: rows are a few KiB) is written on its own.
      if (text.length * 3 > CHUNK_BYTES) {
        const bytes = Buffer.from(text, 'utf8');
        for (let at = 0; at < bytes.length; ) at += writeSync(fd, bytes, at, bytes.length - at);
        return;
      }
    }
    used += buf.write(text, used, 'utf8');
  };
  const { images, containers, ...rest } = state;
  put(`{"version":${JSON.stringify(stateVersion)},"savedAt":${JSON.stringify(Date.now() / 1000)}`);
  const list = (name: string, rows: readonly unknown[]) => {
    put(`,${JSON.stringify(name)}:[`);
    rows.forEach((row, i) => {
      if (i > 0) put(',');
      // As JSON.stringify writes an array element: `null` for what has no JSON form.
      put(JSON.stringify(row) ?? 'null');
    });
    put(']');
  };
  list('images', images);
  list('containers', containers);
  // The remaining keys, in the order the spread gave them, as JSON.stringify writes them.
  const tail = JSON.stringify(rest);
  put(tail === '{}' ? '}' : `,${tail.slice(1)}`);
  flush();
}

function uidText(): string {
  return typeof process.getuid === 'function' ? ` (uid ${process.getuid()})` : '';
}

// What restoring and rendering the state dereference; the rest is left to the writer.
const RecordShape = z.looseObject({
  provider: z.string(),
  image: z.string(),
  status: z.string(),
  updateAvailable: z.boolean(),
  indexes: z.record(z.string(), z.array(z.unknown())).optional(),
  version: z
    .looseObject({ current: z.string(), latest: z.string(), newer: z.boolean(), diff: z.string() })
    .optional(),
});
const ContainerShape = z.looseObject({
  provider: z.string(),
  endpoint: z.string(),
  id: z.string(),
  name: z.string(),
  image: z.string(),
  repoDigests: z.array(z.string()),
  platform: z.looseObject({ os: z.string(), architecture: z.string() }),
  options: z.looseObject({}),
  errors: z.array(z.string()),
  kind: z.enum(['container', 'entry']),
  seriesLabels: z.record(z.string(), z.string()),
  place: z.looseObject({ host: z.string(), group: z.string(), path: z.string() }),
  updateCommand: z.string(),
});
// Version 1 containers: Compose fields, and a `k8s` bag for Kubernetes ones.
const ContainerShapeV1 = ContainerShape.omit({
  kind: true,
  seriesLabels: true,
  place: true,
  updateCommand: true,
}).extend({
  k8s: z.looseObject({ namespace: z.string(), pod: z.string(), owner: z.string() }).optional(),
});
const RunShape = z.looseObject({
  startedAt: z.number(),
  finishedAt: z.number(),
  durationSeconds: z.number(),
  images: z.record(z.string(), z.number()),
  providerErrors: z.array(z.string()),
});
// The rows are checked one at a time, not as part of the whole: zod's parse builds a copy of
// what it checks, and a copy of 10,000 rows built at once lived long enough to be moved to V8's
// old space and grew the heap on every restart, where one row's copy dies young.
const StateShape = z.looseObject({
  images: z.array(z.unknown()),
  containers: z.array(z.unknown()),
  lastRun: RunShape.optional(),
  lastSuccess: z.number().optional(),
});

function checkShape(text: string): State | string {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    return `not valid JSON (${(err as Error).message})`;
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return 'not a JSON object';
  const version = (data as { version?: unknown }).version;
  if (version !== stateVersion && version !== 1) {
    return `version ${String(version)} is not ${stateVersion} (written by another release)`;
  }
  const problem =
    shapeProblem(StateShape, data, []) ??
    rowsProblem(RecordShape, data, 'images') ??
    rowsProblem(version === 1 ? ContainerShapeV1 : ContainerShape, data, 'containers');
  if (problem !== undefined) return problem;
  if (version === 1) {
    const old = data as Omit<State, 'version'> & {
      containers: Parameters<typeof containerFromV1>[0][];
    };
    return { ...old, version: stateVersion, containers: old.containers.map(containerFromV1) };
  }
  return data as State;
}

/** Where and why `value` is not of `shape`, as the load's warning says it, or undefined. */
function shapeProblem(shape: z.ZodType, value: unknown, at: PropertyKey[]): string | undefined {
  const checked = shape.safeParse(value);
  if (checked.success) return undefined;
  const issue = checked.error.issues[0];
  const where = [...at, ...(issue?.path ?? [])].map((k) =>
    typeof k === 'number' ? `[${k}]` : `.${String(k)}`,
  );
  return `unexpected content at ${where.join('').replace(/^\./, '') || 'the top'}: ${issue?.message ?? 'invalid'}`;
}

/** The first problem of the rows of `data[key]` (an array, checked before), or undefined. */
function rowsProblem(shape: z.ZodType, data: unknown, key: string): string | undefined {
  const rows = (data as Record<string, unknown[]>)[key] ?? [];
  for (let i = 0; i < rows.length; i++) {
    const problem = shapeProblem(shape, rows[i], [key, i]);
    if (problem !== undefined) return problem;
  }
  return undefined;
}
