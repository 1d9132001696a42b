import type { ImageRecord } from '../../src/state/records.js';
import { type ImageKey, imageKey } from '../../src/watch/model.js';

/** The state's records keyed as the watcher keys them: by provider and image. */
export function recordsOf(...rows: ImageRecord[]): Map<ImageKey, ImageRecord> {
  return new Map(rows.map((r) => [imageKey(r.provider, r.image), r]));
}
