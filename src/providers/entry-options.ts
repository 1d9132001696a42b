// File entries' options as shared values: most entries set no option, or a few over the
// config's defaults, so their lists, metadata and often the whole options are the defaults'.
import { type ImageOptions, parseLabels } from '../config/labels.js';
import type { ImageDefaults } from '../config/schema.js';

// The options of an entry with no option set, per defaults (one per config), frozen.
const plainOptions = new WeakMap<ImageDefaults, ImageOptions>();

function optionsWithNoLabel(defaults: ImageDefaults): ImageOptions {
  let options = plainOptions.get(defaults);
  if (options === undefined) {
    // Copied key by key as the entries' own are (see toWatched), so the key order is theirs.
    options = Object.assign({}, parseLabels({}, defaults).options);
    Object.freeze(options.notifyOn);
    Object.freeze(options.includeTags);
    Object.freeze(options.excludeTags);
    Object.freeze(options.metadata);
    plainOptions.set(defaults, Object.freeze(options));
  }
  return options;
}

/**
 * `options`, or the one frozen object of an entry with no option set when they hold the same
 * values; otherwise `options` with its lists and metadata replaced by the defaults' where equal.
 * At 10,000 entries that set nothing, about 0.3 KiB per entry: the options, three lists and the
 * metadata object each entry had of its own. Nothing reads options by identity.
 */
export function shareDefaults(options: ImageOptions, defaults: ImageDefaults): ImageOptions {
  const plain = optionsWithNoLabel(defaults);
  if (sameItems(options.notifyOn, plain.notifyOn)) options.notifyOn = plain.notifyOn;
  if (sameItems(options.includeTags, plain.includeTags)) options.includeTags = plain.includeTags;
  if (sameItems(options.excludeTags, plain.excludeTags)) options.excludeTags = plain.excludeTags;
  if (sameItems(Object.entries(options.metadata).flat(), Object.entries(plain.metadata).flat())) {
    options.metadata = plain.metadata;
  }
  const own = Object.entries(options);
  const shared = Object.entries(plain);
  const same =
    own.length === shared.length &&
    own.every(([k, v], i) => k === shared[i]![0] && Object.is(v, shared[i]![1]));
  return same ? plain : options;
}

function sameItems(a: readonly unknown[], b: readonly unknown[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
