import { randomUUID } from 'node:crypto';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { fileDockerd } from '../support/dockerd.js';
import { waitFor } from '../support/exec.js';
import { type ExporterProcess, startExporter } from '../support/exporter.js';
import { publish } from '../support/images.js';
import { find, type Sample, value } from '../support/metrics-text.js';
import { type Registry, startRegistry } from '../support/registry.js';

// Diun's file provider on the real registry and the built exporter: entries with no container
// behind them are outdated when the tag moves away from their pinned or first-recorded digest,
// and an edit of the file is seen without asking for a check.
// A dockerd of this file's own: files run in parallel, and none sees another's containers.
const dockerd = fileDockerd();

describe('file provider against a real registry', () => {
  const docker = dockerd.docker;
  const suffix = randomUUID().slice(0, 8);
  let registry: Registry;
  let exporter: ExporterProcess;
  let dir: string;
  let file: string;
  let app: string;
  let tool: string;
  let v1: string;
  let v2: string;

  const digestOf = async (ref: string) => {
    const out = await docker(['image', 'inspect', '--format', '{{json .RepoDigests}}', ref]);
    const digest = (JSON.parse(out) as string[])[0]?.split('@')[1];
    if (!digest) throw new Error(`${ref} has no RepoDigests`);
    return digest;
  };
  // As an editor saves: a new file renamed over the old one.
  const writeEntries = async (entries: Array<Record<string, unknown>>) => {
    await writeFile(`${file}.tmp`, stringify(entries));
    await rename(`${file}.tmp`, file);
  };
  const updateAvailable = (s: Sample[], image: string) =>
    value(s, 'diun_image_update_available', { provider: 'file', image });
  const check = async () => {
    const res = await fetch(`${exporter.url}/api/v1/check`, { method: 'POST' });
    expect(res.status).toBe(200);
    return exporter.scrape();
  };

  beforeAll(async () => {
    registry = await startRegistry();
    app = `${registry.host}/files/app:1.0`;
    tool = `${registry.host}/files/tool:2.0`;
    await publish(docker, app, `v1 ${suffix}`);
    await publish(docker, tool, `tool ${suffix}`);
    v1 = await digestOf(app);
    dir = await mkdtemp(join(tmpdir(), 'file-provider-'));
    file = join(dir, 'images.yml');
    await writeEntries([{ name: app }, { name: `${app}@${v1}` }, { name: tool, max_tags: 3 }]);
    exporter = await startExporter(
      {
        watch: { schedule: '', workers: 2 },
        providers: { file: { filename: file } },
      },
      { env: { LOG_LEVEL: 'debug' } },
    );
  });

  afterAll(async () => {
    await exporter?.stop();
    await registry?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
    await docker(['rmi', app, tool]).catch(() => undefined);
  });

  it('records the first digest as current: no update for either entry', async () => {
    const s = await exporter.until(
      (s) => updateAvailable(s, app) !== undefined && updateAvailable(s, tool) !== undefined,
      'the first check of the file entries',
    );
    expect(updateAvailable(s, app)).toBe(0);
    expect(updateAvailable(s, tool)).toBe(0);
    expect(value(s, 'diun_provider_up', { provider: 'file', endpoint: 'file' })).toBe(1);
    expect(
      value(s, 'diun_image_last_check_status', { provider: 'file', image: app, status: 'new' }),
    ).toBe(1);
  });

  it('gives memory back once the start-up check has ended, and after each run', async () => {
    const released = () =>
      exporter
        .output()
        .split('\n')
        .filter((l) => l.includes('msg="memory released"')).length;
    await waitFor(async () => released() >= 1, {
      timeoutMs: 10_000,
      what: 'a release after start-up',
    });
    const before = released();
    await check();
    await waitFor(async () => released() > before, {
      timeoutMs: 10_000,
      what: 'a release after the run',
    });
  });

  it('sees v2 pushed to the tag as an update', async () => {
    await publish(docker, app, `v2 ${suffix}`);
    v2 = await digestOf(app);
    expect(v2).not.toBe(v1);
    const s = await check();
    expect(updateAvailable(s, app)).toBe(1);
    expect(
      value(s, 'diun_image_last_check_status', { provider: 'file', image: app, status: 'update' }),
    ).toBe(1);
    expect(updateAvailable(s, tool)).toBe(0);
  });

  it('follows an edit of the file with no check asked: a removed entry goes, a new pin counts', async () => {
    const before = registry.requests({ userAgent: 'diun-exporter' });
    await writeEntries([{ name: `${app}@${v2}` }]);
    const s = await exporter.until(
      (s) =>
        updateAvailable(s, app) === 0 &&
        find(s, 'diun_image_update_available', { image: tool }).length === 0,
      'the pin on v2 to clear the update and the removed entry to disappear',
      10_000,
    );
    expect(find(s, 'diun_image_info', { image: tool })).toHaveLength(0);
    // Only the new entries were read: the registry already answered for this tag.
    expect(registry.requests({ userAgent: 'diun-exporter' })).toBe(before);

    const api = (await (await fetch(`${exporter.url}/api/v1/images`)).json()) as {
      images: Array<{ image: string; containers: Array<{ name: string; pinnedDigest: string }> }>;
    };
    const row = api.images.find((i) => i.image === app);
    expect(row?.containers).toEqual([
      expect.objectContaining({ name: `${app}@${v2}`, pinnedDigest: v2 }),
    ]);
  });

  it('reports a broken file as provider down and keeps the last good entries', async () => {
    await writeFile(file, `- name: ${app}\n  nmae: typo\n`);
    const s = await exporter.until(
      (s) => value(s, 'diun_provider_up', { provider: 'file', endpoint: 'file' }) === 0,
      'the file provider to report down',
      10_000,
    );
    expect(updateAvailable(s, app)).toBe(0);
    expect(exporter.output()).toContain('images.yml: [0].nmae: unknown key');
  });

  it('compares an unpinned entry with the first digest recorded, across a restart', async () => {
    await writeEntries([{ name: app }]);
    await exporter.until(
      (s) =>
        value(s, 'diun_provider_up', { provider: 'file', endpoint: 'file' }) === 1 &&
        updateAvailable(s, app) === 1,
      'the unpinned entry to be outdated against the first digest (v1)',
      10_000,
    );

    await exporter.kill();
    await exporter.restart();
    const s = await check();
    expect(updateAvailable(s, app)).toBe(1);
    expect(
      value(s, 'diun_image_last_check_status', { provider: 'file', image: app, status: 'update' }),
    ).toBe(1);
  });
});
