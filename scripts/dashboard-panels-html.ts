import { escapeHtml as esc } from '../src/server/html.js';

// The shipped dashboard's panels as one static HTML page: each panel's title, its query, and
// what Prometheus answered for it (a number, a table, or one bar per series). Grafana has no
// Debian package, so this stands in for a screenshot of Grafana itself.

export interface PanelData {
  title: string;
  type: string;
  unit: string | undefined;
  series: Array<{ labels: Record<string, string>; value: number }>;
}

function format(value: number, unit: string | undefined): string {
  if (!Number.isFinite(value)) return '—';
  if (unit === 'dateTimeAsIso') return new Date(value).toISOString().slice(0, 19).replace('T', ' ');
  if (unit === 's') return value < 1 ? `${(value * 1000).toFixed(0)} ms` : `${value.toFixed(1)} s`;
  if (unit === 'reqps') return `${value.toFixed(2)} req/s`;
  if (unit === 'bool') return value === 1 ? 'up' : 'down';
  return Number.isInteger(value) ? String(value) : value.toFixed(2);
}

const name = (labels: Record<string, string>) =>
  Object.entries(labels)
    .filter(([k]) => !['__name__', 'job', 'instance'].includes(k))
    .map(([k, v]) => `${k}=${v}`)
    .join(', ') || 'value';

function body(p: PanelData): string {
  if (p.series.length === 0) return '<p class="none">No data</p>';
  if (p.type === 'stat' && p.series.length === 1) {
    return `<p class="stat">${esc(format(p.series[0]!.value, p.unit))}</p>`;
  }
  if (p.type === 'table') {
    const keys = [...new Set(p.series.flatMap((s) => Object.keys(s.labels)))].filter(
      (k) => !['__name__', 'job', 'instance'].includes(k),
    );
    const head = [...keys, 'Value'].map((k) => `<th>${esc(k)}</th>`).join('');
    const rows = p.series
      .map(
        (s) =>
          `<tr>${keys.map((k) => `<td>${esc(s.labels[k] ?? '')}</td>`).join('')}<td>${esc(format(s.value, p.unit))}</td></tr>`,
      )
      .join('');
    return `<table><tr>${head}</tr>${rows}</table>`;
  }
  const width = (v: number) => (Number.isFinite(v) ? Math.abs(v) : 0);
  const max = Math.max(...p.series.map((s) => width(s.value)), 1e-9);
  return p.series
    .map(
      (s) =>
        `<div class="bar"><span class="label">${esc(name(s.labels))}</span><span class="track"><span style="width:${((width(s.value) / max) * 100).toFixed(1)}%"></span></span><span class="value">${esc(format(s.value, p.unit))}</span></div>`,
    )
    .join('');
}

/** One page with a card per panel, in the dashboard's order. */
export function dashboardPage(title: string, panels: PanelData[], at: Date): string {
  const cards = panels
    .map(
      (p) =>
        `<section class="${p.type === 'table' ? 'wide' : ''}"><h2>${esc(p.title)}</h2>${body(p)}</section>`,
    )
    .join('');
  return `<!doctype html><html><head><meta charset="utf-8"><style>
body { margin: 0; padding: 16px; background: #111217; color: #ccccdc; font: 13px system-ui, sans-serif; }
h1 { font-size: 18px; margin: 0 0 4px; } p.sub { margin: 0 0 12px; color: #8e8e9e; }
main { display: grid; grid-template-columns: repeat(4, 1fr); gap: 8px; }
section { background: #181b1f; border: 1px solid #2c3235; border-radius: 4px; padding: 8px 10px; min-height: 90px; }
section.wide { grid-column: span 2; }
h2 { font-size: 13px; font-weight: 600; margin: 0 0 8px; color: #d8d9da; }
.stat { font-size: 40px; font-weight: 600; color: #73bf69; margin: 4px 0; }
.none { color: #8e8e9e; }
table { border-collapse: collapse; width: 100%; font-size: 12px; }
th, td { text-align: left; padding: 3px 6px; border-bottom: 1px solid #2c3235; overflow-wrap: anywhere; }
th { color: #6e9fff; font-weight: 600; }
.bar { display: grid; grid-template-columns: minmax(0, 1.4fr) 1fr auto; gap: 6px; align-items: center; margin: 3px 0; font-size: 12px; }
.label { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.track { background: #22252b; height: 10px; border-radius: 2px; }
.track span { display: block; height: 10px; background: #5794f2; border-radius: 2px; }
</style></head><body><h1>${esc(title)}</h1>
<p class="sub">Each panel's query evaluated by Prometheus at ${esc(at.toISOString().slice(0, 19).replace('T', ' '))} UTC: the values now, not the graphs (Grafana itself has no Debian package)</p>
<main>${cards}</main></body></html>`;
}
