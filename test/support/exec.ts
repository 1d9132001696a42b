import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import type { Server as HttpServer } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import { type AddressInfo, connect, createServer } from 'node:net';
import { delimiter, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  input?: string | Buffer;
  cwd?: string;
}

export interface RunResult {
  stdout: string;
  stderr: string;
}

/** Runs a command to completion; rejects with its stderr when it exits non-zero. */
export function run(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: opts.env ?? process.env, cwd: opts.cwd });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const stdout = Buffer.concat(out).toString();
      const stderr = Buffer.concat(err).toString();
      if (code === 0) resolve({ stdout, stderr });
      else {
        const how = signal ? `signal ${signal}` : `code ${code}`;
        reject(new Error(`${cmd} ${args.join(' ')} failed with ${how}: ${stderr.trim()}`));
      }
    });
    child.stdin.end(opts.input);
  });
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Whether something accepts TCP connections on 127.0.0.1:`port` now. */
export function acceptsConnections(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export interface WaitOptions {
  timeoutMs?: number;
  intervalMs?: number;
  what: string;
}

/**
 * Polls `fn` until it returns something truthy and returns that. A falsy result means "not yet";
 * a thrown error ends the wait at once, so a probe can abort when its process has died.
 */
export async function waitFor<T>(
  fn: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  { timeoutMs = 10_000, intervalMs = 100, what }: WaitOptions,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() >= deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

// Root's PATH on some images lacks the sbin folders, where dockerd lives.
const extraDirs = ['/usr/local/sbin', '/usr/sbin', '/sbin'];

/** The absolute path of an executable on PATH (or in an sbin folder), or undefined. */
export function findBinary(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), ...extraDirs];
  for (const dir of dirs.filter(Boolean)) {
    const path = join(dir, name);
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // not in this folder
    }
  }
  return undefined;
}

/** The absolute path of `name`; throws naming the Debian package that provides it. */
export function requireBinary(name: string, debianPackage: string): string {
  const path = findBinary(name);
  if (!path) {
    throw new Error(
      `${name} not found: install Debian package ${debianPackage} (apt-get install -y ${debianPackage})`,
    );
  }
  return path;
}

// Children that must not outlive this process. Vitest ends its workers with SIGTERM, which skips
// 'exit' handlers, so the signals are caught too (and re-raised when nobody else handles them).
const children = new Map<ChildProcess, NodeJS.Signals>();
let reaperInstalled = false;

/** Sends `signal` to `child` if this process ends (exit, SIGTERM, SIGINT) while it still runs. */
export function stopWithProcess(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): void {
  children.set(child, signal);
  child.once('exit', () => children.delete(child));
  if (reaperInstalled) return;
  reaperInstalled = true;
  const reap = () => {
    for (const [c, sig] of children) c.kill(sig);
  };
  process.on('exit', reap);
  for (const sig of ['SIGTERM', 'SIGINT'] as const) {
    process.once(sig, () => {
      reap();
      if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
    });
  }
}

/** Sends SIGTERM and waits for the exit, with SIGKILL after `graceMs` if the program hangs. */
export async function terminate(child: ChildProcess, graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/**
 * Listens on 127.0.0.1 (`port` 0: any free one); `close` also ends kept-alive connections, so a
 * test's stand-in never holds the run open.
 */
export async function listenOnLoopback(
  server: HttpServer | HttpsServer,
  port = 0,
): Promise<{ port: number; close: () => Promise<void> }> {
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
