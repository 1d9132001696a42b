import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { stopWithProcess, terminate, waitFor } from './exec.js';

export interface ServiceOptions {
  /** Variables added to this process's environment for the program (e.g. SSL_CERT_FILE). */
  env?: NodeJS.ProcessEnv;
}

export interface ServiceProcess {
  child: ChildProcess;
  logFile: string;
  log(): string;
  stop(): Promise<void>;
}

/**
 * Starts a long-running program with its output in `logFile` and waits until `readyUrl`
 * answers 200; a program that exits first fails the wait with the tail of its log. `opts.env`
 * adds variables to the inherited environment.
 */
export async function startService(
  name: string,
  binary: string,
  args: string[],
  logFile: string,
  readyUrl: string,
  opts: ServiceOptions = {},
): Promise<ServiceProcess> {
  const fd = openSync(logFile, 'a');
  const env = { ...process.env, ...opts.env };
  const child = spawn(binary, args, { stdio: ['ignore', fd, fd], env });
  closeSync(fd);
  stopWithProcess(child, 'SIGKILL');
  const log = () => readFileSync(logFile, 'utf8');
  const stop = () => terminate(child);
  try {
    await waitFor(
      async () => {
        if (child.exitCode !== null || child.signalCode !== null) {
          throw new Error(`${name} exited early:\n${log().slice(-3000)}`);
        }
        return (await fetch(readyUrl).catch(() => undefined))?.ok;
      },
      { timeoutMs: 30_000, what: `${name} to answer ${readyUrl}` },
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return { child, logFile, log, stop };
}
