import { localDigests } from '../watch/indexes.js';
import type { Snapshot } from '../watch/model.js';

const short = (digest: string | undefined) =>
  digest ? digest.replace(/^sha256:/, '').slice(0, 12) : '-';

const order = { update: 0, error: 1, new: 2, unchange: 3, skip: 4 } as const;

// An outdated image or container ranks with the updates whatever its status, so an image whose
// last check failed but that still runs an outdated container is seen with the outdated ones.
const rank = (s: { updateAvailable: boolean; status: keyof typeof order }) =>
  s.updateAvailable ? order.update : order[s.status];

/**
 * The `check` table: one row per container, aligned columns, then a summary. Images sort
 * outdated first, then failed, then the rest (by name within each); within an image, outdated
 * containers come first, the others by status in listing order.
 */
export function renderCheckTable(snapshot: Snapshot): string {
  const rows: string[][] = [];
  const images = [...snapshot.images].sort(
    (a, b) => rank(a.record) - rank(b.record) || a.record.image.localeCompare(b.record.image),
  );
  for (const img of images) {
    const remote = short(img.record.remoteDigest);
    const containers = [...img.containers].sort((a, b) => rank(a) - rank(b));
    for (const c of containers) {
      const local = short(localDigests(c.container, img.record)[0]);
      rows.push([c.container.name, img.record.image, c.status, local, remote]);
    }
  }
  const header = ['CONTAINER', 'IMAGE', 'STATUS', 'LOCAL', 'REMOTE'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  const outdated = images.filter((i) => i.record.updateAvailable);
  const errors = images.filter((i) => i.record.status === 'error');
  const summary =
    `${images.length} images, ${rows.length} containers: ${outdated.length} with an update available` +
    (errors.length ? `, ${errors.length} failed` : '');
  const problems = errors.map((i) => `error: ${i.record.image}: ${i.record.error ?? 'unknown'}`);
  const newer = images.flatMap(({ record: { image, version: v } }) =>
    v?.newer ? [`newer version: ${image}: ${v.current} -> ${v.latest} (${v.diff})`] : [],
  );
  return [line(header), ...rows.map(line), '', summary, ...newer, ...problems].join('\n');
}
