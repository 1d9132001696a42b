import { runPool } from '../concurrency/worker-pool.js';
import type { Config, RegOpt } from '../config/schema.js';
import { log } from '../log.js';
import type { WatchedContainer } from '../providers/types.js';
import type { RegistryClient } from '../registry/client.js';
import { failureReason } from '../registry/errors.js';
import { parseReference } from '../registry/reference.js';
import type { RequestOptions } from '../registry/types.js';
import { copyRecord, type ImageRecord } from '../state/records.js';
import { indexesNeeded, resolveIndexes } from './compare-digests.js';
import { fetchImageFacts, type ImageFacts } from './created.js';
import { isOutdated } from './evaluate.js';
import type { WatchHooks } from './hooks.js';
import { type ImageKey, imageKey, providerOf } from './model.js';
import { NOT_WATCHED, TagLists, versionField, versionOf, watchesRepo } from './newest-tag.js';
import { selectRegopt } from './regopts.js';
import type { CheckTarget } from './target.js';

/**
 * Requests options for a target: its regopt's credentials, timeout, TLS and cap, or the
 * defaults; `workers` bounds the adaptive concurrency limit.
 */
export function requestOptions(regopt: RegOpt | undefined, workers?: number): RequestOptions {
  return {
    ...(workers !== undefined && { workers }),
    credentials: regopt?.username ? { username: regopt.username, password: regopt.password } : {},
    timeoutMs: regopt?.timeout ?? 10_000,
    insecureTLS: regopt?.insecureTLS ?? false,
    ...(regopt?.caFile !== undefined && { caFile: regopt.caFile }),
    ...(regopt?.maxConcurrent !== undefined && { maxConcurrent: regopt.maxConcurrent }),
  };
}

// Containers already warned about a `diun.regopt` that names no regopt, per configuration, so
// each is said once (as the Docker provider does for bad labels), not at every run and event.
const warnedRegopt = new WeakMap<object, Set<string>>();

/**
 * Unique references among the containers that need a registry check, each with its regopt.
 *
 * The regopt of a reference is chosen over every container that uses it, whatever its
 * provider: the first container (providers in config order, then listing order) whose
 * `diun.regopt` names an existing regopt decides; failing that, the first `selector: image`
 * entry whose name prefixes the reference. A name that matches no regopt is warned about once
 * per container and otherwise ignored, so it never turns into anonymous access unnoticed.
 */
export function planTargets(
  groups: Map<ImageKey, WatchedContainer[]>,
  config: Pick<Config, 'regopts'>,
): CheckTarget[] {
  const byImage = new Map<string, CheckTarget>();
  for (const [key, containers] of groups) {
    // The group's own array when nothing in it is skipped (the usual case): a cold run holds
    // these for its whole length, so each array less is one less for V8 to promote.
    const checkable = containers.some((c) => c.skip)
      ? containers.filter((c) => !c.skip)
      : containers;
    if (checkable.length === 0) continue;
    const image = checkable[0]!.image;
    const target = byImage.get(image);
    if (!target) {
      byImage.set(image, { image, keys: [key], containers: checkable, regopt: undefined });
      continue;
    }
    target.keys.push(key);
    // Another group of the same image (another provider): a new array, the groups' stay as is.
    target.containers = [...target.containers, ...checkable];
  }
  const warned = warnedRegopt.get(config) ?? new Set<string>();
  warnedRegopt.set(config, warned);
  const seen = new Set<string>();
  for (const target of byImage.values()) {
    let named: RegOpt | undefined;
    for (const c of target.containers) {
      const name = c.options.regopt;
      if (!name) continue;
      const found = selectRegopt(target.image, name, config.regopts);
      if (found) {
        named ??= found;
        continue;
      }
      const id = `${c.provider}|${c.endpoint}|${c.id}`;
      seen.add(id);
      if (warned.has(id)) continue;
      warned.add(id);
      log('warn', 'container names a regopt that does not exist; using the image selectors', {
        container: c.name,
        endpoint: c.endpoint,
        image: target.image,
        regopt: name,
      });
    }
    target.regopt = named ?? selectRegopt(target.image, undefined, config.regopts);
  }
  // Forget containers that are gone or fixed, so the set stays as small as the containers.
  for (const id of warned) if (!seen.has(id)) warned.delete(id);
  return [...byImage.values()];
}

