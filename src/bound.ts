// One hostile or broken name (a file entry of a megabyte, a label of any size) must not bloat
// every place it is shown: the metrics Prometheus stores, the API, the state file, the log.
// Values longer than a bound are cut to a readable head plus their length and a short hash, so
// two long values that differ stay two values.
import { createHash } from 'node:crypto';

/**
 * Longest value kept whole in a label, the API or the state file. A valid image reference is at
 * most about 530 characters (255 for the name, 128 for the tag, a sha512 digest), a Kubernetes
 * name 253: none of them is ever cut.
 */
export const MAX_VALUE_LENGTH = 1024;
/** How much of a cut value is kept. */
const HEAD_LENGTH = 200;

/** `value` itself when at most `max` characters long, else its head, length and hash. */
export function bounded(value: string, max = MAX_VALUE_LENGTH): string {
  if (value.length <= max) return value;
  const hash = createHash('sha256').update(value).digest('hex').slice(0, 12);
  return `${value.slice(0, HEAD_LENGTH)}… [cut: ${value.length} characters, sha256 ${hash}]`;
}
