// A file of many images removed while the exporter checks them: it stops asking the registry for
// images no provider lists any more, counts no failure for them, and /metrics forgets them. Both
// ways a check goes: a run, and the check of new images a provider event brings.
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
// The HEAD of a removed image during which its file is removed.
const AT = 10;
const WORKERS = 2;

const image = (name: string, i: number) => `registry.example.org/${name}-${i}:1`;
const entries = (name: string, count: number) =>
  Array.from({ length: count }, (_, i) => `- name: ${image(name, i)}\n`).join('');

let dir: string;
let images: string;
let exporter: Exporter | undefined;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'removed-during-run-'));
  images = join(dir, 'images');
  mkdirSync(images);
  writeFileSync(join(images, 'kept.yml'), entries('kept', KEPT));
});
afterEach(async () => {
  await exporter?.close();
  exporter = undefined;
  await rm(dir, { recursive: true, force: true });
});

/**
 * An exporter on the file provider's folder whose registry, at the AT-th HEAD of an image of
 * big.yml, removes that file; that HEAD and the ones after it answer once the watcher has seen
 * the new listing (its re-list publishes a new snapshot), as a slow registry would.
 */
function exporterRemovingBigFile() {
  let relisted: Promise<unknown> | undefined;
  let gone = 0;
  const remote = fakeRegistry(async (asked) => {
    if (asked.includes('/gone-') && ++gone === AT) {
      const before = exporter!.watcher.snapshot();
      rmSync(join(images, 'big.yml'));
      relisted = waitFor(() => exporter!.watcher.snapshot() !== before, {
        what: 'the watcher to re-list the file provider',
      });
    }
    await relisted;
    return digest('b');
  });
  const cfg = config({
    db: { path: join(dir, 'state.json') },
    watch: { workers: WORKERS },
    providers: { file: { directory: images } },
  });
  exporter = createExporter({ config: cfg }, { registry: remote.registry });
  exporter.watcher.subscribe();
  return { exporter, cfg, remote, relisted: () => relisted };
}

/** What a user sees afterwards: no removed image in /metrics or the API, no failure. */
async function expectOnlyKept(exp: Exporter, cfg: ReturnType<typeof config>) {
  const app = createExporterApp(exp, cfg);
  const metrics = (await request(app).get('/metrics').expect(200)).text;
  expect(metrics).not.toContain('/gone-');
  expect(metrics).toContain(`image="${image('kept', KEPT - 1)}"`);
  expect(metrics).not.toMatch(/^diun_image_check_failures_total\{.*\} [1-9]/m);
  const api = (await request(app).get('/api/v1/images').expect(200)).body as { images: unknown[] };
  expect(api.images).toHaveLength(KEPT);
  return metrics;
}

describe('images removed while the exporter checks them', () => {
  it('a run stops asking for them once the provider no longer lists them', async () => {
    writeFileSync(join(images, 'big.yml'), entries('gone', REMOVED));
    const { exporter: exp, cfg, remote, relisted } = exporterRemovingBigFile();

    const summary = await exp.watcher.run();
    await relisted();

    const asked = remote.heads.map((h) => h.image);
    // Only those asked for before the removal was seen, at most the workers past the one that
    // saw it: nowhere near the 300 the run had planned.
    expect(asked.filter((i) => i.includes('/gone-')).length).toBeLessThanOrEqual(AT + WORKERS);
    expect(asked.length).toBeLessThanOrEqual(AT + WORKERS + KEPT);
    for (let i = 0; i < KEPT; i++) expect(asked).toContain(image('kept', i));
    expect(summary.images).toMatchObject({ new: KEPT, error: 0 });
    const metrics = await expectOnlyKept(exp, cfg);
    // Checks made: the kept images and those asked for before the removal, no more.
    const checks = Number(/^diun_image_checks_total\{provider="file"\} (\d+)$/m.exec(metrics)?.[1]);
    expect(checks).toBeGreaterThanOrEqual(KEPT);
    expect(checks).toBeLessThanOrEqual(KEPT + AT + WORKERS);
  });

  it('the check of new images a file brought stops asking for them when the file goes', async () => {
    const { exporter: exp, cfg, remote, relisted } = exporterRemovingBigFile();
    await exp.watcher.run();
    expect(remote.heads).toHaveLength(KEPT);

    // A new file of 300 images: a refresh checks them (they were never seen), with no run.
    writeFileSync(join(images, 'big.yml'), entries('gone', REMOVED));
    const refreshed = exp.watcher.refresh();
    await waitFor(() => relisted(), { what: 'the big file to be removed mid-check' });
    await relisted();
    await refreshed;

    const askedGone = remote.heads.filter((h) => h.image.includes('/gone-'));
    expect(askedGone.length).toBeLessThanOrEqual(AT + WORKERS);
    await expectOnlyKept(exp, cfg);
  });
});