/** What a check needs besides its targets and records. */
export interface CheckDeps {
  registry: RegistryClient;
  workers: number;
  hooks: WatchHooks;
  now: () => number;
  /**
   * Whether a provider still lists the image (state row) now; asked right before a target's
   * request and again before its outcome is written. Without it, every key stays listed.
   */
  listed?: (key: ImageKey) => boolean;
  /** Told of the state rows left unchecked because no provider lists them any more. */
  unlisted?: (keys: ImageKey[]) => void;
}

/**
 * Asks the registry for each target's digest (one HEAD per unique reference, `workers` at a
 * time) and writes the outcome into `records`. A failure keeps the last good digest. An index
 * is fetched only when some container may run another of its platforms' images; tags are
 * listed (once per repository) only for images watched with `watch_repo`. A target whose
 * images no provider lists any more (removed while the run goes) is skipped before its
 * request: no check, no failure, no record.
 */
export async function checkTargets(
  targets: CheckTarget[],
  records: Map<ImageKey, ImageRecord>,
  deps: CheckDeps,
): Promise<void> {
  const listed = deps.listed ?? (() => true);
  // The keys of `keys` no provider lists now; the caller hears of them.
  const dropUnlisted = (keys: ImageKey[]) => {
    if (keys.every(listed)) return keys;
    const gone = keys.filter((k) => !listed(k));
    if (gone.length > 0) deps.unlisted?.(gone);
    return keys.filter((k) => !gone.includes(k));
  };
  const tags = new TagLists(deps.registry);
  // Each target's reference and request options, worked out once for the batch and the pool.
  // Targets with the same regopt (most have none) share one options object.
  const optsByRegopt = new Map<RegOpt | undefined, RequestOptions>();
  const optionsFor = (regopt: RegOpt | undefined) => {
    let opts = optsByRegopt.get(regopt);
    if (!opts) {
      opts = requestOptions(regopt, deps.workers);
      optsByRegopt.set(regopt, opts);
    }
    return opts;
  };
  const planned = targets.map((target) => ({
    target,
    ref: parseReference(target.image),
    opts: optionsFor(target.regopt),
  }));
  // Tokens for many repositories at once; not awaited, so a slow token service holds back only
  // its own registry's checks, which wait for the batch that covers them.
  const prefetched = Promise.resolve()
    .then(() => deps.registry.prefetchTokens(planned))
    .catch((err: unknown) => {
      const error = err instanceof Error ? err.message : String(err);
      log('debug', 'batched token request failed; asking per repository', { error });
    });
  // Registries take turns for the workers, each within its own concurrency limit (which
  // adapts as the registry answers), so one registry never holds more workers than requests.
  const byRegistry = {
    of: (p: (typeof planned)[number]) => p.ref.registry,
    limit: (p: (typeof planned)[number]) => deps.registry.concurrencyLimit(p.ref.registry, p.opts),
  };
  await runPool(
    planned,
    deps.workers,
    async ({ target, ref, opts }) => {
      const keys = dropUnlisted(target.keys);
      if (keys.length === 0) return;
      const recordOf = (c: WatchedContainer) => records.get(imageKey(c.provider, c.image));
      let outcome: Partial<ImageRecord>;
      try {
        const head = await deps.registry.headManifest(ref, opts);
        outcome = { remoteDigest: head.digest, remoteMediaType: sharedMediaType(head.mediaType) };
        // Awaited only when there is an index to read or keep: most images have none, and a
        // run makes one of these per reference.
        outcome.indexes = indexesNeeded(head, target.containers, recordOf)
          ? await resolveIndexes({
              registry: deps.registry,
              image: target.image,
              opts,
              remote: head,
              containers: target.containers,
              recordOf,
            })
          : undefined;
      } catch (err) {
        const reason = failureReason(err);
        const message = err instanceof Error ? err.message : String(err);
        log('warn', 'image check failed', { image: target.image, reason, error: message });
        outcome = { error: message, reason };
      }
      const version = watchesRepo(target) ? await versionOf(target, tags, opts) : NOT_WATCHED;
      const now = deps.now();
      let facts: Promise<ImageFacts> | undefined;
      const remoteFacts = (digest: string) => {
        facts ??= fetchImageFacts(deps.registry, target, digest, opts, outcome.indexes?.[digest]);
        return facts;
      };
      // Listed when the request started, but maybe removed while it was in flight.
      for (const key of dropUnlisted(keys)) {
        const provider = providerOf(key);
        deps.hooks.checked(provider);
        if (outcome.reason) deps.hooks.failed(provider, outcome.reason);
        const before = records.get(key);
        // A promise only when the image's creation time must be fetched (its digest moved).
        const pending = nextRecord(before, outcome, target, now, remoteFacts);
        const next = pending instanceof Promise ? await pending : pending;
        // nextRecord's answer is a new object: completed in place rather than copied again.
        next.provider = provider;
        next.version = versionField(version, before).version;
        records.set(key, next);
      }
    },
    byRegistry,
  );
  await prefetched;
}

