import { statuses } from '../state/records.js';
import type { ImagesView } from '../view/images.js';
import { type Html, html, raw } from './html.js';
import { otherRow, outdatedRow, type Row, rowsOf, when } from './page-rows.js';
import { type SnoozeView, snoozeCell, snoozeSection } from './page-snooze.js';
import { PAGE_STYLE } from './page-style.js';

// `GET /`: the status page for people, rendered on the server from the same view as
// `GET /api/v1/images` (so it shows nothing the API does not, and no secret). No JavaScript:
// the status filter is a set of links (`/?status=outdated`), the snooze buttons are plain forms.

const FILTERS = ['all', 'outdated', ...statuses] as const;
export type PageFilter = (typeof FILTERS)[number];

/** Headers for the page: no script may run, nothing is cached or framed. */
export const PAGE_HEADERS = {
  'Content-Security-Policy':
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-store',
} as const;

function isFilter(value: string): value is PageFilter {
  return (FILTERS as readonly string[]).includes(value);
}

/** The `status` query parameter as a filter, or the error to answer with 400. */
export function parseFilter(value: unknown): { status: PageFilter } | { error: string } {
  if (value === undefined || value === '') return { status: 'all' };
  if (typeof value !== 'string') return { error: 'status: give one value, not several' };
  if (isFilter(value)) return { status: value };
  return {
    error: `unknown status "${value.slice(0, 100)}": expected one of ${FILTERS.join(', ')}`,
  };
}

function matches(row: Row, filter: PageFilter): boolean {
  if (filter === 'all') return true;
  return filter === 'outdated' ? row.outdated : row.status === filter;
}

function table(id: string, title: string, heads: string[], rows: Html[], empty: string): Html {
  const body =
    rows.length > 0
      ? html`<table><thead><tr>${heads.map((h) => html`<th scope="col">${h}</th>`)}</tr></thead><tbody>${rows}</tbody></table>`
      : html`<p class="empty">${empty}</p>`;
  return html`<section id="${id}"><h2>${title}</h2>${body}</section>`;
}

function filterNav(all: Row[], active: PageFilter): Html {
  const links = FILTERS.map((f) => {
    const n = all.filter((r) => matches(r, f)).length;
    const href = f === 'all' ? '/' : `/?status=${f}`;
    return html`<a href="${href}"${raw(f === active ? ' aria-current="page"' : '')}>${f} <span>${n}</span></a>`;
  });
  return html`<nav class="filters" aria-label="Filter by status">${links}</nav>`;
}

const duration = (s: number) => (s < 1 ? `${Math.round(s * 1000)} ms` : `${s.toFixed(1)} s`);

function lastRunSection(view: ImagesView, all: Row[], now: number): Html {
  const run = view.lastRun;
  const down = view.providers.filter((p) => !p.up);
  const errors = [
    ...(run?.providerErrors ?? []),
    ...down.map(
      (p) => `${p.provider} endpoint ${p.endpoint} is down${p.error ? `: ${p.error}` : ''}`,
    ),
  ];
  const failed = all.filter((r) => r.status === 'error').length;
  const body = run
    ? html`<dl><dt>Finished</dt><dd>${when(run.finishedAt, now)}</dd>
<dt>Duration</dt><dd>${duration(run.durationSeconds)}</dd>
<dt>Images</dt><dd>${statuses.map((s) => `${run.images[s]} ${s}`).join(', ')}</dd>
<dt>Errors</dt><dd>${errors.length === 0 && failed === 0 ? 'none' : ''}${failed > 0 ? html`<a href="/?status=error">${failed} container(s) in error</a>` : ''}${errors.length > 0 ? html`<ul>${errors.map((e) => html`<li>${e}</li>`)}</ul>` : ''}</dd></dl>`
    : html`<p class="empty">No check has finished yet.</p>`;
  return html`<section id="last-run"><h2>Last run</h2>${body}</section>`;
}

const OUTDATED_HEADS = [
  'Container',
  'Compose',
  'Image',
  'Running',
  'New',
  'Newer version',
  'Since',
  'Update',
];
const OTHER_HEADS = ['Container', 'Compose', 'Image', 'Status', 'Running', 'Last check', 'Note'];

/**
 * The whole page: the outdated count, outdated containers first (with a snooze form each when
 * `snooze` is given), the rest, the snoozes in force, the last run.
 */
export function renderStatusPage(
  view: ImagesView,
  filter: PageFilter,
  metricsPath: string,
  now = Date.now(),
  snooze?: SnoozeView,
): string {
  const all = rowsOf(view.images);
  const shown = all.filter((r) => matches(r, filter));
  const outdated = shown.filter((r) => r.outdated);
  const others = shown.filter((r) => !r.outdated);
  const count = all.filter((r) => r.outdated).length;
  const sections: Html[] = [];
  if (outdated.length > 0 || filter === 'all' || filter === 'outdated') {
    const rows = outdated.map((r) =>
      outdatedRow(r, now, snooze && snoozeCell(r.image, snooze, now)),
    );
    const heads = snooze ? [...OUTDATED_HEADS, 'Snooze'] : OUTDATED_HEADS;
    sections.push(table('outdated', 'Outdated', heads, rows, 'Nothing is outdated.'));
  }
  if (others.length > 0 || (filter !== 'outdated' && filter !== 'update')) {
    const rows = others.map((r) => otherRow(r, now));
    const title = filter === 'all' ? 'Everything else' : `Status: ${filter}`;
    sections.push(table('others', title, OTHER_HEADS, rows, 'No container has this status.'));
  }
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${count} outdated · diun-exporter</title>
<style>${raw(PAGE_STYLE)}</style></head>
<body><header><h1>diun-exporter</h1>
<p class="count" id="outdated-count"><strong>${count}</strong> ${count === 1 ? 'container' : 'containers'} outdated, of ${all.length} watched</p>
${filterNav(all, filter)}</header>
<main>${sections}${snooze && snoozeSection(snooze, now)}${lastRunSection(view, all, now)}</main>
<footer><a href="${metricsPath}">${metricsPath}</a> · <a href="/api/v1/images">/api/v1/images</a></footer>
</body></html>
`.text;
}
