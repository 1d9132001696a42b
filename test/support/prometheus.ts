import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { stringify } from 'yaml';
import { freePort, requireBinary } from './exec.js';
import { startService } from './service-process.js';

export interface PromSample {
  metric: Record<string, string>;
  value: number;
}

export interface Prometheus {
  url: string;
  dir: string;
  /** An instant query; throws with Prometheus's error for a bad expression. */
  query(expr: string): Promise<PromSample[]>;
  /** The alerts Prometheus holds now (pending and firing). */
  alerts(): Promise<
    Array<{ labels: Record<string, string>; annotations: Record<string, string>; state: string }>
  >;
  log(): string;
  stop(): Promise<void>;
}

/**
 * Runs the real Prometheus (Debian's `prometheus`) on 127.0.0.1 with `config` (an object,
 * written as YAML) and `files` (relative path -> content, folders made as needed) beside it, so
 * `rule_files` and `credentials_file` can name them with paths relative to the config.
 */
export async function startPrometheus(
  config: Record<string, unknown>,
  files: Record<string, string> = {},
): Promise<Prometheus> {
  const binary = requireBinary('prometheus', 'prometheus');
  const dir = await mkdtemp(join(tmpdir(), 'prometheus-'));
  for (const [name, content] of Object.entries(files)) {
    await mkdir(dirname(join(dir, name)), { recursive: true });
    await writeFile(join(dir, name), content);
  }
  await writeFile(join(dir, 'prometheus.yml'), stringify(config));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const service = await startService(
    'prometheus',
    binary,
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--web.enable-lifecycle',
    ],
    join(dir, 'prometheus.log'),
    `${url}/-/ready`,
  );
  const api = async <T>(path: string): Promise<T> => {
    const res = await fetch(`${url}${path}`);
    const body = (await res.json()) as { status: string; data: T; error?: string };
    if (body.status !== 'success') throw new Error(`prometheus ${path}: ${body.error}`);
    return body.data;
  };
  return {
    url,
    dir,
    async query(expr) {
      const data = await api<{
        result: Array<{ metric: Record<string, string>; value: [number, string] }>;
      }>(`/api/v1/query?query=${encodeURIComponent(expr)}`);
      return data.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
    },
    async alerts() {
      return (await api<{ alerts: Awaited<ReturnType<Prometheus['alerts']>> }>('/api/v1/alerts'))
        .alerts;
    },
    log: service.log,
    async stop() {
      await service.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
