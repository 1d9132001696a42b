import { log } from '../log.js';
import type { RegistryClient, RequestOptions } from '../registry/client.js';
import { parseReference } from '../registry/reference.js';
import type { CheckTarget } from './check.js';

interface Descriptor {
  digest: string;
  mediaType?: string;
  platform?: { os?: string; architecture?: string; variant?: string };
}

const indexTypes = new Set([
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
]);

function pickPlatform(
  manifests: Descriptor[],
  want: CheckTarget['containers'][number]['platform'],
) {
  return (
    manifests.find(
      (m) =>
        m.platform?.os === want.os &&
        m.platform?.architecture === want.architecture &&
        (!want.variant || m.platform?.variant === want.variant),
    ) ?? manifests.find((m) => m.platform?.os !== 'unknown')
  );
}

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
    let json = manifest.json as { manifests?: Descriptor[]; config?: Descriptor };
    if (indexTypes.has(manifest.mediaType) && json.manifests) {
      const entry = pickPlatform(json.manifests, target.containers[0]!.platform);
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
