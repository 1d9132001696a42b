// A file of many images removed while a run checks them: the run stops asking the registry for
// images no provider lists any more, counts no failure for them, and /metrics forgets them.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createExporter, createExporterApp, type Exporter } from '../../../src/exporter.js';
import { waitFor } from '../../support/exec.js';
import { config, digest, fakeRegistry } from './fixtures.js';

const KEPT = 20;
const REMOVED = 300;
// The HEAD during which the big file is removed.
const AT = 10;
const WORKERS = 2;

const image = (name: string, i: number) => `registry.example.org/${name}-${i}:1`;
const entries = (name: string, count: number) =>
  Array.from({ length: count }, (_, i) => `- name: ${image(name, i)}\n`).join('');

let dir: string;
let exporter: Exporter | undefined;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'removed-during-run-'));
});
afterEach(async () => {
  await exporter?.close();
  exporter = undefined;
  await rm(dir, { recursive: true, force: true });
});

describe('images removed while a run checks them', () => {
  it('are not asked for once the provider no longer lists them, and leave /metrics', async () => {
    const images = join(dir, 'images');
    mkdirSync(images);
    writeFileSync(join(images, 'kept.yml'), entries('kept', KEPT));
    writeFileSync(join(images, 'big.yml'), entries('gone', REMOVED));
    const cfg = config({
      db: { path: join(dir, 'state.json') },
      watch: { workers: WORKERS },
      providers: { file: { directory: images } },
    });
    let relisted: Promise<unknown> | undefined;
    const remote = fakeRegistry(async () => {
      if (remote.heads.length === AT) {
        // Remove the big file; this HEAD and those in flight with it answer once the watcher
        // has seen the new listing (its refresh publishes a new snapshot), as a slow registry
        // would.
        const before = exporter!.watcher.snapshot();
        rmSync(join(images, 'big.yml'));
        relisted = waitFor(() => exporter!.watcher.snapshot() !== before, {
          what: 'the watcher to re-list the file provider',
        });
      }
      await relisted;
      return digest('b');
    });
    exporter = createExporter({ config: cfg }, { registry: remote.registry });
    exporter.watcher.subscribe();

    const summary = await exporter.watcher.run();
    await relisted;

    const asked = remote.heads.map((h) => h.image);
    const askedGone = asked.filter((i) => i.includes('/gone-'));
    // Only those asked for before the removal was seen, at most the workers past the one that
    // waited: nowhere near the 300 the run had planned.
    expect(askedGone.length).toBeLessThanOrEqual(AT + WORKERS);
    expect(asked.length).toBeLessThanOrEqual(AT + WORKERS + KEPT);
    // Every image still listed was checked.
    for (let i = 0; i < KEPT; i++) expect(asked).toContain(image('kept', i));
    expect(summary.images).toMatchObject({ new: KEPT, error: 0 });

    const app = createExporterApp(exporter, cfg);
    const metrics = (await request(app).get('/metrics').expect(200)).text;
    expect(metrics).not.toContain('/gone-');
    expect(metrics).toContain(`image="${image('kept', KEPT - 1)}"`);
    expect(metrics).toMatch(/^diun_image_checks_total\{provider="file"\} 2\d$/m);
    expect(metrics).not.toMatch(/^diun_image_check_failures_total\{.*\} [1-9]/m);
    const api = (await request(app).get('/api/v1/images').expect(200)).body as {
      images: unknown[];
    };
    expect(api.images).toHaveLength(KEPT);
  });
});
