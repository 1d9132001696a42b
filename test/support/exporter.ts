import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { freePort, stopWithProcess, waitFor } from './exec.js';
import { parseMetrics, type Sample } from './metrics-text.js';

const root = resolve(import.meta.dirname, '..', '..');
const cli = join(root, 'dist', 'cli.js');

export interface ExporterProcess {
  url: string;
  dir: string;
  configFile: string;
  statePath: string;
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string;
  /** The process id of the running exporter. */
  pid(): number | undefined;
  scrape(token?: string): Promise<Sample[]>;
  scrapeText(token?: string): Promise<string>;
  /** Waits until `predicate` holds on a scrape, naming `what` on timeout. */
  until(predicate: (s: Sample[]) => boolean, what: string, timeoutMs?: number): Promise<Sample[]>;
  kill(signal?: NodeJS.Signals): Promise<number | null>;
  /** Starts the process again on the same config and state file. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Runs the built exporter (`node dist/cli.js serve`) as a user would, with `config` written as
 * YAML; `metrics.addr` and `db.path` are filled in when missing. Waits for /-/healthy.
 */
export async function startExporter(
  config: Record<string, unknown>,
  opts: {
    env?: NodeJS.ProcessEnv;
    /** The metrics Bearer token that scrapes send unless given another. */
    token?: string;
  } = {},
): Promise<ExporterProcess> {
  if (!existsSync(cli)) throw new Error(`${cli} is missing: run \`npm run build\` first`);
  const dir = mkdtempSync(join(tmpdir(), 'exporter-'));
  const port = await freePort();
  const metrics = { addr: `127.0.0.1:${port}`, ...(config.metrics as object | undefined) };
  const statePath = join(dir, 'state.json');
  const db = { path: statePath, ...(config.db as object | undefined) };
  const configFile = join(dir, 'diun.yml');
  writeFileSync(configFile, stringify({ ...config, metrics, db }));
  const url = `http://${metrics.addr}`;
  let out = '';
  let child: ChildProcess;

  const launch = async () => {
    child = spawn(process.execPath, [cli, 'serve', '--config', configFile], {
      env: { ...process.env, ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    stopWithProcess(child, 'SIGKILL');
    child.stdout!.on('data', (b: Buffer) => (out += b));
    child.stderr!.on('data', (b: Buffer) => (out += b));
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`exporter exited ${child.exitCode}:\n${out}`);
        return (await fetch(`${url}/-/healthy`).catch(() => undefined))?.ok;
      },
      { timeoutMs: 15_000, what: `the exporter to serve ${url}/-/healthy` },
    );
  };
  await launch();

  const scrapeText = async (token = opts.token) => {
    const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
    const res = await fetch(`${url}${(metrics as { path?: string }).path ?? '/metrics'}`, {
      headers,
    });
    if (!res.ok) throw new Error(`scrape answered ${res.status}`);
    return res.text();
  };
  const kill = async (signal: NodeJS.Signals = 'SIGTERM') => {
    if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    child.kill(signal);
    return exited;
  };
  return {
    url,
    dir,
    configFile,
    statePath,
    output: () => out,
    pid: () => child.pid,
    scrapeText,
    scrape: async (token) => parseMetrics(await scrapeText(token)),
    async until(predicate, what, timeoutMs = 20_000) {
      try {
        return await waitFor(
          async () => {
            const s = parseMetrics(await scrapeText());
            return predicate(s) ? s : undefined;
          },
          { timeoutMs, intervalMs: 200, what },
        );
      } catch (err) {
        // The exporter's own log is what explains a wait that never ended.
        const tail = out.split('\n').slice(-40).join('\n');
        throw new Error(`${(err as Error).message}\nexporter log (last lines):\n${tail}`);
      }
    },
    kill,
    restart: launch,
    async stop() {
      await kill('SIGTERM');
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The built exporter on one Docker `endpoint`, as the Docker fault tests run it: every container
 * watched, no schedule (a check at start and on POST /api/v1/check), two workers, debug logs.
 */
export function startDockerExporter(endpoint: string): Promise<ExporterProcess> {
  return startExporter(
    {
      watch: { schedule: '', workers: 2 },
      providers: { docker: { endpoint, watchByDefault: true } },
    },
    { env: { LOG_LEVEL: 'debug' } },
  );
}

/** What a finished run of the built CLI left: its exit code and its whole output. */
export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `node dist/cli.js ...args` to its end, output piped, whatever its exit code. */
export function runBuiltCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [cli, ...args], { env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b));
    child.stderr.on('data', (b: Buffer) => (stderr += b));
    child.on('error', fail);
    child.on('close', (code) => done({ code, stdout, stderr }));
  });
}
