import type { Config } from '../config/schema.js';
import { log } from '../log.js';
import { boundedContainer } from '../providers/common.js';
import type { EndpointStatus, Provider, WatchedContainer } from '../providers/types.js';
import type { RegistryClient } from '../registry/client.js';
import {
  type CheckStatus,
  copyRecord,
  type ImageRecord,
  type RunSummary,
  statuses,
} from '../state/records.js';
import type { StateStore } from '../state/store.js';
import { checkTargets, planTargets } from './check.js';
import { evaluate, groupByImage } from './evaluate.js';
import type { WatchHooks } from './hooks.js';
import { type ImageKey, imageKey, type Snapshot } from './model.js';

const seconds = () => Date.now() / 1000;

/**
 * Hears each new snapshot. `complete` is false before the first run or restore: images not
 * checked yet are missing from it, so its absences say nothing of what is gone.
 */
export type SnapshotListener = (snapshot: Snapshot, complete: boolean) => void;

/** Options of one run: `onProgress` hears how many of the run's images have been checked. */
export interface RunOptions {
  /** Called with 0 once the images to check are known, then after each image is checked. */
  onProgress?: (checked: number, total: number) => void;
}

/**
 * The one orchestrator: lists the providers, checks each unique reference once per run, keeps
 * the records and the snapshot, and persists them. One run at a time; callers that ask while a
 * run goes on join it.
 */
export class Watcher {
  private records = new Map<ImageKey, ImageRecord>();
  /** Rises to outdated counted since start, per image; an image not here has none. */
  private readonly detected = new Map<ImageKey, number>();
  private containers: WatchedContainer[] = [];
  // The state rows the providers list now (keys of `containers`), as of their last listing.
  private listed = new Set<ImageKey>();
  private current: Snapshot = { images: [], at: 0 };
  private running: Promise<RunSummary> | undefined;
  private refreshing: Promise<void> | undefined;
  private refreshAgain = false;
  // A refresh is checking references never seen before (a new file of many images can take long).
  private checkingFresh = false;
  private relisting: Promise<void> | undefined;
  private readonly listeners: SnapshotListener[] = [];
  private readonly checkedListeners: Array<() => void> = [];
  lastRun: RunSummary | undefined;
  lastSuccess: number | undefined;
  ready = false;

  constructor(
    private readonly deps: {
      config: Config;
      providers: Provider[];
      registry: RegistryClient;
      store: StateStore;
      hooks: WatchHooks;
    },
  ) {}

  snapshot(): Snapshot {
    return this.current;
  }

  /** Calls `listener` with every new snapshot: after each run, each change of containers, a restore. */
  onSnapshot(listener: SnapshotListener): void {
    this.listeners.push(listener);
  }

  /**
   * Calls `listener` each time registry checks have ended and the state is saved: after a run,
   * and after a re-listing that checked references never seen before. Not after a re-listing
   * that checked nothing (a Docker event), which is frequent and cheap.
   */
  onChecked(listener: () => void): void {
    this.checkedListeners.push(listener);
  }

  providerStatus(): EndpointStatus[] {
    return this.deps.providers.flatMap((p) => p.status());
  }

  isRunning(): boolean {
    return this.running !== undefined;
  }

  /** Restores the state file; true when there was one, so the last picture is served at once. */
  restore(): boolean {
    const state = this.deps.store.load();
    if (!state) return false;
    for (const r of state.images) this.records.set(imageKey(r.provider, r.image), r);
    this.containers = state.containers;
    this.listed = this.listedKeys();
    this.lastRun = state.lastRun;
    this.lastSuccess = state.lastSuccess;
    this.setSnapshot(evaluate(this.containers, this.records, seconds()), true);
    this.ready = true;
    log('info', 'state restored', { path: this.deps.store.path, images: state.images.length });
    return true;
  }

  /** Subscribes to provider events: each change re-lists containers, with no registry call. */
  subscribe(): void {
    for (const p of this.deps.providers) p.subscribe(() => void this.refresh());
  }

