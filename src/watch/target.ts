// What a check run works on, apart from check.ts, so that created.ts and newest-tag.ts (which
// check.ts imports) can take a target without importing check.ts back.
import type { RegOpt } from '../config/schema.js';
import type { WatchedContainer } from '../providers/types.js';
import type { ImageKey } from './model.js';

/** One unique reference to ask the registry about, with every state row that shares it. */
export interface CheckTarget {
  image: string;
  keys: ImageKey[];
  containers: WatchedContainer[];
  regopt?: RegOpt;
}
