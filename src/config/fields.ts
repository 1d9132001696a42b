// Field schemas shared by the config sections. Diun reads every value as text (its loader
// flattens YAML and environment alike into strings), so numbers and booleans are accepted as
// strings too: `${WORKERS:-10}` and DIUN_WATCH_WORKERS=20 must work as well as `workers: 10`.
import { Cron } from 'croner';
import { RE2JS } from 're2js';
import { z } from 'zod';
import { parseDuration } from './duration.js';

// strconv.ParseBool, which Diun uses for every boolean.
const TRUE_WORDS = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);
const FALSE_WORDS = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False']);

/** Go's strconv.ParseBool: the boolean, or undefined when the text is not one. */
export function parseGoBool(text: string): boolean | undefined {
  if (TRUE_WORDS.has(text)) return true;
  if (FALSE_WORDS.has(text)) return false;
  return undefined;
}

/** Missing, `key:` with no value, or `${VAR:-}` with VAR unset: not set. */
export function isUnset(value: unknown): boolean {
  return value === undefined || value === null || value === '';
}

/** A YAML `key:` with no value means "not set". */
function nullAsUnset(value: unknown): unknown {
  return value === null ? undefined : value;
}

function numberAsText(value: unknown): unknown {
  return typeof value === 'number' || typeof value === 'boolean' ? String(value) : value;
}

/** A boolean with a default; accepts Go's boolean words. */
export function bool(defaultValue: boolean) {
  return z.preprocess(toBoolean, z.boolean().default(defaultValue));
}

/** A boolean without a default, for keys whose presence matters. */
export function optionalBool() {
  return z.preprocess(toBoolean, z.boolean().optional());
}

function toBoolean(value: unknown): unknown {
  if (typeof value !== 'string') return nullAsUnset(value);
  return parseGoBool(value) ?? value;
}

/** An integer >= min with a default; accepts decimal text. */
export function int(min: number, defaultValue: number) {
  const error = `expected integer >= ${min}`;
  return z.preprocess(
    (value) =>
      typeof value === 'string' && /^[+-]?\d+$/.test(value) ? Number(value) : nullAsUnset(value),
    z.number({ error }).int({ error }).min(min, { error }).default(defaultValue),
  );
}

/** A required string (numbers written bare in YAML count as text, as in Diun). */
export function text() {
  return z.preprocess(numberAsText, z.string());
}

/** A required, non-empty string. */
export function name() {
  return z.preprocess(numberAsText, z.string().min(1, { error: 'must not be empty' }));
}

/** A string with a default; empty or missing takes the default. */
export function textWithDefault(defaultValue: string) {
  return z.preprocess(
    (value) => (value === '' ? undefined : nullAsUnset(numberAsText(value))),
    z.string().default(defaultValue),
  );
}

/** An optional string; empty (`${VAR:-}` with VAR unset) counts as not set. */
export function optionalText() {
  return z.preprocess(
    (value) => (value === '' ? undefined : nullAsUnset(numberAsText(value))),
    z.string().optional(),
  );
}

/** A list with a default; `key:` with no value is the default. */
export function list<T extends z.ZodType>(item: T, defaultValue: z.output<T>[]) {
  return z.preprocess(nullAsUnset, z.array(item).default(defaultValue));
}

/** A list of RE2 patterns, each compiled now so a bad one is reported at load time. */
export function patternList() {
  const pattern = text().superRefine((source, ctx) => {
    const problem = regexpProblem(source);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
  });
  return list(pattern, []);
}

/** Why an RE2 pattern does not compile, or undefined when it does. */
export function regexpProblem(source: string): string | undefined {
  try {
    RE2JS.compile(source);
    return undefined;
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return `invalid regular expression: ${reason.replace(/^error parsing regexp: /, '')}`;
  }
}

/** A Go duration as milliseconds, at least `min` ms. */
export function duration(defaultMs: number, min: { ms: number; label: string }) {
  const checked = z.string().transform((source, ctx) => {
    try {
      const ms = parseDuration(source);
      if (ms >= min.ms) return ms;
      ctx.addIssue({ code: 'custom', message: `invalid duration "${source}": ${min.label}` });
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: (error as Error).message });
    }
    return z.NEVER;
  });
  return z.preprocess((value) => nullAsUnset(numberAsText(value)), checked.default(defaultMs));
}

/** A cron expression of 5 or 6 fields (seconds optional), or '' for "no schedule". */
export function cron() {
  return textWithDefault('')
    .transform((expression) => NICKNAME_ALIASES[expression.trim().toLowerCase()] ?? expression)
    .superRefine((expression, ctx) => {
      const problem = cronProblem(expression);
      if (problem !== undefined) {
        ctx.addIssue({
          code: 'custom',
          message: `invalid cron expression "${expression}": ${problem}`,
        });
      }
    });
}

