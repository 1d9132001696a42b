import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, requireBinary } from './exec.js';
import { type ServiceOptions, startService } from './service-process.js';

export interface AlertmanagerOptions extends ServiceOptions {
  /**
   * Gossip flags for a cluster member (e.g. `--cluster.listen-address=127.0.0.1:P`,
   * `--cluster.peer=...`); without them the instance runs alone, with no gossip port.
   */
  clusterArgs?: string[];
}

export interface Alertmanager {
  url: string;
  dir: string;
  log(): string;
  /** Ends it at once with SIGKILL, as a machine that dies (no goodbye to its peers). */
  kill(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Runs the real Alertmanager (Debian's `prometheus-alertmanager`) on 127.0.0.1 with the YAML
 * `config` text and `files` (relative path -> content: templates, secrets) in its folder. The
 * config may refer to those files by `$DIR/...`, which is replaced with the folder's path.
 * `opts.env` adds environment variables, e.g. `SSL_CERT_FILE` so it trusts a test SMTP server;
 * `opts.clusterArgs` makes it a cluster member.
 */
export async function startAlertmanager(
  config: string,
  files: Record<string, string> = {},
  opts: AlertmanagerOptions = {},
): Promise<Alertmanager> {
  const binary = requireBinary('prometheus-alertmanager', 'prometheus-alertmanager');
  const dir = await mkdtemp(join(tmpdir(), 'alertmanager-'));
  const { mkdir } = await import('node:fs/promises');
  for (const [name, content] of Object.entries(files)) {
    await mkdir(join(dir, name, '..'), { recursive: true });
    await writeFile(join(dir, name), content.replaceAll('$DIR', dir));
  }
  await writeFile(join(dir, 'alertmanager.yml'), config.replaceAll('$DIR', dir));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const service = await startService(
    'alertmanager',
    binary,
    [
      `--config.file=${join(dir, 'alertmanager.yml')}`,
      `--storage.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      // A single instance: no gossip port unless a cluster test passes its own flags.
      ...(opts.clusterArgs ?? ['--cluster.listen-address=']),
    ],
    join(dir, 'alertmanager.log'),
    `${url}/-/ready`,
    opts,
  );
  return {
    url,
    dir,
    log: service.log,
    async kill() {
      const { child } = service;
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((done) => child.once('exit', () => done()));
      child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      await service.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
