import { readFile } from 'node:fs/promises';

// Evaluates every panel query of a Grafana dashboard against a Prometheus query function
// (Grafana variables substituted) and lists the panels whose queries returned no data.
export type QueryFn = (expr: string) => Promise<unknown[]>;

export interface PanelResult {
  title: string;
  expr: string;
  empty: boolean;
}

export function substitute(expr: string, vars: Record<string, string> = {}): string {
  const all: Record<string, string> = {
    job: '.+',
    instance: '.+',
    __rate_interval: '1m',
    __range: '1h',
    __interval: '15s',
    ...vars,
  };
  return expr.replace(/\$\{?(\w+)\}?/g, (m, name: string) => all[name] ?? m);
}

export async function evaluateDashboard(
  file: string,
  query: QueryFn,
  vars?: Record<string, string>,
): Promise<PanelResult[]> {
  const dash = JSON.parse(await readFile(file, 'utf8')) as {
    panels: { title: string; targets?: { expr: string }[] }[];
  };
  const out: PanelResult[] = [];
  for (const panel of dash.panels) {
    for (const t of panel.targets ?? []) {
      const expr = substitute(t.expr, vars);
      const rows = await query(expr);
      out.push({ title: panel.title, expr, empty: rows.length === 0 });
    }
  }
  return out;
}
