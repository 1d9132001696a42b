// The shape of the config as a tree of keys, read from the zod schema itself, so DIUN_*
// variables are matched against exactly the keys the schema accepts.
import { z } from 'zod';

export type KeyNode =
  | { kind: 'mapping'; keys: Map<string, { key: string; node: KeyNode }> }
  | { kind: 'list'; item: KeyNode }
  | { kind: 'dictionary'; value: KeyNode }
  | { kind: 'value' }
  | { kind: 'anything' };

/** The key tree a schema accepts; `keys` of a mapping are indexed by lower-cased key. */
export function describeKeys(schema: unknown): KeyNode {
  if (schema instanceof z.ZodObject) {
    const keys = new Map<string, { key: string; node: KeyNode }>();
    for (const [key, child] of Object.entries(schema.shape)) {
      keys.set(key.toLowerCase(), { key, node: describeKeys(child) });
    }
    return { kind: 'mapping', keys };
  }
  // z.preprocess(fn, schema) is a pipe from a transform; `.transform()` is a pipe into one.
  if (schema instanceof z.ZodPipe) {
    return describeKeys(schema.in instanceof z.ZodTransform ? schema.out : schema.in);
  }
  if (
    schema instanceof z.ZodOptional ||
    schema instanceof z.ZodDefault ||
    schema instanceof z.ZodPrefault ||
    schema instanceof z.ZodNullable
  ) {
    return describeKeys(schema.unwrap());
  }
  if (schema instanceof z.ZodArray) return { kind: 'list', item: describeKeys(schema.element) };
  if (schema instanceof z.ZodRecord)
    return { kind: 'dictionary', value: describeKeys(schema.valueType) };
  if (schema instanceof z.ZodUnknown || schema instanceof z.ZodAny) return { kind: 'anything' };
  return { kind: 'value' };
}