// Nicknames Diun's cron (robfig/cron) knows and croner does not.
const NICKNAME_ALIASES: Record<string, string> = { '@midnight': '@daily' };
const NICKNAMES = ['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly'];
// croner's fields, seconds first (it adds "0" seconds to a 5-field expression).
const CRON_FIELDS = ['second', 'minute', 'hour', 'day-of-month', 'month', 'day-of-week'];

function cronProblem(expression: string): string | undefined {
  if (expression === '') return undefined;
  if (expression.startsWith('@every')) return '@every is not supported, write a cron expression';
  if (expression.startsWith('@') && !NICKNAMES.includes(expression.trim().toLowerCase())) {
    return `unknown nickname, expected one of ${NICKNAMES.join(', ')}`;
  }
  const fields = expression.trim().split(/\s+/).length;
  if (!expression.startsWith('@') && fields !== 5 && fields !== 6) {
    return `expected 5 or 6 fields, got ${fields}`;
  }
  try {
    new Cron(expression, { paused: true }).stop();
    return undefined;
  } catch (error) {
    const message = (error as Error).message.replace(/^CronPattern: /, '');
    // "configuration entry 2 (noon) contains illegal characters." counts from the seconds.
    const illegal = /^configuration entry (\d) \((.*)\) contains illegal characters\.$/.exec(
      message,
    );
    if (illegal === null) return message;
    return `illegal characters in the ${CRON_FIELDS[Number(illegal[1])] ?? 'a'} field: "${illegal[2]}"`;
  }
}

const ENDPOINT_SCHEMES = /^(unix|tcp|https?):\/\/./;

const ENDPOINT_ERROR = 'expected a unix://, tcp://, http:// or https:// address';

/** A Docker daemon address, in a scheme Docker clients understand on Linux. */
export function endpoint() {
  return text().refine((address) => ENDPOINT_SCHEMES.test(address), { error: ENDPOINT_ERROR });
}

/** An optional Docker daemon address. */
export function optionalEndpoint() {
  return optionalText().refine(
    (address) => address === undefined || ENDPOINT_SCHEMES.test(address),
    { error: ENDPOINT_ERROR },
  );
}

/** A mapping that defaults to {} (so its keys take their defaults); `key:` with no value too. */
export function section<T extends z.ZodType>(schema: T) {
  return z.preprocess((value) => value ?? {}, schema);
}

/** A mapping that may be absent; `key:` with no value enables it with its defaults, as in Diun. */
export function optionalSection<T extends z.ZodType>(schema: T) {
  return z.preprocess((value) => (value === null ? {} : value), schema.optional());
}

/** For checks that must run even when other keys of the mapping are wrong, so all is reported. */
export const evenWithOtherProblems = {
  when: (payload: { value: unknown }) => isMapping(payload.value),
};

/** Whether `value` is an http:// or https:// URL with no query string. */
export function isHttpUrl(value: string): boolean {
  if (!URL.canParse(value)) return false;
  const url = new URL(value);
  return (url.protocol === 'http:' || url.protocol === 'https:') && url.search === '';
}

/**
 * An optional http:// or https:// URL with no query string; `error` is the whole message. The
 * value is never quoted back: a URL may carry credentials.
 */
export function httpUrl(error: string) {
  return optionalText().refine((value) => value === undefined || isHttpUrl(value), { error });
}

/** Reports `key` as required (with `what` it should hold) when the mapping lacks it. */
export function requiredKey(key: string, what: string) {
  return z.superRefine((mapping: Record<string, unknown>, ctx) => {
    if (mapping[key] === undefined) {
      ctx.addIssue({ code: 'custom', path: [key], message: `required: ${what}` });
    }
  }, evenWithOtherProblems);
}

/**
 * Reports `other` (by default `<plain>File`) when `plain` is given too: for a secret and its
 * file, the loader reads neither.
 */
export function notBoth(plain: string, other = `${plain}File`) {
  return z.superRefine((mapping: Record<string, unknown>, ctx) => {
    if (mapping[plain] !== undefined && mapping[other] !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: [other],
        message: `cannot be used together with ${plain}`,
      });
    }
  }, evenWithOtherProblems);
}

/** Whether a raw value is a YAML mapping (a plain object). */
export function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Reports, on the later item, every `name` used twice in a list. */
export const uniqueNames = z.superRefine(
  (items: unknown[], ctx) => {
    const seen = new Set<string>();
    items.forEach((item, index) => {
      const itemName = isMapping(item) ? item.name : undefined;
      if (typeof itemName !== 'string') return;
      if (seen.has(itemName)) {
        ctx.addIssue({
          code: 'custom',
          path: [index, 'name'],
          message: `duplicate name "${itemName}"`,
        });
      }
      seen.add(itemName);
    });
  },
  { when: (payload) => Array.isArray(payload.value) },
);
