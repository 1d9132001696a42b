// The built CLI on bad input: a bad diun.yml stops `serve` before it listens, with every problem
// named by key path; `validate` lists the same; a bad state file does not stop it.
import { spawn } from 'node:child_process';
import {
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stateVersion } from '../../src/state/store.js';
import { configFiles } from '../support/config-files.js';
import { freePort, stopWithProcess, waitFor } from '../support/exec.js';
import { startExporter } from '../support/exporter.js';

const cli = resolve(import.meta.dirname, '..', '..', 'dist', 'cli.js');
const dir = mkdtempSync(join(tmpdir(), 'bad-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Exit {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/**
 * Runs `node dist/cli.js ARGS` to its end (killed after 15 s, which fails the test), under the
 * command `wrap` when given.
 */
function runCli(args: string[], env: NodeJS.ProcessEnv = {}, wrap: string[] = []): Promise<Exit> {
  if (!existsSync(cli)) throw new Error(`${cli} is missing: run \`npm run build\` first`);
  const started = Date.now();
  const [program = process.execPath, ...before] = [...wrap, process.execPath];
  return new Promise((done, fail) => {
    const child = spawn(program, [...before, cli, ...args], {
      env: { PATH: process.env.PATH, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    stopWithProcess(child, 'SIGKILL');
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b));
    child.stderr.on('data', (b: Buffer) => (stderr += b));
    child.on('error', fail);
    child.on('close', (code) => {
      clearTimeout(timer);
      done({ code, stdout, stderr, ms: Date.now() - started });
    });
  });
}

/** Whether something accepts TCP connections on 127.0.0.1:port. */
function accepts(port: number): Promise<boolean> {
  return new Promise((answer) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      answer(true);
    });
    socket.once('error', () => answer(false));
  });
}

const { write } = configFiles(dir);

const MISSING = join(dir, 'no-such-secret');
const DANGLING = join(dir, 'dangling');
symlinkSync(join(dir, 'deleted'), DANGLING);

/** A file with a problem in most sections; `metrics.addr` is the port it must never open. */
function manyProblems(port: number): string {
  return `
watch:
  workers: 0
  schedule: "0 noon * * *"
  jitter: 30
  foo: 1
defaults:
  includeTags: ["("]
  maxTags: many
regopts:
  - name: docker.io
    passwordFile: ${MISSING}
providers:
  docker:
    endpoint: socket-proxy:2375
  kubernetes:
    tokenFile: ${DANGLING}
db:
  path: [a]
metrics:
  addr: 127.0.0.1:${port}
  tokenFile: ${DANGLING}
`;
}

const MANY_PROBLEMS = [
  '  watch.workers: expected integer >= 1',
  '  watch.schedule: invalid cron expression "0 noon * * *": illegal characters in the hour field: "noon"',
  '  watch.jitter: invalid duration "30": missing unit (ns, us, ms, s, m, h)',
  '  watch.foo: unknown key',
  '  defaults.maxTags: expected integer >= 0',
  '  defaults.includeTags[0]: invalid regular expression: missing closing ): `(`',
  '  db.path: expected a string',
  '  providers.docker.endpoint: expected a unix://, tcp://, http:// or https:// address',
];

