import { log } from '../log.js';
import type { RegistryClient } from '../registry/client.js';
import { originOf } from '../registry/origin.js';
import {
  isIndex,
  type PlatformManifest,
  pickPlatform,
  platformManifests,
} from '../registry/platform.js';
import { parseReference } from '../registry/reference.js';
import type { RequestOptions } from '../registry/types.js';
import type { ImageOrigin } from '../state/records.js';
import { platformOf } from './compare-digests.js';
import type { CheckTarget } from './target.js';

/** What an image's config blob tells about it: when it was made, and where it comes from. */
export interface ImageFacts {
  created?: number;
  origin?: ImageOrigin;
}

/**
 * The remote image's creation time and origin labels (from its config blob), or nothing if the
 * registry will not say. Costs a manifest GET and a blob GET (one more for an index not fetched
 * yet), so it is called only when the digest moved.
 */
export async function fetchImageFacts(
  registry: RegistryClient,
  target: CheckTarget,
  digest: string,
  opts: RequestOptions,
  knownEntries?: PlatformManifest[],
): Promise<ImageFacts> {
  const ref = { ...parseReference(target.image), digest };
  try {
    let json: { config?: { digest?: string } } = {};
    let entries = knownEntries?.length ? knownEntries : undefined;
    if (!entries) {
      const manifest = await registry.getManifest(ref, opts);
      if (isIndex(manifest.mediaType)) entries = platformManifests(manifest.json);
      else json = manifest.json as typeof json;
    }
    if (entries) {
      const entry = pickPlatform(entries, platformOf(target.containers[0]!)) ?? entries[0];
      if (!entry) return {};
      const manifest = await registry.getManifest({ ...ref, digest: entry.digest }, opts);
      json = manifest.json as typeof json;
    }
    if (!json.config?.digest) return {};
    const config = JSON.parse(
      (await registry.getBlob(ref, json.config.digest, opts)).toString(),
    ) as { created?: string; config?: { Labels?: Record<string, unknown> | null } };
    const seconds = config.created ? Date.parse(config.created) / 1000 : Number.NaN;
    return {
      created: Number.isFinite(seconds) ? seconds : undefined,
      origin: originOf(config.config?.Labels),
    };
  } catch (err) {
    log('debug', 'image creation time unavailable', { image: target.image, error: err });
    return {};
  }
}
