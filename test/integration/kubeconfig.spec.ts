import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { type ExporterProcess, runBuiltCli, startExporter } from '../support/exporter.js';
import {
  fixturePod,
  type KubeApiServer,
  type KubeApiServerOptions,
  startKubeApiServer,
} from '../support/kube-apiserver.js';
import { find, value } from '../support/metrics-text.js';
import { pushIndex, pushPlatformImage } from '../support/oci.js';
import { type Registry, startRegistry } from '../support/registry.js';
import { makeDockerTlsCerts } from '../support/tls-certs.js';

// Outside a cluster, Diun's kubernetes provider reads the file KUBECONFIG names: its current
// context's server, CA and user. Here the three user forms clusters hand out (a token, a client
// certificate, an exec credential plugin) each reach a stand-in API server over TLS that refuses
// anything else, and the exporter reports the stand-in's pod from a real registry's image.
const TOKEN = 'kubeconfig-token-51c3';
const k8s = { provider: 'kubernetes', endpoint: 'kubernetes' };

// The exec plugin: an ExecCredential with a new token at each run, already expired, so the
// exporter must run it again for every request, as for a token past its expiry. Each run adds
// a line to the file named by its argument.
const PLUGIN = `
import { randomUUID } from 'node:crypto';
import { appendFileSync } from 'node:fs';
appendFileSync(process.argv[2], 'run\\n');
process.stdout.write(JSON.stringify({
  apiVersion: 'client.authentication.k8s.io/v1',
  kind: 'ExecCredential',
  status: { token: 'exec-' + randomUUID(), expirationTimestamp: '2020-01-01T00:00:00Z' },
}));
`;

