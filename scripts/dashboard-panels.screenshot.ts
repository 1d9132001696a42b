import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { parse } from 'yaml';
import { substitute } from '../test/support/dashboard.js';
import { fileDockerd } from '../test/support/dockerd.js';
import { requireBinary, waitFor } from '../test/support/exec.js';
import { type ExporterProcess, startExporter } from '../test/support/exporter.js';
import { makeImage, publish, pushImage, runContainer } from '../test/support/images.js';
import { type Prometheus, startPrometheus } from '../test/support/prometheus.js';
import { type Registry, startRegistry } from '../test/support/registry.js';
import { dashboardPage, type PanelData } from './dashboard-panels-html.js';

// Writes docs/dashboard-panels.png: the shipped Grafana dashboard's panels, each query evaluated
// by the real Prometheus (shipped prometheus.yml and rules, scraping every 2 s instead of 15 s)
// on the built exporter watching three containers in the real dockerd, one of them outdated.
// Run with `npm run screenshot:dashboard`.
const root = resolve(import.meta.dirname, '..');
const dockerd = fileDockerd();
const docker = dockerd.docker;
const suffix = randomUUID().slice(0, 8);
const names = [`shop-web-${suffix}`, `shop-worker-${suffix}`, `cache-${suffix}`];
const token = `dash-${suffix}`;
let registry: Registry;
let exporter: ExporterProcess;
let prometheus: Prometheus;

beforeAll(async () => {
  registry = await startRegistry();
  const web = `${registry.host}/shop/web:1.4`;
  const cache = `${registry.host}/team/cache:7`;
  await publish(docker, web, `v1 ${suffix}`);
  await publish(docker, cache, `c ${suffix}`);
  const shop = (service: string) => ({
    'diun.enable': 'true',
    'com.docker.compose.project': 'shop',
    'com.docker.compose.service': service,
  });
  await runContainer(docker, web, names[0]!, shop('web'));
  await runContainer(docker, web, names[1]!, shop('worker'));
  await runContainer(docker, cache, names[2]!, { 'diun.enable': 'true' });
  exporter = await startExporter(
    {
      watch: { schedule: '*/5 * * * * *', jitter: '0s' },
      metrics: { token },
      providers: { docker: { endpoint: dockerd.host, watchByDefault: false } },
    },
    { token },
  );
  const config = parse(
    (await readFile(join(root, 'prometheus', 'prometheus.yml'), 'utf8'))
      .replaceAll('diun-exporter:8080', new URL(exporter.url).host)
      .replaceAll('/etc/prometheus/', ''),
  ) as { global: Record<string, string>; alerting?: unknown };
  config.global.scrape_interval = '2s';
  config.global.evaluation_interval = '2s';
  config.global.scrape_timeout = '2s';
  delete config.alerting;
  prometheus = await startPrometheus(config, {
    'rules/diun-exporter.rules.yml': await readFile(
      join(root, 'prometheus', 'rules', 'diun-exporter.rules.yml'),
      'utf8',
    ),
    'secrets/diun-exporter-token': token,
  });
  // Some history first, then the push: the web image's tag moves while both shop containers run.
  await new Promise((r) => setTimeout(r, 20_000));
  await makeImage(docker, web, { variant: `v2 ${suffix}` });
  await pushImage(docker, web);
});

afterAll(async () => {
  await prometheus?.stop();
  await exporter?.stop();
  await docker(['rm', '-f', ...names]).catch(() => undefined);
  await registry?.stop();
});

it('writes docs/dashboard-panels.png', async () => {
  const file = join(root, 'grafana', 'dashboards', 'diun-exporter.json');
  const dashboard = JSON.parse(await readFile(file, 'utf8')) as {
    title: string;
    panels: Array<{
      title: string;
      type: string;
      fieldConfig?: { defaults?: { unit?: string } };
      targets?: Array<{ expr: string }>;
    }>;
  };
  const vars = { job: 'diun-exporter', instance: new URL(exporter.url).host };
  await waitFor(
    async () =>
      (await prometheus.query(substitute(dashboard.panels[0]!.targets![0]!.expr, vars)))[0]
        ?.value === 2 || undefined,
    { timeoutMs: 60_000, intervalMs: 1_000, what: 'Prometheus to see two outdated containers' },
  );
  // A minute of rates after the push, as a dashboard would show them.
  await new Promise((r) => setTimeout(r, 30_000));
  const panels: PanelData[] = [];
  for (const p of dashboard.panels) {
    const series = [];
    for (const t of p.targets ?? []) {
      for (const s of await prometheus.query(substitute(t.expr, vars))) {
        series.push({ labels: s.metric, value: s.value });
      }
    }
    panels.push({ title: p.title, type: p.type, unit: p.fieldConfig?.defaults?.unit, series });
  }
  expect(panels.filter((p) => p.series.length > 0).length).toBeGreaterThan(5);

  const browser = await chromium.launch({
    executablePath: requireBinary('chromium', 'chromium'),
    args: ['--no-sandbox'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 400 } });
    await page.setContent(dashboardPage(dashboard.title, panels, new Date()));
    await page.screenshot({ path: join(root, 'docs', 'dashboard-panels.png'), fullPage: true });
  } finally {
    await browser.close();
  }
});
