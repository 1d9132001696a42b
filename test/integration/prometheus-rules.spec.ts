import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localPaths } from '../support/alert-rig.js';
import { requireBinary } from '../support/exec.js';

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
    // Only the paths change: /etc/prometheus/ becomes this folder, the secret its secrets/.
    await writeFile(join(dir, 'prometheus.yml'), localPaths(shipped, dir));
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
    expect(output).toContain('SUCCESS: 17 rules found');
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

// The rules on a real Prometheus scraping the real exporter, through to Alertmanager's email and
// Gotify message: test/e2e/alerting.spec.ts.
