import { pullCommand } from '../providers/common.js';
import type { CheckStatus } from '../state/records.js';
import type { ImageView } from '../view/images.js';
import { type Html, html, safeHref } from './html.js';

// The status page's table rows: one per container, each value escaped by `html`.

type ContainerView = ImageView['containers'][number];

/** One line of the page: a container, or an image that has none listed. */
export interface Row {
  image: ImageView;
  container: ContainerView | undefined;
  outdated: boolean;
  status: CheckStatus;
}

/** The rows of the page: each container of each image, in the snapshot's order. */
export function rowsOf(images: ImageView[]): Row[] {
  return images.flatMap((image): Row[] =>
    image.containers.length > 0
      ? image.containers.map((c) => ({
          image,
          container: c,
          outdated: c.updateAvailable,
          status: c.status,
        }))
      : [{ image, container: undefined, outdated: image.updateAvailable, status: image.status }],
  );
}

const shortDigest = (d: string) => d.replace(/^sha256:/, '').slice(0, 12);
const digests = (list: string[]) =>
  list.length === 0
    ? '—'
    : list.map((d) => html`<code class="digest" title="${d}">${shortDigest(d)}</code> `);

function runningDigests(row: Row): string[] {
  const c = row.container;
  if (c && c.repoDigests.length > 0) return c.repoDigests;
  if (c?.pinnedDigest) return [c.pinnedDigest];
  return row.image.localDigests;
}

function ago(seconds: number): string {
  if (seconds < 120) return `${Math.max(0, Math.round(seconds))} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  if (seconds < 172_800) return `${Math.round(seconds / 3600)} h`;
  return `${Math.round(seconds / 86_400)} days`;
}

/** A moment as minutes in UTC, with how long ago it was (or how soon it comes: a snooze's end). */
export function when(iso: string | null, now: number): Html | string {
  if (!iso) return '—';
  const shown = `${iso.slice(0, 16).replace('T', ' ')} UTC`;
  const seconds = (now - Date.parse(iso)) / 1000;
  const relative = seconds < -1 ? `in ${ago(-seconds)}` : `${ago(seconds)} ago`;
  return html`<time datetime="${iso}">${shown}</time> <small>(${relative})</small>`;
}

function imageCell(image: ImageView, withRelease = false): Html {
  const page = safeHref(image.hubLink);
  const release = withRelease ? safeHref(image.releaseLink ?? '') : undefined;
  return html`<code>${image.image}</code>${page ? html` <a href="${page}" rel="noopener noreferrer">image page</a>` : ''}${release ? html` <a href="${release}" rel="noopener noreferrer">what changed</a>` : ''}`;
}

function containerCell(row: Row): Html {
  const c = row.container;
  if (!c) return html`<em>no container</em>`;
  return html`<strong>${c.name}</strong> <small>${c.place.host}</small>`;
}

// What the container belongs to: its Compose project and service, its namespace and workload.
const groupCell = (c: ContainerView | undefined) => c?.place.group || '—';

/** An outdated container's row; `extra` cells (the snooze form) go last. */
export function outdatedRow(row: Row, now: number, extra?: Html): Html {
  const { image, container: c } = row;
  const v = image.version;
  const command = c?.updateCommand ?? pullCommand(image.image);
  return html`<tr data-status="outdated">
<td data-label="Container">${containerCell(row)}</td>
<td data-label="Compose">${groupCell(c)}</td>
<td data-label="Image">${imageCell(image, true)}</td>
<td data-label="Running">${digests(runningDigests(row))}</td>
<td data-label="New">${digests(image.remoteDigest ? [image.remoteDigest] : [])}</td>
<td data-label="Newer version">${v?.newer ? `${v.current} → ${v.latest}` : '—'}</td>
<td data-label="Since">${when(image.remoteDigestSince, now)}</td>
<td data-label="Update"><code class="command">${command}</code></td>${extra ?? ''}
</tr>`;
}

function note(row: Row): string {
  const c = row.container;
  const problems = [...(c?.errors ?? []), ...(row.image.lastError ? [row.image.lastError] : [])];
  if (problems.length > 0) return problems.join('; ');
  return c?.skipReason ?? '';
}

export function otherRow(row: Row, now: number): Html {
  const { image, container: c } = row;
  return html`<tr data-status="${row.status}">
<td data-label="Container">${containerCell(row)}</td>
<td data-label="Compose">${groupCell(c)}</td>
<td data-label="Image">${imageCell(image)}</td>
<td data-label="Status"><span class="status ${row.status}">${row.status}</span></td>
<td data-label="Running">${digests(runningDigests(row))}</td>
<td data-label="Last check">${when(image.lastCheck, now)}</td>
<td data-label="Note">${note(row) || '—'}</td>
</tr>`;
}
