import { byCodeUnit } from '../order.js';
import type { WatchedContainer } from '../providers/types.js';
import { type CheckStatus, copyRecord, type ImageRecord } from '../state/records.js';
import { localDigests, runsRemote } from './compare-digests.js';
import { hubLinkFor, hubLinkFromTemplate } from './hub-link.js';
import {
  type ContainerState,
  type ImageKey,
  type ImageState,
  imageKey,
  type Snapshot,
} from './model.js';
import { releaseLinkFor } from './release-link.js';

/**
 * Whether a container runs something other than what its tag points at now, for its platform.
 * Level-triggered: true for as long as the registry's image is not the one it runs.
 */
export function isOutdated(container: WatchedContainer, record: ImageRecord | undefined): boolean {
  if (container.skip || !record?.remoteDigest) return false;
  const local = localDigests(container, record);
  return !runsRemote(container, local, record.remoteDigest, record.indexes);
}

function containerStatus(
  c: WatchedContainer,
  outdated: boolean,
  record: ImageRecord | undefined,
): CheckStatus {
  // A problem comes first: an invalid reference is skipped, but the user must hear why.
  if (c.errors.length > 0) return 'error';
  if (c.skip) return 'skip';
  if (record?.status === 'error') return 'error';
  if (outdated) return 'update';
  return record?.status === 'new' ? 'new' : 'unchange';
}

function imageStatus(containers: ContainerState[], record: ImageRecord | undefined): CheckStatus {
  if (containers.every((c) => c.status === 'skip')) return 'skip';
  // Nothing to check: only skipped containers, and some with problems (a run records such an
  // image as checked, with status skip, so this must not depend on the record).
  if (containers.every((c) => c.container.skip)) return 'error';
  if (record?.status === 'error') return 'error';
  if (containers.some((c) => c.updateAvailable)) return 'update';
  return record?.status === 'new' ? 'new' : 'unchange';
}

/** The image page: a container's `diun.hub_link`, else its `diun.hub_tpl`, else one derived. */
function hubLinkOf(group: WatchedContainer[], image: string): string {
  const link = group.find((c) => c.options.hubLink)?.options.hubLink;
  if (link !== undefined) return link;
  const template = group.find((c) => c.options.hubTemplate)?.options.hubTemplate;
  return template !== undefined ? hubLinkFromTemplate(image, template) : hubLinkFor(image);
}

// The digests of an image that runs none known (never checked, failing, no digest recorded):
// one frozen array for all of them, not one per image in every snapshot (32 bytes each).
const NO_DIGESTS: string[] = [];
Object.freeze(NO_DIGESTS);

/** The digests the group's containers run, sorted, each once. */
function digestsOf(group: WatchedContainer[], record: ImageRecord | undefined): string[] {
  const digests = new Set(group.flatMap((c) => localDigests(c, record)));
  return digests.size === 0 ? NO_DIGESTS : [...digests].sort();
}

/** Groups containers by (provider, image): the unit the metrics and the registry checks share. */
export function groupByImage(containers: WatchedContainer[]): Map<ImageKey, WatchedContainer[]> {
  const groups = new Map<ImageKey, WatchedContainer[]>();
  for (const c of containers) {
    const key = imageKey(c.provider, c.image);
    const group = groups.get(key);
    if (group) group.push(c);
    else groups.set(key, [c]);
  }
  return groups;
}

/**
 * Combines the containers running now with what the registry said last: the snapshot every
 * output renders. Pure, so a Docker event can recompute it without any registry call. Images
 * never checked yet (and not skipped) are left out until their first check.
 */
export function evaluate(
  containers: WatchedContainer[],
  records: ReadonlyMap<ImageKey, ImageRecord>,
  at: number,
): Snapshot {
  const images: ImageState[] = [];
  for (const [key, group] of groupByImage(containers)) {
    const record = records.get(key);
    const checkable = group.some((c) => !c.skip);
    if (checkable && !record?.lastCheck) continue;
    const states = group.map((c) => {
      const updateAvailable = isOutdated(c, record);
      return { container: c, updateAvailable, status: containerStatus(c, updateAvailable, record) };
    });
    const first = group[0]!;
    const status = imageStatus(states, record);
    const updateAvailable = states.some((s) => s.updateAvailable);
    // The record itself when it already says so (records are replaced, never changed in place):
    // a copy of each of 10,000 records was held by every snapshot besides the records.
    let shown = record;
    if (shown?.status !== status || shown.updateAvailable !== updateAvailable) {
      // Every field in place, as copyRecord makes them: the snapshot's records share one shape.
      shown = copyRecord(
        record ?? {
          provider: first.provider,
          image: first.image,
          status: 'new',
          updateAvailable: false,
        },
      );
      shown.status = status;
      shown.updateAvailable = updateAvailable;
    }
    images.push({
      record: shown,
      hubLink: hubLinkOf(group, first.image),
      releaseLink: releaseLinkFor(first.image, record?.origin, {
        template: group.find((c) => c.options.releaseTemplate)?.options.releaseTemplate,
        // What an outdated container runs: the start of the compare page.
        runningRevision: states.find((s) => s.updateAvailable && s.container.origin?.revision)
          ?.container.origin?.revision,
      }),
      localDigests: digestsOf(group, record),
      containers: states,
      updatesDetected: 0,
    });
  }
  images.sort((a, b) => byCodeUnit(a.record.image, b.record.image));
  return { images, at };
}
