import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parse } from 'yaml';
import { dockerCli } from '../support/dockerd.js';
import { freePort, requireBinary, waitFor } from '../support/exec.js';
import { type ExporterProcess, startExporter } from '../support/exporter.js';
import { makeImage, publish, pushImage, runContainer } from '../support/images.js';
import { type Prometheus, startPrometheus } from '../support/prometheus.js';
import { type Registry, startRegistry } from '../support/registry.js';

// The shipped Prometheus config and rules, checked by the real promtool.
const root = resolve(import.meta.dirname, '..', '..');
const rulesFile = join(root, 'prometheus', 'rules', 'diun-exporter.rules.yml');

function promtool(args: string[], cwd = root) {
  const res = spawnSync(requireBinary('promtool', 'prometheus'), args, { cwd, encoding: 'utf8' });
  return { status: res.status, output: `${res.stdout}${res.stderr}` };
}

describe('prometheus config and rules (promtool)', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'promtool-'));
    await mkdir(join(dir, 'rules'), { recursive: true });
    await mkdir(join(dir, 'secrets'), { recursive: true });
    await writeFile(join(dir, 'rules', 'diun-exporter.rules.yml'), await readFile(rulesFile));
    await writeFile(join(dir, 'secrets', 'diun-exporter-token'), 'scrape-token');
    const shipped = await readFile(join(root, 'prometheus', 'prometheus.yml'), 'utf8');
    // Only the paths change: /etc/prometheus/ becomes this folder.
    await writeFile(join(dir, 'prometheus.yml'), shipped.replaceAll('/etc/prometheus/', `${dir}/`));
  });

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('passes promtool check config, rule files included', () => {
    const { status, output } = promtool(['check', 'config', join(dir, 'prometheus.yml')]);
    expect(status, output).toBe(0);
    expect(output).toContain('SUCCESS: 1 rule files found');
  });

  it('passes promtool check rules', () => {
    const { status, output } = promtool(['check', 'rules', rulesFile]);
    expect(status, output).toBe(0);
    expect(output).toContain('SUCCESS: 15 rules found');
  });

  it('passes every promtool unit test', async () => {
    const tests = (await readdir(join(root, 'prometheus', 'tests'))).filter((f) =>
      f.endsWith('.yml'),
    );
    expect(tests.length).toBeGreaterThan(0);
    const { status, output } = promtool([
      'test',
      'rules',
      ...tests.map((f) => join('prometheus', 'tests', f)),
    ]);
    expect(status, output).toBe(0);
    expect(output, output).not.toContain('FAILED');
    expect(output.match(/SUCCESS/g)?.length, output).toBe(tests.length);
  });
});

// The shipped config and rules on a real Prometheus (only targets and paths rewritten, shipped
// 15s intervals kept), scraping the real exporter over its bearer token.
describe('DiunContainerUpdateAvailable on a real Prometheus', () => {
  const docker = dockerCli(inject('dockerHost'));
  const suffix = randomUUID().slice(0, 8);
  const name = `web-${suffix}`;
  const token = `scrape-${suffix}`;
  let registry: Registry;
  let exporter: ExporterProcess;
  let prometheus: Prometheus;
  let tokenDir: string;
  let image: string;

  beforeAll(async () => {
    registry = await startRegistry();
    image = `${registry.host}/team/web:1.0`;
    await publish(docker, image, `v1 ${suffix}`);
    await runContainer(docker, image, name, {
      'com.docker.compose.project': 'shop',
      'com.docker.compose.service': 'web',
    });
    tokenDir = await mkdtemp(join(tmpdir(), 'token-'));
    await writeFile(join(tokenDir, 'token'), token);
    exporter = await startExporter({
      watch: { schedule: '*/5 * * * * *', jitter: '0s' },
      metrics: { tokenFile: join(tokenDir, 'token') },
      providers: { docker: { endpoint: inject('dockerHost'), watchByDefault: true } },
    });
    const exporterHost = new URL(exporter.url).host;
    const shipped = (await readFile(join(root, 'prometheus', 'prometheus.yml'), 'utf8'))
      .replaceAll('diun-exporter:8080', exporterHost)
      .replaceAll('alertmanager:9093', `127.0.0.1:${await freePort()}`)
      .replaceAll('/etc/prometheus/', '');
    prometheus = await startPrometheus(parse(shipped) as Record<string, unknown>, {
      'rules/diun-exporter.rules.yml': await readFile(rulesFile, 'utf8'),
      'secrets/diun-exporter-token': token,
    });
  });

  afterAll(async () => {
    await prometheus?.stop();
    await exporter?.stop();
    await docker(['rm', '-f', name]).catch(() => undefined);
    await registry?.stop();
    if (tokenDir) await rm(tokenDir, { recursive: true, force: true });
  });

  it('goes pending, then firing, with the labels and update command', async () => {
    await waitFor(
      async () =>
        (await prometheus.query(`diun_container_update_available{container="${name}"} == 0`))
          .length > 0,
      { timeoutMs: 45_000, intervalMs: 500, what: 'Prometheus to scrape the container at 0' },
    );
    await makeImage(docker, image, { variant: `v2 ${suffix}` });
    await pushImage(docker, image);
    const pushed = Date.now();
    const ours = async (state: string) =>
      (await prometheus.alerts()).find(
        (a) =>
          a.labels.alertname === 'DiunContainerUpdateAvailable' &&
          a.labels.container === name &&
          a.state === state,
      );
    const pending = await waitFor(() => ours('pending'), {
      timeoutMs: 60_000,
      intervalMs: 500,
      what: 'DiunContainerUpdateAvailable to be pending',
    });
    const pendingAfter = Date.now() - pushed;
    expect(pending.labels).toMatchObject({
      severity: 'warning',
      job: 'diun-exporter',
      provider: 'docker',
      endpoint: 'local',
      container: name,
      image,
      compose_project: 'shop',
      compose_service: 'web',
    });
    expect(pending.annotations.update_command).toBe(
      'docker compose -p shop pull web && docker compose -p shop up -d web',
    );
    expect(pending.annotations.description).toContain(`Container \`${name}\``);
    await waitFor(() => ours('firing'), {
      timeoutMs: 90_000,
      intervalMs: 500,
      what: 'DiunContainerUpdateAvailable to fire',
    });
    console.info(`push -> pending ${pendingAfter} ms, push -> firing ${Date.now() - pushed} ms`);
  }, 180_000);
});
