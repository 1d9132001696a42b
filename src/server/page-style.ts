// The status page's stylesheet, inline so the page is one request and needs no build. Below
// 760 px each table row becomes a card whose cells carry their column name (data-label).
export const PAGE_STYLE = `
:root { color-scheme: light dark; --fg: #1b1f24; --muted: #59636e; --line: #d1d9e0;
  --bg: #ffffff; --panel: #f6f8fa; --warn: #9a6700; --warn-bg: #fff8c5; --bad: #d1242f;
  --ok: #1a7f37; --link: #0969da; }
@media (prefers-color-scheme: dark) {
  :root { --fg: #e6edf3; --muted: #9198a1; --line: #3d444d; --bg: #0d1117; --panel: #151b23;
    --warn: #d29922; --warn-bg: #2e2408; --bad: #f85149; --ok: #3fb950; --link: #4493f8; }
}
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 1400px; padding: 1rem; background: var(--bg); color: var(--fg);
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
a { color: var(--link); }
h1 { font-size: 1.3rem; margin: 0 0 .25rem; }
h2 { font-size: 1.1rem; margin: 1.5rem 0 .5rem; }
code { font: 13px/1.4 ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace;
  overflow-wrap: anywhere; }
small { color: var(--muted); }
.count { font-size: 1.15rem; margin: .25rem 0 .75rem; }
.count strong { font-size: 2rem; color: var(--warn); vertical-align: -.2rem; }
.filters { display: flex; flex-wrap: wrap; gap: .4rem; }
.filters a { padding: .2rem .6rem; border: 1px solid var(--line); border-radius: 1rem;
  text-decoration: none; }
.filters a span { color: var(--muted); }
.filters a[aria-current] { background: var(--link); border-color: var(--link); color: var(--bg); }
.filters a[aria-current] span { color: inherit; }
table { width: 100%; border-collapse: collapse; }
th, td { text-align: left; vertical-align: top; padding: .4rem .5rem;
  border-bottom: 1px solid var(--line); }
th { background: var(--panel); font-weight: 600; }
#outdated tbody tr { background: var(--warn-bg); }
code.digest { white-space: nowrap; }
.command { display: block; user-select: all; padding: .25rem .4rem; background: var(--panel);
  border: 1px solid var(--line); border-radius: 4px; }
.status { font-weight: 600; }
.status.error { color: var(--bad); }
.status.unchange { color: var(--ok); }
.status.update { color: var(--warn); }
.empty { color: var(--muted); }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1rem; margin: 0; }
dt { color: var(--muted); }
dd { margin: 0; }
dd ul { margin: .25rem 0; padding-left: 1.2rem; color: var(--bad); }
.snoozed { margin: 0 0 .3rem; color: var(--muted); }
form.snooze { display: flex; flex-wrap: wrap; gap: .3rem; }
button { font: inherit; font-size: .85rem; padding: .1rem .5rem; cursor: pointer;
  color: var(--fg); background: var(--panel); border: 1px solid var(--line); border-radius: 4px; }
p.error { color: var(--bad); }
footer { margin-top: 2rem; padding-top: .5rem; border-top: 1px solid var(--line); }
@media (max-width: 760px) {
  body { padding: .6rem; }
  thead { display: none; }
  table, tbody, tr, td { display: block; width: 100%; }
  tr { margin-bottom: .75rem; border: 1px solid var(--line); border-radius: 6px; }
  td { position: relative; border-bottom: 0; padding: .3rem .5rem .3rem 9rem; }
  td::before { content: attr(data-label); position: absolute; left: .5rem; white-space: nowrap;
    color: var(--muted); font-weight: 600; }
}
`;