describe('serve with a bad diun.yml', () => {
  it('exits 1 within seconds, names every problem by key path, and never listens', async () => {
    const port = await freePort();
    const result = await runCli(['serve', '--config', write(manyProblems(port))]);
    expect(result.code).toBe(1);
    expect(result.ms).toBeLessThan(5_000);
    const lines = result.stderr.trimEnd().split('\n');
    expect(lines[0]).toBe('invalid configuration:');
    // The *File problems come first (they are found while reading), then the schema's.
    expect(lines.slice(1, 4).sort()).toEqual(
      [
        `  regopts[0].passwordFile: cannot read "${MISSING}": no such file (ENOENT)`,
        `  providers.kubernetes.tokenFile: cannot read "${DANGLING}": no such file (ENOENT)`,
        `  metrics.tokenFile: cannot read "${DANGLING}": no such file (ENOENT)`,
      ].sort(),
    );
    expect(lines.slice(4).sort()).toEqual([...MANY_PROBLEMS].sort());
    expect(result.stdout + result.stderr).not.toContain('listening');
    expect(await accepts(port)).toBe(false);
  });

  it.each([
    [
      'a YAML syntax error',
      'watch:\n  workers: [1\n',
      (f: string) =>
        `${f}: invalid YAML at line 3, column 1: Flow sequence in block collection must be sufficiently indented and end with a ]`,
    ],
    ['a list instead of a mapping', '- watch\n- metrics\n', () => '(root): expected a mapping'],
    [
      'two YAML documents',
      'watch: {}\n---\nmetrics: {}\n',
      (f: string) =>
        `${f}: invalid YAML at line 2, column 1: more than one document (a second "---"); diun.yml is one document`,
    ],
  ])('exits 1 on %s', async (_what, content, problem) => {
    const file = write(content);
    const result = await runCli(['serve', '--config', file]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`invalid configuration:\n  ${problem(file)}\n`);
    expect(result.stdout).toBe('');
  });

  it.each([
    ['missing', join(dir, 'nowhere.yml'), 'no such file (ENOENT)'],
    ['a folder', dir, 'is a directory (EISDIR)'],
    ['a dangling symlink (root reads a mode-000 file)', DANGLING, 'no such file (ENOENT)'],
  ])('exits 1 when the config file is %s', async (_what, file, why) => {
    const result = await runCli(['serve', '--config', file]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`invalid configuration:\n  ${file}: cannot read: ${why}\n`);
  });

  it('names the DIUN_* variable behind a bad value, and still does not listen', async () => {
    const port = await freePort();
    const file = write(`metrics:\n  addr: 127.0.0.1:${port}\n`);
    const result = await runCli(['serve'], {
      DIUN_CONFIG: file,
      DIUN_WATCH_WORKERS: 'lots',
      DIUN_DEFAULTS_SORTTAGS: 'newest',
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      'invalid configuration:\n' +
        '  watch.workers: expected integer >= 1 (from DIUN_WATCH_WORKERS)\n' +
        '  defaults.sortTags: expected one of default, reverse, semver, lexicographical (from DIUN_DEFAULTS_SORTTAGS)\n',
    );
    expect(await accepts(port)).toBe(false);
  });
});

describe('validate', () => {
  it('lists every problem, exits 1, and says a good file is valid', async () => {
    const port = await freePort();
    const bad = await runCli(['validate', '--config', write(manyProblems(port))]);
    expect(bad.code).toBe(1);
    const lines = bad.stderr.trimEnd().split('\n');
    expect(lines[0]).toBe('invalid configuration:');
    expect(lines).toHaveLength(1 + 3 + MANY_PROBLEMS.length);
    expect(lines).toEqual(expect.arrayContaining(MANY_PROBLEMS));

    const good = write('watch:\n  schedule: "@midnight"\n');
    expect(await runCli(['validate', '--config', good])).toMatchObject({
      code: 0,
      stdout: `${good}: configuration is valid\n`,
    });
  });
});

describe('serve with a bad state file', () => {
  it.each([
    ['corrupted', Buffer.from([0x7b, 0x22, 0x76, 0xff, 0x00, 0x13, 0x37])],
    ['from a future release', Buffer.from('{"version": 9, "images": {"x": 1}}')],
    ['a folder', undefined],
  ])(
    'starts when it is %s, says so, keeps it aside and writes a new one',
    async (_what, content) => {
      const stateDir = mkdtempSync(join(dir, 'state-'));
      const statePath = join(stateDir, 'state.json');
      if (content === undefined) mkdirSync(statePath);
      else writeFileSync(statePath, content);
      const exporter = await startExporter({ db: { path: statePath } });
      try {
        expect(exporter.output()).toMatch(/level=warn msg="state file unusable, starting afresh"/);
        const aside = readdirSync(stateDir).find((f) => /^state\.json\.bad-\d+$/.test(f));
        expect(aside).toBeDefined();
        if (content !== undefined) expect(readFileSync(join(stateDir, aside!))).toEqual(content);
        // The first run (nothing to watch) ends, and its state replaces the bad file.
        await waitFor(
          () => {
            try {
              return JSON.parse(readFileSync(statePath, 'utf8')).version === stateVersion;
            } catch {
              return false;
            }
          },
          { what: 'a new state file' },
        );
        expect((await fetch(`${exporter.url}/-/ready`)).status).toBe(200);
      } finally {
        await exporter.stop();
      }
    },
  );
});

describe('serve with a state file it may not read', () => {
  it('refuses to start, naming the file and the fix, and leaves the file where it is', async () => {
    const stateDir = mkdtempSync(join(dir, 'state-'));
    const statePath = join(stateDir, 'state.json');
    writeFileSync(statePath, '{"version": 2, "images": [], "containers": []}', { mode: 0o600 });
    // Owned by another user: root reads it anyway, so the exporter runs as root without the
    // capabilities that bypass file permissions, as an unprivileged user would be.
    chownSync(statePath, 65534, 65534);
    const port = await freePort();
    const config = write(`db:\n  path: ${statePath}\nmetrics:\n  addr: 127.0.0.1:${port}\n`);
    const result = await runCli(['serve', '--config', config], {}, [
      'setpriv',
      '--bounding-set=-dac_override,-dac_read_search',
      '--',
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      `diun-exporter: cannot read the state file ${statePath} (EACCES: permission denied). ` +
        'Refusing to start afresh',
    );
    expect(result.stderr).toMatch(/give the user the exporter runs as \(uid 0\) read and write/);
    expect(await accepts(port)).toBe(false);
    expect(readdirSync(stateDir)).toEqual(['state.json']);
  });
});
