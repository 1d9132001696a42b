import { type ChildProcess, spawn } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { requireBinary, run, stopWithProcess, terminate, waitFor } from './exec.js';

/** Runs the docker CLI with the given arguments and returns its stdout. */
export type DockerCli = (args: string[]) => Promise<string>;

export interface Dockerd {
  /** `unix:///tmp/dockerd-XXXXXX/docker.sock` */
  host: string;
  dir: string;
  docker: DockerCli;
  stop(): Promise<void>;
  /** Stops and starts again on the same socket and data root: images and containers stay. */
  restart(): Promise<void>;
  /** Stops, then removes the temporary folder with every image and container in it. */
  cleanup(): Promise<void>;
  /**
   * Kills dockerd with SIGKILL, as a crash or the OOM killer does: its socket stops answering
   * while the containers keep running under their shims. `restart()` starts it again.
   */
  kill(): Promise<void>;
}

/** A docker CLI bound to one daemon, for tests that only know its host. */
export function dockerCli(host: string): DockerCli {
  return async (args) =>
    (await run('docker', args, { env: { ...process.env, DOCKER_HOST: host } })).stdout;
}

/**
 * A docker CLI bound to the daemon at `host` with its own config folder `configDir`, logged in
 * to `registry` as `user` (the password goes in on stdin), so it can push to a registry behind a
 * token service.
 */
export async function loggedInDockerCli(
  host: string,
  configDir: string,
  registry: string,
  user: { name: string; password: string },
): Promise<DockerCli> {
  const env = { ...process.env, DOCKER_HOST: host, DOCKER_CONFIG: configDir };
  await run('docker', ['login', registry, '-u', user.name, '--password-stdin'], {
    env,
    input: user.password,
  });
  return async (args) => (await run('docker', args, { env })).stdout;
}

/**
 * Starts a private dockerd in a fresh temporary folder and waits until it answers on its unix
 * socket. `extraArgs` are added to its command line (another `--host`, TLS flags); vfs storage
 * unless `storageDriver` says otherwise (overlay2 copies nothing per layer, for image builds).
 * `dir` is a folder made for it beforehand (see `fileDockerd`).
 */
export async function startDockerd(
  opts: { extraArgs?: string[]; storageDriver?: 'vfs' | 'overlay2'; dir?: string } = {},
): Promise<Dockerd> {
  const binary = requireBinary('dockerd', 'docker.io');
  requireBinary('docker', 'docker.io');
  const dir = opts.dir ?? daemonDir();
  const socket = join(dir, 'docker.sock');
  // Our own (empty) daemon.json, so a machine's /etc/docker/daemon.json cannot change the daemon.
  writeFileSync(join(dir, 'daemon.json'), '{}\n');
  const args = [
    '--iptables=false',
    '--ip6tables=false',
    '--bridge=none',
    `--storage-driver=${opts.storageDriver ?? 'vfs'}`,
    `--config-file=${join(dir, 'daemon.json')}`,
    `--host=unix://${socket}`,
    `--data-root=${join(dir, 'root')}`,
    `--exec-root=${join(dir, 'exec')}`,
    `--pidfile=${join(dir, 'docker.pid')}`,
    // Test files run in parallel, each with daemons of its own: networks that Compose or a swarm
    // makes must not take the same subnet in two daemons at once, or the host's routes to them clash.
    `--default-address-pool=base=${addressPool()},size=24`,
    ...(opts.extraArgs ?? []),
  ];
  let child: ChildProcess | undefined = await launch(binary, args, dir, socket);

  const stop = async () => {
    if (child) await stopDaemon(child, dir);
    child = undefined;
  };
  return {
    host: `unix://${socket}`,
    dir,
    docker: dockerCli(`unix://${socket}`),
    stop,
    async restart() {
      await stop();
      child = await launch(binary, args, dir, socket);
    },
    async cleanup() {
      await stop();
      await unmountUnder(dir);
      await rm(dir, { recursive: true, force: true, maxRetries: 3 });
    },
    async kill() {
      const killed = child;
      child = undefined;
      if (!killed || killed.exitCode !== null || killed.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => killed.once('exit', () => resolve()));
      killed.kill('SIGKILL');
      await exited;
      // Its containerd too, which would otherwise outlive the test; the shims keep the containers.
      await stopDaemon(killed, dir);
      // Left to an init that does not reap, containerd stays a zombie whose pid still answers,
      // and the next dockerd would wait for it forever: forget that pid.
      rmSync(join(dir, 'exec', 'containerd', 'containerd.pid'), { force: true });
    },
  };
}

