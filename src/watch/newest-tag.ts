// Version tracking (`watch_repo`): the repository's tags, listed once per repository per run,
// filtered as Diun filters them, and the newest comparable version among them.
import { log } from '../log.js';
import type { RegistryClient } from '../registry/client.js';
import { type ImageReference, parseReference, repositoryKey } from '../registry/reference.js';
import type { RequestOptions } from '../registry/types.js';
import type { ImageRecord } from '../state/records.js';
import { newestVersion, type VersionScope, type VersionVerdict } from '../tags/compare.js';
import { filterTags, matchesAny, type TagFilter } from '../tags/filter.js';
import type { CheckTarget } from './target.js';

/** Tag lists of one run, by repository: a list is fetched once however many tags use it. */
export class TagLists {
  private readonly lists = new Map<string, Promise<string[]>>();

  constructor(private readonly registry: RegistryClient) {}

  /** Every tag of the reference's repository. */
  get(ref: ImageReference, opts: RequestOptions): Promise<string[]> {
    const key = repositoryKey(ref);
    let list = this.lists.get(key);
    if (!list) {
      list = this.registry.listTags(ref, opts);
      this.lists.set(key, list);
    }
    return list;
  }
}

/** What version tracking found for a target: not asked, failed, or a verdict (maybe none). */
export type VersionResult =
  | { watched: false }
  | { watched: true; failed: true }
  | { watched: true; failed: false; verdict: VersionVerdict | undefined };

/** The verdict of a target no container watches with `watch_repo`. */
export const NOT_WATCHED: VersionResult = Object.freeze({ watched: false });

/** Whether a container of the target has `watch_repo`: only then are its tags listed. */
export function watchesRepo(target: CheckTarget): boolean {
  return target.containers.some((c) => c.options.watchRepo);
}

/** Lists the repository's tags when a container of the target has `watch_repo`, and judges. */
export async function versionOf(
  target: CheckTarget,
  tags: TagLists,
  opts: RequestOptions,
): Promise<VersionResult> {
  const watcher = target.containers.find((c) => c.options.watchRepo);
  if (!watcher) return { watched: false };
  const ref = parseReference(target.image);
  if (!ref.tag) return { watched: false };
  try {
    const all = await tags.get(ref, opts);
    const offered = filterTags(all, watcher.options);
    const verdict = newestVersion(ref.tag, offered, scopeOf(ref.tag, watcher.options));
    return { watched: true, failed: false, verdict };
  } catch (err) {
    log('warn', 'could not list tags', { image: target.image, error: err });
    return { watched: true, failed: true };
  }
}

/** With include_tags set, the user's patterns say which tags compare (see tags/compare.ts). */
function scopeOf(running: string, filter: TagFilter): VersionScope {
  const included = filter.includeTags.length > 0;
  return { included, runningExcluded: included && !matchesAny(running, filter.includeTags) };
}

/** The record's `version`: a failed listing keeps the last verdict rather than forgetting it. */
export function versionField(
  result: VersionResult,
  before: ImageRecord | undefined,
): Pick<ImageRecord, 'version'> {
  if (!result.watched) return { version: undefined };
  return { version: result.failed ? before?.version : result.verdict };
}
