import { log } from '../log.js';
import type { RegistryClient, RequestOptions } from '../registry/client.js';
import { parseReference } from '../registry/reference.js';
import type { CheckTarget } from './check.js';
import { isIndex, parsePlatform, pickPlatform, platformManifests } from './platform.js';

/**
 * The remote image's creation time (from its config blob), or undefined if the registry will not
 * say. Costs a manifest GET and a blob GET (two more for an index), so it is called only when the
 * digest moved.
 */
export async function fetchCreated(
  registry: RegistryClient,
  target: CheckTarget,
  digest: string,
  opts: RequestOptions,
): Promise<number | undefined> {
  const ref = { ...parseReference(target.image), digest };
  try {
    let manifest = await registry.getManifest(ref, opts);
    let json = manifest.json as { config?: { digest?: string } };
    if (isIndex(manifest.mediaType)) {
      const first = target.containers[0]!;
      const want = first.options.platform ? parsePlatform(first.options.platform) : first.platform;
      const entries = platformManifests(manifest.json);
      const entry = pickPlatform(entries, want) ?? entries[0];
      if (!entry) return undefined;
      manifest = await registry.getManifest({ ...ref, digest: entry.digest }, opts);
      json = manifest.json as typeof json;
    }
    if (!json.config?.digest) return undefined;
    const config = JSON.parse(
      (await registry.getBlob(ref, json.config.digest, opts)).toString(),
    ) as {
      created?: string;
    };
    const seconds = config.created ? Date.parse(config.created) / 1000 : Number.NaN;
    return Number.isFinite(seconds) ? seconds : undefined;
  } catch (err) {
    log('debug', 'image creation time unavailable', { image: target.image, error: err });
    return undefined;
  }
}
