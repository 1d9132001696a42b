import { parse } from 'yaml';

// Entries per parse of a long list: enough that the parser's set-up per call costs little
// (10,000 entries take about 200 ms batched against 155 ms whole), few enough that a batch's
// document (about 2 KiB per entry) dies in V8's young generation.
const BATCH = 100;
// A shorter list is parsed whole: what it builds is small, and the common case stays simple.
const MIN_BATCHED = 2 * BATCH;

/**
 * The value of a YAML text, as `parse(text, { logLevel: 'error' })` gives it (errors thrown,
 * warnings dropped). A long list at the root (Diun's file format) is parsed a batch of entries at
 * a time: the parser's document of 10,000 entries (about 20 MiB) lived through the whole parse,
 * was moved to V8's old space and grew its young generation to the most it takes, where a
 * batch's document dies young. A text the batches may not read exactly as the whole (see
 * `entryBatches`), or a batch that fails or does not give its entries, is parsed whole, so
 * values and error messages (their line numbers too) are the whole text's.
 */
export function parseYaml(text: string): unknown {
  const batches = entryBatches(text);
  if (batches !== undefined) {
    const items: unknown[] = [];
    for (const { text: part, entries } of batches) {
      let value: unknown;
      try {
        value = parse(part, { logLevel: 'error' });
      } catch {
        return parseWhole(text); // an alias to an earlier batch's anchor, or a real error
      }
      if (!Array.isArray(value) || value.length !== entries) return parseWhole(text);
      for (const item of value) items.push(item);
    }
    return items;
  }
  return parseWhole(text);
}

function parseWhole(text: string): unknown {
  return parse(text, { logLevel: 'error' });
}

/**
 * The text cut into runs of BATCH entries, in order and together the whole text, when it is a
 * long block sequence at the root written the usual way: every line that starts at column 0 is
 * an entry (`- ` or a lone `-`), a comment, or blank, and the first such line is an entry or a
 * comment. In YAML each of those entry lines starts an item of the root sequence, so cutting
 * before one splits no node. Anything else (an indented root, `---` or `...`, a directive, a
 * mapping at the root, a flow collection spread over lines at column 0) gives undefined.
 */
export function entryBatches(text: string): Array<{ text: string; entries: number }> | undefined {
  const starts: number[] = [];
  for (let at = 0; at < text.length; ) {
    const end = text.indexOf('\n', at);
    const next = end === -1 ? text.length : end + 1;
    const c = text[at];
    if (c === '-') {
      const after = text[at + 1];
      if (
        after !== ' ' &&
        after !== '\t' &&
        after !== '\n' &&
        after !== '\r' &&
        after !== undefined
      ) {
        return undefined; // `---`, or a plain scalar such as `-1` at the root
      }
      starts.push(at);
    } else if (c === '#' || c === '\n' || c === '\r') {
      // a comment or a blank line: part of the batch before it
    } else if (c === ' ' || c === '\t') {
      // inside an entry: none has begun yet means the root is indented
      if (starts.length === 0 && text.slice(at, next).trim() !== '') return undefined;
    } else {
      return undefined;
    }
    at = next;
  }
  if (starts.length < MIN_BATCHED) return undefined;
  const batches: Array<{ text: string; entries: number }> = [];
  for (let i = 0; i < starts.length; i += BATCH) {
    const from = i === 0 ? 0 : (starts[i] as number);
    const to = starts[i + BATCH] ?? text.length;
    batches.push({ text: text.slice(from, to), entries: Math.min(BATCH, starts.length - i) });
  }
  return batches;
}