/** A short path: unix socket paths are limited to 108 bytes. */
function daemonDir(): string {
  return mkdtempSync(join(tmpdir(), 'dockerd-'));
}

let daemonsStarted = 0;

/**
 * A /16 of 10.0.0.0/8 no other daemon of this run takes at the same time: vitest gives each
 * worker running at once its own VITEST_POOL_ID, and a file starts at most a few daemons.
 */
function addressPool(): string {
  const worker = Number(process.env.VITEST_POOL_ID ?? 0) % 20;
  const octet = 10 + worker * 10 + (daemonsStarted++ % 10);
  return `10.${octet}.0.0/16`;
}

/**
 * A dockerd of the calling test file's own (call it at the top of a describe): its host is known
 * at once, the daemon starts before the describe's own beforeAll hooks and is removed, with every
 * image and container in it, after its afterAll hooks. Files run in parallel, and a daemon that
 * one file alone lists is one whose containers no other file sees.
 */
export function fileDockerd(): { host: string; docker: DockerCli; daemon(): Dockerd } {
  const dir = daemonDir();
  let started: Dockerd | undefined;
  beforeAll(async () => {
    started = await startDockerd({ dir });
  });
  afterAll(async () => {
    if (started) await started.cleanup();
    else await rm(dir, { recursive: true, force: true });
  });
  const host = `unix://${join(dir, 'docker.sock')}`;
  return {
    host,
    docker: dockerCli(host),
    daemon() {
      if (!started)
        throw new Error("the file's dockerd is not started yet (use it in a hook or a test)");
      return started;
    },
  };
}

async function launch(binary: string, args: string[], dir: string, socket: string) {
  const logPath = join(dir, 'dockerd.log');
  const log = openSync(logPath, 'a');
  const child = spawn(binary, args, { stdio: ['ignore', log, log] });
  closeSync(log);
  // SIGTERM: even as a last resort, dockerd should stop its containers on the way out.
  stopWithProcess(child, 'SIGTERM');
  try {
    await waitFor(
      () => {
        if (child.exitCode !== null || child.signalCode !== null) {
          throw new Error(`dockerd exited early: ${logTail(logPath)}`);
        }
        return ping(socket);
      },
      { timeoutMs: 30_000, what: `dockerd to answer /_ping (log: ${logPath})` },
    );
  } catch (error) {
    await stopDaemon(child, dir);
    throw error;
  }
  return child;
}

function ping(socket: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ socketPath: socket, path: '/_ping', timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

/** SIGTERM lets dockerd stop its containers and unmount; SIGKILL only if it hangs. */
async function stopDaemon(child: ChildProcess, dir: string) {
  await terminate(child, 15_000);
  // A killed dockerd leaves its own containerd behind; make sure the pid is still that one.
  const pidFile = join(dir, 'exec', 'containerd', 'containerd.pid');
  const pid = existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8').trim()) : 0;
  try {
    if (pid > 0 && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(dir)) {
      process.kill(pid, 'SIGKILL');
    }
  } catch {
    // already gone
  }
}

/** Lazily unmounts anything a killed daemon left mounted under `dir`, deepest first. */
async function unmountUnder(dir: string) {
  const mountPoints = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4] ?? '')
    .map((path) =>
      path.replace(/\\(\d{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8))),
    )
    .filter((path) => path === dir || path.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
  for (const path of mountPoints) {
    await run('umount', ['-l', path]).catch(() => undefined);
  }
}

function logTail(path: string) {
  return readFileSync(path, 'utf8').slice(-2000);
}
