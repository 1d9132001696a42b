// A provider the rest of the exporter has never heard of (here a Nomad-like one, with labels of
// its own) is shown everywhere as it describes its containers: the metrics, the API, the status
// page and the `check` table take its series labels, place and update command as they are.
import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { renderCheckTable } from '../../../src/cli/check-table.js';
import { createExporter, createExporterApp } from '../../../src/exporter.js';
import { configureLog, stderrSink } from '../../../src/log.js';
import type { Provider, WatchedContainer } from '../../../src/providers/types.js';
import { config, container, digest, fakeRegistry } from '../watch/fixtures.js';

const NGINX = 'docker.io/library/nginx:latest';
let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'new-provider-'));
  configureLog({ sink: () => {} });
});
afterEach(async () => {
  configureLog({ sink: stderrSink });
  await rm(dir, { recursive: true, force: true });
});

const task: WatchedContainer = container({
  provider: 'nomad',
  endpoint: 'global',
  id: 'alloc-1/web',
  name: 'web',
  seriesLabels: { nomad_namespace: 'shop', nomad_job: 'storefront' },
  place: { host: 'alloc-1', group: 'shop / storefront', path: 'shop/storefront/web' },
  updateCommand: 'nomad job restart -namespace shop storefront',
});

const nomad: Provider = {
  name: 'nomad',
  list: async () => [task],
  subscribe() {},
  status: () => [{ provider: 'nomad', endpoint: 'global', up: true }],
  close: async () => {},
};

describe('a provider no other module knows', () => {
  it('is shown as it describes itself, with no edit outside its own file', async () => {
    const cfg = config({ db: { path: join(dir, 'state.json') } });
    const exporter = createExporter(
      { config: cfg },
      { providers: [nomad], registry: fakeRegistry(() => digest('b')).registry },
    );
    const app = createExporterApp(exporter, cfg);
    await exporter.watcher.run();

    const metrics = (await request(app).get('/metrics').expect(200)).text;
    expect(metrics).toContain(
      `diun_container_update_available{provider="nomad",endpoint="global",container="web",image="${NGINX}",compose_project="",compose_service="",nomad_namespace="shop",nomad_job="storefront"} 1\n`,
    );
    expect(metrics).toContain(`diun_image_update_available{provider="nomad",image="${NGINX}"} 1`);

    const api = (await request(app).get('/api/v1/images').expect(200)).body;
    expect(api.images[0].containers[0]).toMatchObject({
      name: 'web',
      place: task.place,
      updateCommand: 'nomad job restart -namespace shop storefront',
      status: 'update',
    });

    const page = (await request(app).get('/').expect(200)).text;
    expect(page).toContain('<td data-label="Compose">shop / storefront</td>');
    expect(page).toContain('<small>alloc-1</small>');
    expect(page).toContain('nomad job restart -namespace shop storefront');

    const table = renderCheckTable(exporter.watcher.snapshot());
    expect(table.split('\n')[1]).toMatch(/^shop\/storefront\/web\s+docker\.io\/library\/nginx/);
  });
});
