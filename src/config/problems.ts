// How config problems read: one `key.path: message` line each, short and human, never a value
// that could be a secret.
import type { z } from 'zod';

/** One problem: where (a key path, a variable or a file) and what. */
export interface Problem {
  key: string;
  message: string;
}

/** `regopts[1].timeout` from ['regopts', 1, 'timeout']. */
export function formatKeyPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(root)';
  let text = '';
  for (const segment of path) {
    if (typeof segment === 'number') text += `[${segment}]`;
    else text += text === '' ? String(segment) : `.${String(segment)}`;
  }
  return text;
}

const TYPE_NAMES: Record<string, string> = {
  object: 'a mapping',
  record: 'a mapping',
  array: 'a list',
  string: 'a string',
  number: 'a number',
  boolean: 'true or false',
};

/** Alternatives as a person writes them: "a or b", "one of a, b, c". */
export function oneOf(values: readonly string[]): string {
  if (values.length === 2) return `${values[0]} or ${values[1]}`;
  return `one of ${values.join(', ')}`;
}

/** zod's error map for a config parse: messages that name what was expected, not what was found. */
export function humanMessage(issue: z.core.$ZodRawIssue): string | undefined {
  switch (issue.code) {
    case 'invalid_type':
      if (issue.input === undefined) return 'required';
      return `expected ${TYPE_NAMES[issue.expected] ?? issue.expected}`;
    case 'invalid_value':
      return `expected ${oneOf(issue.values.map(String))}`;
    case 'unrecognized_keys':
      return 'unknown key';
    case 'too_small':
      return `expected at least ${String(issue.minimum)}`;
    case 'too_big':
      return `expected at most ${String(issue.maximum)}`;
    default:
      return undefined;
  }
}

/** zod issues as problems; an unknown-keys issue becomes one problem per key. */
export function issueProblems(issues: readonly z.core.$ZodIssue[]): Problem[] {
  return issues.flatMap((issue) =>
    issue.code === 'unrecognized_keys'
      ? issue.keys.map((key) => ({
          key: formatKeyPath([...issue.path, key]),
          message: 'unknown key',
        }))
      : [{ key: formatKeyPath(issue.path), message: issue.message }],
  );
}

/** Why a file could not be read, from its error code only (never its content). */
export function describeReadError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const reasons: Record<string, string> = {
    ENOENT: 'no such file',
    EACCES: 'permission denied',
    EISDIR: 'is a directory',
    ENOTDIR: 'a part of the path is not a directory',
    ELOOP: 'too many symbolic links',
  };
  if (code === undefined) return 'unreadable';
  return `${reasons[code] ?? 'unreadable'} (${code})`;
}
