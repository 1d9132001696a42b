import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { fileDockerd } from '../support/dockerd.js';
import { freePort, requireBinary, run } from '../support/exec.js';
import { runBuiltCli } from '../support/exporter.js';
import { publish } from '../support/images.js';
import { type Registry, startRegistry } from '../support/registry.js';

// `diun-exporter check` as a user runs it, output piped: the built CLI on the real registry, with
// image names longer than a terminal is wide.
const cli = resolve(import.meta.dirname, '..', '..', 'dist', 'cli.js');

// Colour is decided by the CLI from the TTY, not by the environment the tests run in.
const runCli = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  runBuiltCli(args, { NO_COLOR: '', FORCE_COLOR: '', ...env });

// A dockerd of this file's own: files run in parallel, and none sees another's containers.
const dockerd = fileDockerd();

describe('check: the table on a pipe', () => {
  const docker = dockerd.docker;
  const suffix = Math.random().toString(36).slice(2, 8);
  const repo = 'a-team-with-a-rather-long-name/and-an-even-longer-repository-name-for-its-app';
  let registry: Registry;
  let dir: string;
  let configFile: string;
  let moved: string;
  let steady: string;
  let unreachable: string;

  beforeAll(async () => {
    if (!existsSync(cli)) throw new Error(`${cli} is missing: run \`npm run build\` first`);
    registry = await startRegistry();
    moved = `${registry.host}/${repo}:v1.2.3-alpine3.19-${suffix}`;
    steady = `${registry.host}/${repo}:stable-${suffix}`;
    unreachable = `127.0.0.1:${await freePort()}/${repo}:v9.9.9-${suffix}`;
    await publish(docker, moved, `v1 ${suffix}`);
    const [old] = JSON.parse(
      await docker(['image', 'inspect', '--format', '{{json .RepoDigests}}', moved]),
    ) as string[];
    // The tag moves on: the entry pinned to the old digest is outdated.
    await publish(docker, moved, `v2 ${suffix}`);
    await publish(docker, steady, `stable ${suffix}`);
    dir = await mkdtemp(join(tmpdir(), 'cli-check-'));
    const entries = join(dir, 'images.yml');
    await writeFile(
      entries,
      stringify([
        { name: `${moved}@${old!.split('@')[1]}` },
        { name: steady },
        { name: unreachable },
      ]),
    );
    configFile = join(dir, 'diun.yml');
    await writeFile(
      configFile,
      stringify({
        db: { path: join(dir, 'state.json') },
        providers: { file: { filename: entries } },
      }),
    );
  });

  afterAll(async () => {
    await registry?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
    await docker(['rmi', moved, steady]).catch(() => undefined);
  });

  it('fits 80 columns, has no colour codes, and ends with the summary', async () => {
    const out = await runCli(['check', '--config', configFile]);
    expect(out.code, out.stderr).toBe(0);
    const lines = out.stdout.trimEnd().split('\n');
    for (const line of lines) expect(line.length, line).toBeLessThanOrEqual(80);
    expect(out.stdout).not.toContain('\x1b');
    expect(out.stderr).not.toContain('\x1b');
    expect(lines[0]).toMatch(/^CONTAINER +IMAGE +STATUS +LOCAL +REMOTE$/);
    // Outdated first, then the failure, then the rest; long names lose their middle.
    expect(lines.slice(1, 4).map((l) => l.split(/ {2,}/)[2])).toEqual(['update', 'error', 'new']);
    expect(lines[1]).toContain('…');
    expect(lines).toContainEqual(
      expect.stringMatching(
        /^3 images \(3 containers\): 1 outdated, 1 error, 1 up to date, checked in \d/,
      ),
    );
    // The error, wrapped to the width, names the image and the refused connection.
    const errors = out.stdout.slice(out.stdout.indexOf('error: '));
    expect(errors.replace(/\n {2}/g, '')).toContain(`error: ${unreachable}:`);
    expect(errors).toContain('ECONNREFUSED');
  });

  it('colours with FORCE_COLOR, not with NO_COLOR as well', async () => {
    const forced = await runCli(['check', '--config', configFile], { FORCE_COLOR: '1' });
    expect(forced.stdout).toContain('\x1b[33mupdate\x1b[39m');
    const both = await runCli(['check', '--config', configFile], {
      FORCE_COLOR: '1',
      NO_COLOR: '1',
    });
    expect(both.stdout).not.toContain('\x1b');
  });

  it('keeps --json for scripts: JSON only on stdout, no progress; --exit-code says 1', async () => {
    const out = await runCli(['check', '--json', '--exit-code', '--config', configFile]);
    expect(out.code).toBe(1);
    const body = JSON.parse(out.stdout) as { images: Array<{ image: string; status: string }> };
    expect(body.images.map((i) => i.status).sort()).toEqual(['error', 'new', 'update']);
    expect(out.stderr).not.toContain('checking ');
    expect(out.stderr).not.toContain('listing containers');
  });

  it('on a terminal: progress on stderr, erased before the coloured table', async () => {
    // util-linux's `script` gives the CLI a pseudo-terminal for stdout and stderr alike.
    const script = requireBinary('script', 'bsdutils');
    const command = [process.execPath, cli, 'check', '--config', configFile]
      .map((a) => `'${a}'`)
      .join(' ');
    const { stdout } = await run(script, ['-qec', command, '/dev/null'], {
      env: { ...process.env, TERM: 'xterm', NO_COLOR: '', FORCE_COLOR: '', COLUMNS: '80' },
    });
    const screen = stdout.replaceAll('\r\n', '\n');
    expect(screen).toContain('listing containers…');
    expect(screen).toContain('\r\x1b[2Kchecking 3/3 images…');
    // The last progress line is erased, and the table starts where it was.
    expect(screen).toContain('checking 3/3 images…\r\x1b[2K\x1b[1mCONTAINER\x1b[22m');
    expect(screen).toContain('\x1b[33mupdate\x1b[39m');
    expect(screen).toContain(
      '\x1b[33m1 outdated\x1b[39m, \x1b[31m1 error\x1b[39m, \x1b[32m1 up to date\x1b[39m',
    );
  });
});
