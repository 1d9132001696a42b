import { byCodeUnit } from '../order.js';
import type { CheckStatus } from '../state/records.js';
import { localDigests } from '../watch/compare-digests.js';
import type { ImageState, Snapshot } from '../watch/model.js';
import { type Paint, painter, type Style } from './colour.js';
import { middleEllipsis, visibleLength, wrapText } from './text.js';

/** How the table is laid out and coloured. */
export interface TableOptions {
  /** Columns the table and the lines under it fit in (default 80). */
  width?: number;
  /** Colours for a terminal; none by default. */
  paint?: Paint;
  /** The run's duration, for the summary line. */
  durationSeconds?: number;
}

// Docker's short form: 12 hex digits of the digest.
const short = (digest: string | undefined) =>
  digest ? digest.replace(/^sha256:/, '').slice(0, 12) : '-';

const order = { update: 0, error: 1, new: 2, unchange: 3, skip: 4 } as const;

// An outdated image or container ranks with the updates whatever its status, so an image whose
// last check failed but that still runs an outdated container is seen with the outdated ones.
const rank = (s: { updateAvailable: boolean; status: keyof typeof order }) =>
  s.updateAvailable ? order.update : order[s.status];

const statusStyle: Record<CheckStatus, Style> = {
  update: 'yellow',
  error: 'red',
  new: 'green',
  unchange: 'green',
  skip: 'dim',
};

const GAP = 2;
const SHORT_DIGEST = 8;
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

/**
 * The `check` table: one row per container, then a summary, the newer versions and the errors,
 * every line within `width` columns (digests are Docker's 12-digit short form, 8 digits when
 * names need the room; long container and image names lose their middle; long messages wrap). Images sort outdated first, then
 * failed, then the rest (by name within each); within an image, outdated containers come
 * first, the others by status in listing order.
 */
export function renderCheckTable(snapshot: Snapshot, options: TableOptions = {}): string {
  const width = options.width ?? 80;
  const paint = options.paint ?? painter(false);
  const images = [...snapshot.images].sort(
    (a, b) => rank(a.record) - rank(b.record) || byCodeUnit(a.record.image, b.record.image),
  );
  const rows: Array<{ cells: string[]; status: CheckStatus }> = [];
  for (const img of images) {
    const remote = short(img.record.remoteDigest);
    const containers = [...img.containers].sort((a, b) => rank(a) - rank(b));
    for (const c of containers) {
      const local = short(localDigests(c.container, img.record)[0]);
      rows.push({
        cells: [c.container.place.path, img.record.image, c.status, local, remote],
        status: c.status,
      });
    }
  }
  const header = ['CONTAINER', 'IMAGE', 'STATUS', 'LOCAL', 'REMOTE'];
  let natural = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r.cells[i]!.length)));
  if (sum(natural) + GAP * (natural.length - 1) > width) {
    // Names need the room more than digests need 12 digits: 8 still tell two digests apart.
    for (const r of rows) for (const i of [3, 4]) r.cells[i] = r.cells[i]!.slice(0, SHORT_DIGEST);
    natural = natural.map((w, i) =>
      i >= 3 ? Math.min(w, Math.max(SHORT_DIGEST, header[i]!.length)) : w,
    );
  }
  const widths = fitColumns(natural, width);
  const line = (cells: string[], style: (i: number) => Style | undefined) =>
    cells
      .map((cell, i) => {
        const text =
          i === 0 ? middleEllipsis(cell, widths[0]!) : i === 1 ? fitImage(cell, widths[1]!) : cell;
        const s = style(i);
        const pad = i < cells.length - 1 ? ' '.repeat(widths[i]! - text.length + GAP) : '';
        return (s ? paint(s, text) : text) + pad;
      })
      .join('');
  const summary = summaryLines(images, rows.length, options.durationSeconds, paint, width);
  const newer = images.flatMap(({ record: { image, version: v } }) =>
    v?.newer
      ? [`${paint('yellow', 'newer version:')} ${image}: ${v.current} -> ${v.latest} (${v.diff})`]
      : [],
  );
  const problems = images
    .filter((i) => i.record.status === 'error')
    .map((i) => `${paint('red', 'error:')} ${i.record.image}: ${i.record.error ?? 'unknown'}`);
  return [
    line(header, () => 'bold'),
    ...rows.map((r) => line(r.cells, (i) => (i === 2 ? statusStyle[r.status] : undefined))),
    '',
    ...summary,
    ...[...newer, ...problems].flatMap((l) => wrapText(l, width)),
  ].join('\n');
}

/**
 * Column widths that fit `width`: STATUS and the digests keep theirs; CONTAINER and IMAGE share
 * what is left, the container name getting at most a third when both do not fit.
 */
function fitColumns(natural: number[], width: number): number[] {
  const [container, image, ...fixed] = natural as [number, number, ...number[]];
  const room = width - sum(fixed) - GAP * (natural.length - 1);
  if (container + image <= room) return natural;
  const c = Math.min(container, Math.max('CONTAINER'.length, Math.floor(room / 3)));
  const i = Math.min(image, room - c);
  // An image column narrower than its share gives the rest back to the container names.
  return [Math.min(container, room - i), i, ...fixed];
}

/** An image reference in `width` columns: Docker Hub's short form first, then a middle ellipsis. */
function fitImage(image: string, width: number): string {
  if (image.length <= width) return image;
  return middleEllipsis(image.replace(/^docker\.io\/(library\/)?/, ''), width);
}

/** The counts, each image once, and the run's time; wrapped between items, never inside one. */
function summaryLines(
  images: ImageState[],
  containers: number,
  duration: number | undefined,
  paint: Paint,
  width: number,
): string[] {
  const outdated = images.filter((i) => i.record.updateAvailable).length;
  const errors = images.filter(
    (i) => !i.record.updateAvailable && i.record.status === 'error',
  ).length;
  const skipped = images.filter(
    (i) => !i.record.updateAvailable && i.record.status === 'skip',
  ).length;
  const current = images.length - outdated - errors - skipped;
  const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
  const parts = [
    outdated ? paint('yellow', `${outdated} outdated`) : '0 outdated',
    ...(errors ? [paint('red', plural(errors, 'error'))] : []),
    ...(skipped ? [`${skipped} skipped`] : []),
    current ? paint('green', `${current} up to date`) : '0 up to date',
    ...(duration !== undefined ? [`checked in ${formatDuration(duration)}`] : []),
  ];
  const lines: string[] = [];
  let line = `${plural(images.length, 'image')} (${plural(containers, 'container')}):`;
  parts.forEach((part, i) => {
    const item = i < parts.length - 1 ? `${part},` : part;
    if (visibleLength(`${line} ${item}`) <= width) line = `${line} ${item}`;
    else {
      lines.push(line);
      line = `  ${item}`;
    }
  });
  return [...lines, line];
}

/** `340 ms`, `2.1 s`, `3 min 5 s`. */
export function formatDuration(seconds: number): string {
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const whole = Math.round(seconds);
  return `${Math.floor(whole / 60)} min ${whole % 60} s`;
}