  /** Re-lists the providers and re-evaluates; checks only references never seen before. */
  refresh(): Promise<void> {
    if (this.refreshing) {
      this.refreshAgain = true;
      // Its checks may go on for long: take the new listing now, so they skip what was removed.
      if (this.checkingFresh) this.relist();
      return this.refreshing;
    }
    this.refreshing = (async () => {
      let checked = false;
      do {
        this.refreshAgain = false;
        await this.listProviders();
        const fresh = planTargets(groupByImage(this.containers), this.deps.config).filter((t) =>
          t.keys.some((k) => !this.records.get(k)?.lastCheck),
        );
        if (fresh.length > 0 && !this.running) {
          this.checkingFresh = true;
          try {
            await this.check(fresh);
            checked = true;
          } finally {
            this.checkingFresh = false;
          }
        }
        this.publish(this.ready);
      } while (this.refreshAgain);
      if (this.ready) this.persist();
      if (checked) this.checkedEnded();
    })().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  /** Re-lists the providers and re-evaluates, once at a time, while a refresh checks. */
  private relist(): void {
    this.relisting ??= this.listProviders()
      .then(() => this.publish(false))
      .catch((err: unknown) => log('warn', 'could not re-list the providers', { error: err }))
      .finally(() => {
        this.relisting = undefined;
      });
  }

  /** Runs a check now, or joins the one under way (then `options` of that run apply). */
  run(options: RunOptions = {}): Promise<RunSummary> {
    this.running ??= this.doRun(options).finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  /** A scheduled tick: skipped (and counted) when the previous run has not ended. */
  scheduledRun(): void {
    if (this.running) {
      this.deps.hooks.runSkipped();
      log('warn', 'previous run still going, skipping this one');
      return;
    }
    void this.run();
  }

  /** Writes the state file now (shutdown, after a run, after an event). */
  save(): void {
    this.deps.store.save({
      images: [...this.records.values()],
      containers: this.containers,
      lastRun: this.lastRun,
      lastSuccess: this.lastSuccess,
    });
  }

  private async doRun(options: RunOptions): Promise<RunSummary> {
    const startedAt = seconds();
    this.deps.hooks.runStarted();
    log('info', 'run started');
    const providerErrors = await this.listProviders();
    await this.check(
      planTargets(groupByImage(this.containers), this.deps.config),
      options.onProgress,
    );
    const now = seconds();
    // As listed now: a provider event during the run may have removed images.
    for (const [key, group] of groupByImage(this.containers)) {
      if (group.every((c) => c.skip)) {
        const next = copyRecord(
          this.records.get(key) ?? {
            provider: group[0]!.provider,
            image: group[0]!.image,
            status: 'skip',
            updateAvailable: false,
          },
        );
        next.status = 'skip';
        next.lastCheck = now;
        this.records.set(key, next);
      }
    }
    this.publish(true);
    const images = Object.fromEntries(statuses.map((s) => [s, 0])) as Record<CheckStatus, number>;
    for (const img of this.current.images) images[img.record.status] += 1;
    const finishedAt = seconds();
    this.lastRun = {
      startedAt,
      finishedAt,
      durationSeconds: finishedAt - startedAt,
      images,
      providerErrors,
      skipped: false,
    };
    if (providerErrors.length === 0) this.lastSuccess = finishedAt;
    this.ready = true;
    this.persist();
    log('info', 'run finished', { seconds: this.lastRun.durationSeconds.toFixed(3), ...images });
    this.checkedEnded();
    return this.lastRun;
  }

  private checkedEnded(): void {
    for (const listener of this.checkedListeners) listener();
  }

  private async check(
    targets: ReturnType<typeof planTargets>,
    onProgress?: RunOptions['onProgress'],
  ): Promise<void> {
    const { hooks } = this.deps;
    // `checked` is called once per image (state row) of a target: count those for progress.
    const total = targets.reduce((n, t) => n + t.keys.length, 0);
    let done = 0;
    let unlisted = 0;
    onProgress?.(0, total);
    await checkTargets(targets, this.records, {
      // Provider events re-list during the run: an image removed meanwhile is not asked for.
      listed: (key) => this.listed.has(key),
      unlisted: (keys) => {
        unlisted += keys.length;
        done += keys.length;
        onProgress?.(done, total);
      },
      registry: this.deps.registry,
      workers: this.deps.config.watch.workers,
      // Progress hears `checked` alone; every other hook passes through as it is.
      hooks: onProgress
        ? {
            ...hooks,
            checked(provider) {
              hooks.checked(provider);
              onProgress(++done, total);
            },
          }
        : hooks,
      now: seconds,
    });
    if (unlisted > 0) {
      log('info', 'images removed during the run were not checked', { images: unlisted });
    }
  }

  /** Lists every provider; an endpoint that fails keeps its last containers and reports down. */
  private async listProviders(): Promise<string[]> {
    const lists = await Promise.all(this.deps.providers.map((p) => p.list()));
    const down = this.providerStatus().filter((s) => !s.up);
    const downKeys = new Set(down.map((s) => `${s.provider}|${s.endpoint}`));
    const kept = this.containers.filter((c) => downKeys.has(`${c.provider}|${c.endpoint}`));
    const errors = down.map((s) => `${s.provider}/${s.endpoint}: ${s.error ?? 'down'}`);
    this.containers = [...lists.flat().map(boundedContainer), ...kept];
    this.listed = this.listedKeys();
    return errors;
  }

  /** The keys of the containers, each the records' own string where a record has that key. */
  private listedKeys(): Set<ImageKey> {
    const live = new Set(this.containers.map((c) => imageKey(c.provider, c.image)));
    // A key made anew at each listing was a second string per image besides the records' key
    // (56 bytes each at 10,000 images); only `has` is asked of the set, so its order is free.
    const listed = new Set<ImageKey>();
    for (const key of this.records.keys()) if (live.delete(key)) listed.add(key);
    for (const key of live) listed.add(key);
    return listed;
  }

  /**
   * Recomputes the snapshot, counts rises to outdated, forgets images no longer used.
   * `complete`: every image has been checked once (a run, or a restore, came before).
   */
  private publish(complete: boolean): void {
    const next = evaluate(this.containers, this.records, seconds());
    const live = new Set(groupByImage(this.containers).keys());
    for (const img of next.images) {
      const key = imageKey(img.record.provider, img.record.image);
      const prev = this.records.get(key);
      const rose = img.record.updateAvailable && prev !== undefined && !prev.updateAvailable;
      if (rose) this.detected.set(key, (this.detected.get(key) ?? 0) + 1);
      img.updatesDetected = this.detected.get(key) ?? 0;
      // Replaced, not changed in place (a snapshot may hold the old one); only when it differs.
      if (prev && prev.updateAvailable !== img.record.updateAvailable) {
        // The snapshot's copy when it differs from prev only there: one record held, not two.
        if (img.record.status === prev.status) this.records.set(key, img.record);
        else {
          const next = copyRecord(prev);
          next.updateAvailable = img.record.updateAvailable;
          this.records.set(key, next);
        }
      }
    }
    const gone = [...this.records.entries()].filter(([key]) => !live.has(key));
    for (const [key] of gone) {
      this.records.delete(key);
      this.detected.delete(key);
    }
    // Made again for the records the checks just added: their keys are strings of their own.
    this.listed = this.listedKeys();
    this.setSnapshot(next, complete);
  }

  private setSnapshot(next: Snapshot, complete: boolean): void {
    this.current = next;
    for (const listener of this.listeners) {
      // A listener's bug must not stop the run that made the snapshot.
      try {
        listener(next, complete);
      } catch (err) {
        log('error', 'a snapshot listener failed', { error: err });
      }
    }
  }

  /** Writes the state file; a failure is logged and counted, never thrown. */
  persist(): void {
    try {
      this.save();
    } catch (err) {
      this.deps.hooks.stateWriteFailed();
      log('error', 'could not write the state file', { path: this.deps.store.path, error: err });
    }
  }
}
