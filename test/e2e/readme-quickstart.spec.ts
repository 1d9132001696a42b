import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fileDockerd } from '../support/dockerd.js';
import { run, stopWithProcess, waitFor } from '../support/exec.js';

// A newcomer who follows only the README gets the exporter serving. The commands are
// read from README.md itself and run as written, in the checkout, except that the Docker socket
// is the test dockerd's and `npm ci` (already done to get here) is left out.
const root = resolve(import.meta.dirname, '..', '..');
const readme = readFileSync(resolve(root, 'README.md'), 'utf8');
const README_SOCKET = 'unix:///var/run/docker.sock';
const state = resolve(root, 'data', 'diun-exporter.json');
const kept = `${state}.before-readme-test`;

/** The README line that starts with `prefix`, in a ```sh block. */
function readmeLine(prefix: string): string {
  const line = readme.split('\n').find((l) => l.startsWith(prefix));
  if (!line) throw new Error(`README.md has no line starting with "${prefix}"`);
  return line;
}

// A dockerd of this file's own: files run in parallel, and none sees another's containers.
const dockerd = fileDockerd();

describe('the README quick start', () => {
  let server: ChildProcess | undefined;
  const dockerHost = dockerd.host;
  // The sample config keeps its state in data/ of the checkout: a developer's own is set aside.
  if (existsSync(state)) renameSync(state, kept);

  afterAll(async () => {
    if (server?.pid) {
      // sh, npm and node share the group; node saves its state on SIGTERM after npm has gone,
      // so the wait is for the whole group to be gone, not for the shell.
      const group = -server.pid;
      const alive = () => {
        try {
          process.kill(group, 0);
          return true;
        } catch {
          return false;
        }
      };
      if (alive()) process.kill(group, 'SIGTERM');
      await waitFor(async () => !alive(), {
        timeoutMs: 15_000,
        what: 'the README exporter to stop',
      });
    }
    rmSync(state, { force: true });
    if (existsSync(kept)) renameSync(kept, state);
  });

  it('serves /metrics, the API, a check and the status page with the first command', async () => {
    const command = readmeLine('npm ci && DIUN_PROVIDERS_DOCKER_ENDPOINT=');
    expect(command).toContain(README_SOCKET);
    const asRun = command.replace(/^npm ci && /, '').replace(README_SOCKET, dockerHost);
    let out = '';
    server = spawn('sh', ['-c', asRun], { cwd: root, detached: true });
    stopWithProcess(server, 'SIGKILL');
    server.stdout?.on('data', (d: Buffer) => (out += d));
    server.stderr?.on('data', (d: Buffer) => (out += d));
    await waitFor(
      async () => {
        if (server!.exitCode !== null) throw new Error(`the README command exited:\n${out}`);
        return (await fetch('http://127.0.0.1:8080/-/ready').catch(() => undefined))?.ok;
      },
      { timeoutMs: 90_000, what: `"${asRun}" to get ready on port 8080` },
    );

    // The curl lines that follow in the README, as fetches.
    const curls = readme.split('\n').filter((l) => /^curl (-X POST )?localhost:8080\//.test(l));
    expect(curls.length).toBeGreaterThanOrEqual(3);
    for (const line of curls) {
      const [, post, path] = /^curl (-X POST )?localhost:8080(\S+)/.exec(line)!;
      const res = await fetch(`http://127.0.0.1:8080${path}`, { method: post ? 'POST' : 'GET' });
      expect(res.status, line).toBe(200);
      await res.arrayBuffer();
    }
    const metrics = await (await fetch('http://127.0.0.1:8080/metrics')).text();
    expect(metrics).toMatch(/^diun_provider_up\{provider="docker",endpoint="[^"]*"\} 1$/m);
    const page = await (await fetch('http://127.0.0.1:8080/')).text();
    expect(page).toContain('<title>');
  });

  it('prints a table of every watched image with the one-check command', async () => {
    const command = readmeLine(
      `DIUN_PROVIDERS_DOCKER_ENDPOINT=${README_SOCKET} node dist/cli.js check`,
    );
    const [env, ...args] = command.split(' ');
    const [key, value] = env!.split('=') as [string, string];
    const res = await run(args[0]!, args.slice(1), {
      cwd: root,
      env: { ...process.env, [key]: value.replace(README_SOCKET, dockerHost) },
    });
    // Exit 0 (run() rejects otherwise) and the summary line under the table.
    expect(res.stdout).toMatch(/^\d+ images? \(\d+ containers?\)/m);
    expect(res.stdout).toMatch(/checked in /);
  });
});
