import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/load.js';

/** The problem lines a config load reports; fails when the load succeeds or throws otherwise. */
export function problemsOfLoad(load: () => unknown, opts: { messageListsThem?: boolean } = {}) {
  try {
    load();
  } catch (error) {
    if (error instanceof ConfigError) {
      if (opts.messageListsThem) expect(error.message).toBe(error.problems.join('\n'));
      return error.problems;
    }
    throw error;
  }
  throw new Error('expected a ConfigError');
}

export interface ConfigFilesOptions {
  /** Each file is `<stem>-<n>.yml`. */
  stem?: string;
  /** Also check that the ConfigError's message is its problems, one a line. */
  messageListsThem?: boolean;
}

/** Writes numbered config files into `dir` and loads them, as `serve` and `validate` would. */
export function configFiles(
  dir: string,
  { stem = 'diun', messageListsThem }: ConfigFilesOptions = {},
) {
  let files = 0;
  /** Writes `content` to a new file in the folder (or to `name`) and returns its path. */
  function write(content: string, name = `${stem}-${++files}.yml`): string {
    const file = join(dir, name);
    writeFileSync(file, content);
    return file;
  }
  /** Loads `yaml` from a new file, with `env` as the process environment. */
  function load(yaml: string, env: NodeJS.ProcessEnv = {}) {
    return loadConfig(write(yaml), env);
  }
  /** The problems loading `yaml` reports; fails when it loads. */
  function problemsOf(yaml: string, env: NodeJS.ProcessEnv = {}): string[] {
    return problemsOfLoad(() => load(yaml, env), { messageListsThem });
  }
  return { write, load, problemsOf };
}
