import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  writeSync,
} from 'node:fs';
import { dirname } from 'node:path';
import { log } from '../log.js';
import type { WatchedContainer } from '../providers/types.js';
import type { ImageRecord, RunSummary } from '../watch/model.js';

/** Bumped whenever the file's shape changes; a file from a newer version is set aside, not read. */
export const stateVersion = 1;

export interface State {
  version: typeof stateVersion;
  savedAt: number;
  images: ImageRecord[];
  /** The containers last seen, so a restart renders the same picture before Docker answers. */
  containers: WatchedContainer[];
  lastRun?: RunSummary;
}

/**
 * The state file (`db.path`): versioned JSON, written atomically (temporary file, fsync,
 * rename, fsync of the folder) so a kill at any moment leaves the old or the new file whole.
 */
export class StateStore {
  constructor(
    readonly path: string,
    private readonly opts: { readOnly?: boolean } = {},
  ) {}

  /** The saved state, or undefined when there is none or it is unusable (then kept aside). */
  load(): State | undefined {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    const problem = checkShape(text);
    if (typeof problem === 'string') {
      if (this.opts.readOnly) return undefined;
      const aside = `${this.path}.bad-${Date.now()}`;
      renameSync(this.path, aside);
      log('warn', 'state file unusable, starting afresh', {
        path: this.path,
        problem,
        kept: aside,
      });
      return undefined;
    }
    return problem;
  }

  /** Writes `state` atomically. Synchronous, so concurrent callers cannot interleave. */
  save(state: Omit<State, 'version' | 'savedAt'>): void {
    if (this.opts.readOnly) return;
    mkdirSync(dirname(this.path), { recursive: true });
    const tmp = `${this.path}.tmp-${process.pid}`;
    const body = JSON.stringify({ version: stateVersion, savedAt: Date.now() / 1000, ...state });
    const fd = openSync(tmp, 'w', 0o600);
    try {
      writeSync(fd, body);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.path);
    const dir = openSync(dirname(this.path), 'r');
    try {
      fsyncSync(dir);
    } finally {
      closeSync(dir);
    }
  }
}

function checkShape(text: string): State | string {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    return `not valid JSON (${(err as Error).message})`;
  }
  if (typeof data !== 'object' || data === null) return 'not a JSON object';
  const state = data as Partial<State>;
  if (state.version !== stateVersion) {
    return `version ${String(state.version)} is not ${stateVersion} (written by another release)`;
  }
  if (!Array.isArray(state.images) || !Array.isArray(state.containers)) {
    return 'images or containers missing';
  }
  return state as State;
}
