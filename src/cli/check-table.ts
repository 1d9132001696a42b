import type { Snapshot } from '../watch/model.js';

const short = (digest: string | undefined) =>
  digest ? digest.replace(/^sha256:/, '').slice(0, 12) : '-';

/** The `check` table: one row per container, outdated first, aligned columns, then a summary. */
export function renderCheckTable(snapshot: Snapshot): string {
  const rows: string[][] = [];
  const order = { update: 0, error: 1, new: 2, unchange: 3, skip: 4 };
  const images = [...snapshot.images].sort(
    (a, b) =>
      order[a.record.status] - order[b.record.status] ||
      a.record.image.localeCompare(b.record.image),
  );
  for (const img of images) {
    const remote = short(img.record.remoteDigest);
    for (const c of img.containers) {
      const local = short(c.container.repoDigests[0]);
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
  return [line(header), ...rows.map(line), '', summary, ...problems].join('\n');
}
