import { spawnSync } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { loadConfig } from '../../src/config/load.js';
import { requireBinary } from '../support/exec.js';

// Shipped deployment assets: Dockerfile, compose stack, Grafana dashboard and provisioning.
const root = resolve(import.meta.dirname, '..', '..');
const read = (p: string) => readFile(join(root, p), 'utf8');

interface Service {
  environment?: Record<string, string>;
  volumes?: string[];
  healthcheck?: { test: unknown };
  restart?: string;
  image?: string;
}

describe('Dockerfile', () => {
  it('runs as the node user with a health check and the serve entrypoint', async () => {
    const text = await read('Dockerfile');
    expect(text).toMatch(/^USER node$/m);
    expect(text).toMatch(/^HEALTHCHECK .*/m);
    expect(text).toContain('/-/healthy');
    expect(text).toMatch(/^ENTRYPOINT \["node", "dist\/cli\.js", "serve"\]$/m);
    expect(text).toMatch(/^EXPOSE 8080$/m);
  });
});

describe('the released image', () => {
  it("is named with package.json's version wherever it is shipped", async () => {
    const { version } = JSON.parse(await read('package.json')) as { version: string };
    for (const file of [
      'README.md',
      'deploy/kubernetes/diun-exporter.yaml',
      'deploy/kubernetes/README.md',
    ]) {
      const named = [
        ...(await read(file)).matchAll(/ghcr\.io\/diun-exporter\/diun-exporter:(\S+?)[`\s]/g),
      ];
      expect(named.length, file).toBeGreaterThan(0);
      for (const [, tag] of named) expect(tag, file).toBe(version);
    }
  });
});

describe('compose stack', () => {
  // The stack alone, with Gotify, and with the highly available overlay (docs/alerts.md).
  for (const files of [
    ['docker-compose.yml'],
    ['docker-compose.yml', 'docker-compose.gotify.yml'],
    ['docker-compose.yml', 'docker-compose.ha.yml'],
  ]) {
    it(`passes docker-compose config -q: ${files.join(' + ')}`, async () => {
      const dir = await mkdtemp(join(tmpdir(), 'compose-'));
      try {
        await cp(join(root, 'compose'), join(dir, 'compose'), { recursive: true });
        for (const f of [
          'diun-exporter-token',
          'grafana-admin-password',
          'gotify-admin-password',
          'gotify-app-token',
          'gotify-bridge-token',
          'smtp-password',
        ]) {
          await writeFile(join(dir, 'compose', 'secrets', f), 'x');
        }
        const res = spawnSync(
          requireBinary('docker-compose', 'docker-compose'),
          [...files.flatMap((f) => ['-f', `compose/${f}`]), 'config', '-q'],
          {
            cwd: dir,
            encoding: 'utf8',
          },
        );
        expect(res.stderr).toBe('');
        expect(res.status).toBe(0);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  }

  it('limits the socket proxy to read-only endpoints and mounts config read-only', async () => {
    const doc = parse(await read('compose/docker-compose.yml')) as {
      services: Record<string, Service>;
    };
    const proxy = doc.services['socket-proxy'];
    const allowed = Object.entries(proxy?.environment ?? {})
      .filter(([, v]) => v === '1')
      .map(([k]) => k)
      .sort();
    expect(allowed).toEqual(['CONTAINERS', 'EVENTS', 'IMAGES', 'PING', 'VERSION']);
    expect(proxy?.environment?.POST).toBe('0');
    expect(proxy?.volumes).toContain(
      // biome-ignore lint/suspicious/noTemplateCurlyInString: Compose's variable syntax
      '${DOCKER_SOCKET:-/var/run/docker.sock}:/var/run/docker.sock:ro',
    );
    for (const [name, svc] of Object.entries(doc.services)) {
      expect(svc.healthcheck?.test, name).toBeDefined();
      expect(svc.restart, name).toBe('unless-stopped');
      if (svc.image && name !== 'diun-exporter') expect(svc.image, name).toMatch(/:[^:]+$/);
      for (const v of svc.volumes ?? []) if (v.startsWith('.')) expect(v, name).toMatch(/:ro$/);
    }
  });
});

describe('grafana dashboard', () => {
  it('follows the lint rules', async () => {
    const dash = JSON.parse(await read('grafana/dashboards/diun-exporter.json'));
    expect(dash.uid).toBe('diun-exporter');
    const vars = dash.templating.list.map((v: { name: string }) => v.name);
    expect(vars).toEqual(expect.arrayContaining(['datasource', 'job', 'instance']));
    for (const panel of dash.panels) {
      expect(panel.title).toBeTruthy();
      expect(panel.description, panel.title).toBeTruthy();
      expect(panel.fieldConfig?.defaults?.unit, panel.title).toBeTruthy();
      // biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's variable syntax, not a JS template
      expect(panel.datasource?.uid, panel.title).toBe('${datasource}');
      for (const t of panel.targets) {
        const expr: string = t.expr;
        for (const m of expr.matchAll(/\b(rate|increase)\(([^()]*)\)/g))
          expect(m[2], panel.title).toContain('[$__rate_interval]');
        for (const m of expr.matchAll(/\bdiun_\w+\{([^}]*)\}/g))
          expect(m[1], panel.title).toContain('job=~"$job", instance=~"$instance"');
      }
    }
  });

  it('ships provisioning files of the expected shape', async () => {
    const dsf = parse(await read('grafana/provisioning/datasources/prometheus.yml'));
    expect(dsf.apiVersion).toBe(1);
    expect(dsf.datasources[0]).toMatchObject({ type: 'prometheus', url: 'http://prometheus:9090' });
    const db = parse(await read('grafana/provisioning/dashboards/diun-exporter.yml'));
    expect(db.providers[0]).toMatchObject({
      type: 'file',
      options: { path: '/var/lib/grafana/dashboards' },
    });
  });
});

describe('kubernetes manifest', () => {
  interface Doc {
    kind: string;
    metadata: { name: string };
    data?: Record<string, string>;
    rules?: { resources: string[]; verbs: string[] }[];
    spec?: {
      template?: {
        spec: {
          serviceAccountName?: string;
          containers: { env?: { name: string; value?: string }[] }[];
        };
      };
    };
  }

  it('loads its diun.yml with the real loader and asks only for read-only RBAC', async () => {
    const docs = parseAllDocuments(await read('deploy/kubernetes/diun-exporter.yaml')).map(
      (d) => d.toJS() as Doc,
    );
    const of = (kind: string) => docs.filter((d) => d?.kind === kind);
    const dir = await mkdtemp(join(tmpdir(), 'k8s-manifest-'));
    try {
      const file = join(dir, 'diun.yml');
      await writeFile(file, of('ConfigMap')[0]?.data?.['diun.yml'] ?? '');
      const { config } = loadConfig(file, {});
      expect(config.providers.kubernetes).toMatchObject({ watchByDefault: false, namespaces: [] });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    const verbs = of('ClusterRole').flatMap((r) => r.rules ?? []);
    expect(verbs).toEqual([
      { apiGroups: [''], resources: ['pods'], verbs: ['list', 'watch'] },
      { apiGroups: [''], resources: ['nodes'], verbs: ['get'] },
    ]);
    const pod = of('Deployment')[0]?.spec?.template?.spec;
    expect(pod?.serviceAccountName).toBe(of('ServiceAccount')[0]?.metadata.name);
    const env = pod?.containers[0]?.env ?? [];
    expect(env.find((e) => e.name === 'DIUN_CONFIG')?.value).toBe('/etc/diun-exporter/diun.yml');
  });
});