describe('kubernetes provider through KUBECONFIG', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kubeconfig-'));
  const file = (name: string) => join(dir, name);
  const base64 = (name: string) => readFileSync(file(name)).toString('base64');
  let registry: Registry;
  let image: { ref: string; imageId: string };
  const servers: KubeApiServer[] = [];
  const exporters: ExporterProcess[] = [];

  beforeAll(async () => {
    await makeDockerTlsCerts(dir);
    registry = await startRegistry();
    const amd = await pushPlatformImage(registry.url, 'k8s/app', {
      os: 'linux',
      architecture: 'amd64',
    });
    const index = await pushIndex(registry.url, 'k8s/app', '1.0', [amd]);
    image = {
      ref: `${registry.host}/k8s/app:1.0`,
      imageId: `${registry.host}/k8s/app@${index.descriptor.digest}`,
    };
  });

  afterAll(async () => {
    await Promise.all(exporters.map((e) => e.stop()));
    await Promise.all(servers.map((s) => s.stop()));
    await registry?.stop();
  });

  /** A stand-in over TLS (signed by the test CA) with one pod of `name`. */
  async function apiServer(
    name: string,
    opts: Pick<KubeApiServerOptions, 'token'> & { clientCa?: Buffer },
  ): Promise<KubeApiServer> {
    const api = await startKubeApiServer({
      ...(opts.token !== undefined && { token: opts.token }),
      tls: {
        cert: readFileSync(file('server-cert.pem')),
        key: readFileSync(file('server-key.pem')),
        ...(opts.clientCa !== undefined && { clientCa: opts.clientCa }),
      },
      pods: [fixturePod('statefulset', { name, image: image.ref, imageId: image.imageId })],
    });
    servers.push(api);
    return api;
  }

  /** A kubeconfig whose current context is `user` on `api`; other contexts point nowhere. */
  function kubeconfig(name: string, api: KubeApiServer, user: Record<string, unknown>): string {
    const path = file(`${name}.kubeconfig`);
    writeFileSync(
      path,
      stringify({
        apiVersion: 'v1',
        kind: 'Config',
        'current-context': name,
        clusters: [
          { name: 'test', cluster: { server: api.url, 'certificate-authority': file('ca.pem') } },
          { name: 'elsewhere', cluster: { server: 'https://127.0.0.1:1' } },
        ],
        users: [{ name, user }],
        contexts: [
          { name: 'other', context: { cluster: 'elsewhere', user: name } },
          { name, context: { cluster: 'test', user: name } },
        ],
      }),
    );
    return path;
  }

  /** The exporter with `providers.kubernetes` empty and KUBECONFIG set; its pod series, once up. */
  async function exporterWith(path: string, pod: string) {
    const exporter = await startExporter(
      { watch: { schedule: '', workers: 2 }, providers: { kubernetes: {} } },
      { env: { KUBECONFIG: path } },
    );
    exporters.push(exporter);
    const s = await exporter.until(
      (s) => find(s, 'diun_container_update_available', { ...k8s, pod }).length === 1,
      `the pod ${pod} to be reported`,
    );
    expect(value(s, 'diun_provider_up', k8s)).toBe(1);
    expect(find(s, 'diun_container_update_available', { ...k8s, pod })[0]).toMatchObject({
      labels: { image: image.ref, k8s_namespace: 'shop' },
      value: 0,
    });
    return exporter;
  }

  it('uses the user’s token, and the CA the cluster names', async () => {
    const api = await apiServer('with-token', { token: TOKEN });
    await exporterWith(kubeconfig('token', api, { token: TOKEN }), 'with-token');
    const pods = api.requests.filter((r) => r.path.endsWith('/pods'));
    expect(pods.length).toBeGreaterThan(0);
    expect(pods.every((r) => r.authorization === `Bearer ${TOKEN}`)).toBe(true);
  });

  it('uses the user’s client certificate, and the CA given inline', async () => {
    const api = await apiServer('with-cert', { clientCa: readFileSync(file('ca.pem')) });
    const path = kubeconfig('cert', api, {
      'client-certificate-data': base64('cert.pem'),
      'client-key-data': base64('key.pem'),
    });
    // The CA inline, as `kubectl config view --raw` writes it.
    const config = readFileSync(path, 'utf8').replace(
      `certificate-authority: ${file('ca.pem')}`,
      `certificate-authority-data: ${base64('ca.pem')}`,
    );
    writeFileSync(path, config);
    await exporterWith(path, 'with-cert');
    const pods = api.requests.filter((r) => r.path.endsWith('/pods'));
    expect(pods.length).toBeGreaterThan(0);
    expect(pods.every((r) => r.clientCertificate === 'client' && !r.authorization)).toBe(true);
  });

  it('runs the user’s exec plugin, and runs it again once its token expired', async () => {
    const api = await apiServer('with-exec', { token: (t) => /^exec-[0-9a-f-]{36}$/.test(t) });
    const plugin = file('credential-plugin.mjs');
    const runs = file('exec-runs');
    writeFileSync(plugin, PLUGIN);
    const path = kubeconfig('exec', api, {
      exec: {
        apiVersion: 'client.authentication.k8s.io/v1',
        command: process.execPath,
        args: [plugin, runs],
        interactiveMode: 'Never',
      },
    });
    await exporterWith(path, 'with-exec');
    const sent = api.requests.map((r) => r.authorization);
    expect(sent.length).toBeGreaterThan(1);
    expect(sent.every((a) => a !== undefined && /^Bearer exec-/.test(a))).toBe(true);
    // Each token expired at once: the plugin ran for every request, and no two shared a token.
    expect(new Set(sent).size).toBe(sent.length);
    expect(readFileSync(runs, 'utf8').split('\n').filter(Boolean).length).toBeGreaterThanOrEqual(
      sent.length,
    );
  });

  it('says which KUBECONFIG is wrong', async () => {
    const path = file('broken.kubeconfig');
    writeFileSync(
      path,
      stringify({ apiVersion: 'v1', kind: 'Config', clusters: [], users: [], contexts: [] }),
    );
    const config = file('broken.yml');
    writeFileSync(
      config,
      stringify({ providers: { kubernetes: {} }, db: { path: file('broken-state.json') } }),
    );
    const { stdout, stderr } = await runBuiltCli(['check', '--config', config], {
      KUBECONFIG: path,
    });
    // As the log line quotes it (logfmt escapes the inner quotes).
    expect(stdout + stderr).toContain(`KUBECONFIG: no current-context in \\"${path}\\"`);
  });
});
