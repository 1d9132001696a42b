import type { RegOpt } from '../config/schema.js';

/**
 * The registry options for an image, as Diun picks them: the one named by `diun.regopt`, else
 * the first `selector: image` entry whose name is a prefix of the image reference.
 */
export function selectRegopt(
  image: string,
  raw: string,
  named: string | undefined,
  regopts: readonly RegOpt[],
): RegOpt | undefined {
  if (named) return regopts.find((r) => r.name === named);
  return regopts.find(
    (r) => r.selector === 'image' && (image.startsWith(r.name) || raw.startsWith(r.name)),
  );
}
