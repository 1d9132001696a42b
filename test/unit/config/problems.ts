import { ConfigError } from '../../../src/config/load.js';

/** The problem lines a config load reports; fails when the load succeeds or throws otherwise. */
export function problemsOf(load: () => unknown): string[] {
  try {
    load();
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}
