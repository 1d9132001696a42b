/**
 * A small structured logger: one logfmt line per event on stderr, so `docker logs` stays readable
 * and a log shipper can parse it. Callers pass facts, never secrets: nothing here redacts.
 */
import { bounded } from './bound.js';

type Level = 'debug' | 'info' | 'warn' | 'error';
const order: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

let threshold: Level = parseLevel(process.env.LOG_LEVEL);
/** Where lines go unless redirected: stderr, one line each. */
export const stderrSink = (line: string): void => {
  process.stderr.write(`${line}\n`);
};
let sink: (line: string) => void = stderrSink;

function parseLevel(value: string | undefined): Level {
  const v = (value ?? 'info').toLowerCase();
  return v === 'debug' || v === 'warn' || v === 'error' ? v : 'info';
}

/** The longest field value a log line carries; a longer one is cut (see bound.ts). */
const MAX_FIELD_LENGTH = 2048;

function quote(value: unknown): string {
  const s = bounded(value instanceof Error ? value.message : String(value), MAX_FIELD_LENGTH);
  return /^[\w.:/@+-]+$/.test(s) ? s : JSON.stringify(s);
}

/** Writes one line if `level` passes LOG_LEVEL. */
export function log(level: Level, msg: string, fields: Record<string, unknown> = {}): void {
  if (order[level] < order[threshold]) return;
  const parts = [`time=${new Date().toISOString()}`, `level=${level}`, `msg=${quote(msg)}`];
  for (const [k, v] of Object.entries(fields)) {
    if (v !== undefined) parts.push(`${k}=${quote(v)}`);
  }
  sink(parts.join(' '));
}

/** Redirects log lines (tests capture them to search for secrets) and sets the level. */
export function configureLog(opts: { level?: string; sink?: (line: string) => void }): void {
  if (opts.level) threshold = parseLevel(opts.level);
  if (opts.sink) sink = opts.sink;
}
