import type { Server as HttpServer } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import { afterAll, onTestFinished } from 'vitest';
import { listenOnLoopback } from './exec.js';

type Step = () => Promise<unknown> | unknown;

/** What a suite started, ended when it is over. */
export interface Teardown {
  /** Has `stop(started)` run when the suite ends, and returns `started`: start and stop on one line. */
  add<T>(started: T, stop: (started: T) => Promise<unknown> | unknown): T;
}

/**
 * A Teardown for the describe (or file) it is called in: afterAll runs its steps, the last added
 * first, each even when one before it failed (the first failure is thrown once all have run).
 * What a beforeAll started before it failed is stopped all the same, and a stop that fails
 * leaves no daemon or process behind.
 */
export function suiteTeardown(): Teardown {
  const steps: Step[] = [];
  afterAll(() => runAll(steps.splice(0).reverse()));
  return {
    add(started, stop) {
      steps.push(() => stop(started));
      return started;
    },
  };
}

/** Runs every step in turn; throws the first failure once all have run. */
async function runAll(steps: Step[]): Promise<void> {
  const failures: unknown[] = [];
  for (const step of steps) {
    try {
      await step();
    } catch (err) {
      failures.push(err);
    }
  }
  if (failures.length > 0) throw failures[0];
}

/**
 * Listens on 127.0.0.1 for the running test only: when the test ends, passed or failed, the
 * server is closed with its kept-alive connections (`close` does it sooner). `host` is
 * `127.0.0.1:PORT`.
 */
export async function serveForTest(
  server: HttpServer | HttpsServer,
): Promise<{ host: string; port: number; close: () => Promise<void> }> {
  const { port, close } = await listenOnLoopback(server);
  onTestFinished(close);
  return { host: `127.0.0.1:${port}`, port, close };
}
