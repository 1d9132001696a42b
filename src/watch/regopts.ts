import type { RegOpt } from '../config/schema.js';

/**
 * The registry options for an image, as Diun picks them: the one named by `diun.regopt`, else
 * the first `selector: image` entry whose name is a prefix of the image reference. `image` is
 * the normalised reference (`docker.io/library/nginx:latest`), as Diun compares it, so a
 * selector has to name the registry too.
 */
export function selectRegopt(
  image: string,
  named: string | undefined,
  regopts: readonly RegOpt[],
): RegOpt | undefined {
  if (named) return regopts.find((r) => r.name === named);
  return regopts.find((r) => r.selector === 'image' && image.startsWith(r.name));
}
