// Whether a container runs what its registry offers: the digests it runs, the platform it is
// compared on and, for a multi-platform tag, which image indexes must be read to tell (read by
// registry/platform.ts), cached by index digest in the state file so each costs one GET in its life.
import { log } from '../log.js';
import type { WatchedContainer } from '../providers/types.js';
import type { RegistryClient } from '../registry/client.js';
import { RegistryError } from '../registry/errors.js';
import {
  indexEntries,
  isIndex,
  type Platform,
  type PlatformManifest,
  parsePlatform,
  pickPlatform,
} from '../registry/platform.js';
import type { RequestOptions } from '../registry/types.js';
import type { ImageRecord } from '../state/records.js';

export type IndexCache = Record<string, PlatformManifest[]>;

/** The platform a container is compared on: `diun.platform`, else its image's own. */
export function platformOf(c: WatchedContainer): Platform {
  return c.options.platform ? parsePlatform(c.options.platform) : c.platform;
}

/**
 * The digests a container counts as "what it runs": its image's RepoDigests; for a file entry,
 * the pinned digest or else the first one recorded.
 */
export function localDigests(c: WatchedContainer, record: ImageRecord | undefined): string[] {
  if (c.kind !== 'entry') return c.repoDigests;
  const baseline = c.pinnedDigest ?? record?.firstDigest;
  return baseline ? [baseline] : [];
}

/**
 * Whether a container runs what `remote` (with the index entries in `indexes`) offers for its
 * platform: the same digest, the same platform manifest, or an older index whose entry for its
 * platform is the one the remote index has now (only other platforms, or attestations, moved).
 */
export function runsRemote(
  c: WatchedContainer,
  local: readonly string[],
  remote: string,
  indexes: IndexCache | undefined,
): boolean {
  if (local.includes(remote)) return true;
  const remoteEntries = indexes?.[remote];
  if (!remoteEntries) return false;
  const platform = platformOf(c);
  const wanted = pickPlatform(remoteEntries, platform)?.digest;
  if (wanted === undefined) return false;
  if (local.includes(wanted)) return true;
  return local.some((d) => {
    const entries = indexes?.[d];
    return entries !== undefined && pickPlatform(entries, platform)?.digest === wanted;
  });
}

/**
 * Whether `resolveIndexes` has anything to do: the tag is an index, or some container's record
 * caches one. The usual case, a single-platform image and nothing cached, has not.
 */
export function indexesNeeded(
  remote: { mediaType: string },
  containers: readonly WatchedContainer[],
  recordOf: (c: WatchedContainer) => ImageRecord | undefined,
): boolean {
  return isIndex(remote.mediaType) || containers.some((c) => !!recordOf(c)?.indexes);
}

/**
 * Brings the index cache up to date for one checked reference: when the tag is an index that
 * some container does not run as is, GETs the remote index (once per digest) and, if needed,
 * the index each such container runs. Returns the cache pruned to the digests still in use.
 */
export async function resolveIndexes(args: {
  registry: RegistryClient;
  image: string;
  opts: RequestOptions;
  remote: { digest: string; mediaType: string };
  containers: WatchedContainer[];
  recordOf: (c: WatchedContainer) => ImageRecord | undefined;
}): Promise<IndexCache | undefined> {
  const { remote, containers } = args;
  // The usual case, a single-platform image and nothing cached: nothing to fetch or keep.
  if (!indexesNeeded(remote, containers, args.recordOf)) return undefined;
  const cache: IndexCache = {};
  for (const c of containers) Object.assign(cache, args.recordOf(c)?.indexes);
  // A file entry seen for the first time runs, by definition, what the registry has now.
  const locals = containers.map((c) => {
    const local = localDigests(c, args.recordOf(c));
    return c.kind === 'entry' && local.length === 0 ? [remote.digest] : local;
  });
  const keep = new Set([remote.digest, ...locals.flat()]);
  if (isIndex(remote.mediaType)) {
    const fetch = async (digest: string) => {
      if (cache[digest]) return;
      try {
        cache[digest] = await indexEntries(args.registry, args.image, digest, args.opts);
      } catch (err) {
        // Gone from the registry (garbage-collected): remember that, so it is not asked again.
        if (err instanceof RegistryError && err.reason === 'not_found') cache[digest] = [];
        log('warn', 'could not read image index', { image: args.image, digest, error: err });
      }
    };
    const differ = locals.map((local) => !local.includes(remote.digest));
    if (differ.includes(true)) await fetch(remote.digest);
    for (const [i, c] of containers.entries()) {
      if (!differ[i] || runsRemote(c, locals[i]!, remote.digest, cache)) continue;
      // One GET per index a container runs, in the container's lifetime: cached by digest.
      for (const d of locals[i]!) await fetch(d);
    }
  }
  const pruned = Object.fromEntries(Object.entries(cache).filter(([d]) => keep.has(d)));
  return Object.keys(pruned).length > 0 ? pruned : undefined;
}
