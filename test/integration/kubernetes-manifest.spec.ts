import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { requireBinary } from '../support/exec.js';
import { type KubeApiServer, startKubeApiServer } from '../support/kube-apiserver.js';
import { makeDockerTlsCerts } from '../support/tls-certs.js';

// deploy/kubernetes/diun-exporter.yaml through the real kubectl, as the README's
// `kubectl apply -f` reads it: `apply --dry-run=client` parses every document, maps its apiVersion
// and kind to a resource by the API server's discovery documents, and prints what it would send.
// The server is the stand-in (test/support/kube-apiserver.ts), over TLS with a Bearer token from a
// kubeconfig. Works with Debian's kubectl (kubernetes-client, 1.20) and later ones (1.32).

const root = resolve(import.meta.dirname, '..', '..');
const manifestFile = join(root, 'deploy', 'kubernetes', 'diun-exporter.yaml');
const token = 'kubectl-test-token';

interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; annotations?: Record<string, string> };
  data?: Record<string, string>;
}

interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

describe('deploy/kubernetes/diun-exporter.yaml (kubectl apply --dry-run=client)', () => {
  let dir: string;
  let server: KubeApiServer;
  let kubectl: string;

  beforeAll(async () => {
    kubectl = requireBinary('kubectl', 'kubernetes-client');
    dir = await mkdtemp(join(tmpdir(), 'kubectl-'));
    await makeDockerTlsCerts(dir);
    server = await startKubeApiServer({
      token,
      tls: {
        cert: await readFile(join(dir, 'server-cert.pem')),
        key: await readFile(join(dir, 'server-key.pem')),
      },
    });
    const kubeconfig = {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        {
          name: 'stand-in',
          cluster: { server: server.url, 'certificate-authority': join(dir, 'ca.pem') },
        },
      ],
      users: [{ name: 'tester', user: { token } }],
      contexts: [{ name: 'stand-in', context: { cluster: 'stand-in', user: 'tester' } }],
      'current-context': 'stand-in',
    };
    await writeFile(join(dir, 'kubeconfig'), stringify(kubeconfig));
  });

  afterAll(async () => {
    await server?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** `kubectl apply --dry-run=client -o yaml -f file`; its config, cache and home stay in `dir`. */
  function apply(file: string): Promise<KubectlResult> {
    const args = ['apply', '--dry-run=client', '--validate=false', '-o', 'yaml', '-f', file];
    const env = { PATH: process.env.PATH ?? '', HOME: dir, KUBECONFIG: join(dir, 'kubeconfig') };
    return new Promise((done) => {
      execFile(
        kubectl,
        [...args, '--cache-dir', join(dir, 'cache')],
        { env, timeout: 60_000 },
        (error, stdout, stderr) => {
          // error.code: the exit status, or a string such as ENOENT when kubectl did not start.
          const code = !error ? 0 : typeof error.code === 'number' ? error.code : -1;
          done({ code, stdout, stderr });
        },
      );
    });
  }

  /** A copy of the manifest with one edit; throws when the edit no longer finds its text. */
  async function brokenCopy(name: string, from: string | RegExp, to: string): Promise<string> {
    const shipped = await readFile(manifestFile, 'utf8');
    const broken = shipped.replace(from, to);
    if (broken === shipped) throw new Error(`${String(from)} is no longer in the manifest`);
    const file = join(dir, name);
    await writeFile(file, broken);
    return file;
  }

  it('is accepted as the 8 objects the README lists, with their kinds, names and namespaces', async () => {
    const before = server.requests.length;
    const { code, stdout, stderr } = await apply(manifestFile);
    expect(code, stderr).toBe(0);
    const printed = parse(stdout) as { kind: string; items: KubeObject[] };
    expect(printed.kind).toBe('List');
    const objects = printed.items.map(
      (o) =>
        `${o.apiVersion} ${o.kind} ${[o.metadata.namespace, o.metadata.name].filter(Boolean).join('/')}`,
    );
    expect(objects).toEqual([
      'v1 Namespace monitoring',
      'v1 ServiceAccount monitoring/diun-exporter',
      'rbac.authorization.k8s.io/v1 ClusterRole diun-exporter',
      'rbac.authorization.k8s.io/v1 ClusterRoleBinding diun-exporter',
      'v1 ConfigMap monitoring/diun-exporter-config',
      'v1 PersistentVolumeClaim monitoring/diun-exporter-data',
      'apps/v1 Deployment monitoring/diun-exporter',
      'v1 Service monitoring/diun-exporter',
    ]);
    // What a real apply would store: each object with its last-applied configuration.
    for (const o of printed.items) {
      expect(o.metadata.annotations).toHaveProperty([
        'kubectl.kubernetes.io/last-applied-configuration',
      ]);
    }
    // kubectl's YAML reader keeps the embedded diun.yml byte for byte.
    const shipped = parseAllDocuments(await readFile(manifestFile, 'utf8'))
      .map((d) => d.toJS() as KubeObject)
      .find((o) => o?.kind === 'ConfigMap');
    const configMap = printed.items.find((o) => o.kind === 'ConfigMap');
    expect(configMap?.data?.['diun.yml']).toBe(shipped?.data?.['diun.yml']);

    // A client dry run reads (discovery, then each object) and writes nothing; with the token.
    const seen = server.requests.slice(before);
    expect(seen.map((r) => r.path)).toEqual(
      expect.arrayContaining(['/api', '/apis', '/api/v1', '/apis/apps/v1']),
    );
    expect(seen.filter((r) => r.method !== 'GET')).toEqual([]);
    expect(seen.every((r) => r.authorization === `Bearer ${token}`)).toBe(true);
  });

  it('is refused when the Deployment says apps/v1beta1, which servers stopped serving in 1.16', async () => {
    const file = await brokenCopy(
      'v1beta1.yaml',
      /^apiVersion: apps\/v1$/m,
      'apiVersion: apps/v1beta1',
    );
    const { code, stderr } = await apply(file);
    expect(code).not.toBe(0);
    expect(stderr).toContain('no matches for kind "Deployment" in version "apps/v1beta1"');
  });

  it('is refused when a kind is misspelt, naming the kind', async () => {
    const file = await brokenCopy(
      'misspelt.yaml',
      /^kind: PersistentVolumeClaim$/m,
      'kind: PersistentVolumeClame',
    );
    const { code, stderr } = await apply(file);
    expect(code).not.toBe(0);
    expect(stderr).toContain('no matches for kind "PersistentVolumeClame" in version "v1"');
  });

  it('is refused when a document is not valid YAML, naming the file and the line', async () => {
    const file = await brokenCopy(
      'malformed.yaml',
      '  replicas: 1\n',
      '  replicas: 1\n    strategy: [\n',
    );
    const { code, stderr } = await apply(file);
    expect(code).not.toBe(0);
    expect(stderr).toMatch(
      /error parsing .*malformed\.yaml: error converting YAML to JSON: yaml: line \d+: /,
    );
  });
});
