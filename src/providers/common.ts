// What every provider does the same way: read a container's image reference, say a label
// problem once, and name the command that updates it.
import { bounded } from '../bound.js';
import { log } from '../log.js';
import { formatReference, type ImageReference, parseReference } from '../registry/reference.js';
import type { Presentation, WatchedContainer } from './types.js';

/**
 * Sets `watched.image` to the normalised form of `raw` and hands the parsed reference to `judge`,
 * which says what the provider knows of it (the digests it runs, or why no check applies). An
 * invalid reference is an error of the container (worded by `describe`) and skips the check.
 * `tagOnly` drops a digest from the image label: the tag is what is checked, the digest what runs.
 */
export function readReference(
  watched: Pick<WatchedContainer, 'image' | 'errors' | 'skip'>,
  raw: string,
  judge: (ref: ImageReference) => void,
  opts: { tagOnly?: boolean; describe?: (message: string) => string } = {},
): void {
  let ref: ImageReference;
  try {
    ref = parseReference(raw);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    watched.errors.push(opts.describe ? opts.describe(message) : message);
    watched.skip = 'invalid reference';
    return;
  }
  watched.image = formatReference(opts.tagOnly ? { ...ref, digest: undefined } : ref);
  judge(ref);
}

/** A watched container as its provider reads it, before it says how the container is shown. */
export type Listed = Omit<WatchedContainer, keyof Presentation>;

/** One problem to say, with what identifies it across listings. */
export interface Problem {
  key: string;
  fields: Record<string, unknown>;
}

/**
 * Says each problem once while it lasts, not at every listing that finds it again (a Docker
 * event re-lists every container): a problem no longer found is forgotten, so it is said again
 * if it comes back.
 */
export class OnceWarnings {
  private said = new Set<string>();

  constructor(private readonly message: string) {}

  /** Logs the problems of `now` that the last call did not have. */
  report(now: Iterable<Problem>): void {
    const current = new Set<string>();
    for (const { key, fields } of now) {
      if (current.has(key)) continue;
      current.add(key);
      if (!this.said.has(key)) log('warn', this.message, fields);
    }
    this.said = current;
  }

  /** Logs each error of each watched container not said at the last call. */
  reportErrors(
    watched: readonly WatchedContainer[],
    who: (w: WatchedContainer) => { key: string; fields: Record<string, unknown> },
  ): void {
    this.report(
      watched.flatMap((w) => {
        if (w.errors.length === 0) return [];
        const { key, fields } = who(w);
        return w.errors.map((error) => ({ key: `${key}\n${error}`, fields: { ...fields, error } }));
      }),
    );
  }
}

/** Quoted only when the shell would read a character specially, so the usual command stays plain. */
export function shellWord(s: string): string {
  return /^[\w./:@%+=,-]+$/.test(s) ? s : `'${s.replaceAll("'", `'\\''`)}'`;
}

/** The command that gets a new image where nothing more is known: a pull of the reference. */
export function pullCommand(image: string): string {
  // Joined, not a template: a template's cons string is flattened into a second string at its
  // first write, and each file entry keeps its command (32 bytes less per entry).
  return ['docker pull ', shellWord(image)].join('');
}

/** The labels every container series has, empty where the container is not in a Compose project. */
export const COMPOSE_LABELS = ['compose_project', 'compose_service'] as const;

// The labels of everything outside Compose (every file entry), one object for all: 40 bytes
// per entry. Frozen, as it is shared.
const NO_COMPOSE: Record<string, string> = Object.freeze({
  compose_project: '',
  compose_service: '',
});

/**
 * How a Docker container (or a Swarm service) is shown: its Compose project and service as
 * series labels and on the page, and as the command that updates it (pull and up of that
 * service, else a pull of the image).
 */
export function composePresentation(
  c: Pick<Listed, 'endpoint' | 'name' | 'image'>,
  project: string,
  service: string,
): Presentation {
  const p = shellWord(project);
  const s = shellWord(service);
  return {
    seriesLabels:
      project === '' && service === ''
        ? NO_COMPOSE
        : { compose_project: project, compose_service: service },
    place: {
      host: c.endpoint,
      group: project ? [project, ' / ', service || '—'].join('') : '',
      path: c.name,
    },
    // Joined for the reason pullCommand's is.
    updateCommand:
      project && service
        ? ['docker compose -p ', p, ' pull ', s, ' && docker compose -p ', p, ' up -d ', s].join('')
        : pullCommand(c.image),
  };
}

/**
 * `c` with every value it shows (labels, API, state file, page) within bounds: a name, label or
 * error of any size from a provider is cut, with its length, rather than exported whole.
 */
export function boundedContainer(c: WatchedContainer): WatchedContainer {
  // Nearly always nothing is cut: then `c` itself, not a second copy of every listed container
  // held for as long as it is listed (10,000 objects and their labels at 10,000 images).
  if (withinBounds(c)) return c;
  const boundAll = (o: Record<string, string>) =>
    Object.fromEntries(Object.entries(o).map(([k, v]) => [k, bounded(v)]));
  return {
    ...c,
    id: bounded(c.id),
    name: bounded(c.name),
    image: bounded(c.image),
    state: bounded(c.state),
    errors: c.errors.map((e) => bounded(e)),
    seriesLabels: boundAll(c.seriesLabels),
    place: {
      host: bounded(c.place.host),
      group: bounded(c.place.group),
      path: bounded(c.place.path),
    },
    updateCommand: bounded(c.updateCommand),
  };
}

/** Whether boundedContainer would cut none of `c`'s values. */
function withinBounds(c: WatchedContainer): boolean {
  const fits = (v: string) => bounded(v) === v;
  return (
    fits(c.id) &&
    fits(c.name) &&
    fits(c.image) &&
    fits(c.state) &&
    c.errors.every(fits) &&
    Object.values(c.seriesLabels).every(fits) &&
    fits(c.place.host) &&
    fits(c.place.group) &&
    fits(c.place.path) &&
    fits(c.updateCommand)
  );
}