// The few media types registries answer, one string each: every HEAD's header value is a string
// of its own, and a record keeps it until the next run (10,000 copies of the same 50 characters).
const mediaTypes = new Map<string, string>();

function sharedMediaType(mediaType: string | undefined): string | undefined {
  if (mediaType === undefined) return undefined;
  const known = mediaTypes.get(mediaType);
  if (known !== undefined) return known;
  // Bounded: a registry answering odd types cannot grow it without end.
  if (mediaTypes.size < 32) mediaTypes.set(mediaType, mediaType);
  return mediaType;
}

/**
 * The record after a check. Returned as is, with no promise, unless the digest moved and the
 * image's creation time must be fetched: a steady run makes one per image.
 */
function nextRecord(
  before: ImageRecord | undefined,
  outcome: Partial<ImageRecord>,
  target: CheckTarget,
  now: number,
  remoteFacts: (digest: string) => Promise<ImageFacts>,
): ImageRecord | Promise<ImageRecord> {
  const base: ImageRecord = before ?? {
    provider: '',
    image: target.image,
    status: 'new',
    updateAvailable: false,
  };
  // Copied with every field in place, then set: see copyRecord.
  const record = copyRecord(base);
  record.lastCheck = now;
  if (outcome.reason) {
    record.status = 'error';
    record.error = outcome.error;
    record.reason = outcome.reason;
    return record;
  }
  // The string the record holds when the digest did not move: each HEAD's header is a string of
  // its own, and a record keeping both the new one and the first (`firstDigest`) held two copies
  // of the same 71 characters per image (88 bytes) from the second run on.
  // The same goes for a first digest equal to it (as a restored state file gives them).
  const known = base.remoteDigest;
  const digest =
    known !== undefined && outcome.remoteDigest === known ? known : outcome.remoteDigest!;
  const moved = digest !== known;
  record.remoteDigest = digest;
  record.remoteMediaType = outcome.remoteMediaType;
  record.remoteDigestSince = moved ? now : base.remoteDigestSince;
  record.firstDigest = base.firstDigest === digest ? digest : (base.firstDigest ?? digest);
  record.indexes = outcome.indexes;
  record.status = base.remoteDigest ? 'unchange' : 'new';
  record.error = undefined;
  record.reason = undefined;
  if (moved || record.remoteCreated === undefined) {
    // A container already running the registry's image (for its platform) tells us its creation
    // time and origin for free; otherwise fetch them, but only when the digest really moved, so
    // steady state stays at one HEAD.
    const local = target.containers.find((c) => c.kind !== 'entry' && !isOutdated(c, record));
    if (local?.localCreated !== undefined) {
      record.remoteCreated = local.localCreated;
      if (moved) record.origin = local.origin;
    } else if (moved && base.remoteDigest) {
      return remoteFacts(digest).then((fetched) => {
        record.remoteCreated = fetched.created;
        record.origin = fetched.origin;
        return record;
      });
    } else if (moved) {
      record.remoteCreated = undefined;
      record.origin = undefined;
    }
  }
  return record;
}
