// A stand-in for Grafana (it has no Debian package), for the Compose stack test only. It proves
// the wiring a Grafana container depends on, not Grafana itself: it reads the provisioning
// folders and the dashboards folder where Grafana reads them, takes the admin password the way
// Grafana's environment does (GF_SECURITY_ADMIN_PASSWORD__FILE, else GF_SECURITY_ADMIN_PASSWORD,
// else Grafana's default `admin`), honours GF_AUTH_ANONYMOUS_ENABLED, and answers the HTTP API
// routes a person or a proxy uses with Grafana's status codes. The panels' queries are checked
// against the real Prometheus elsewhere (test/support/dashboard.ts).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { extname, join } from 'node:path';
import { parse } from 'yaml';
import { hasBasicCredentials } from '../basic-auth.js';

export interface GrafanaStandInState {
  /** `default` when Grafana would start with admin/admin. */
  adminPassword: 'default' | 'set';
  anonymous: boolean;
  datasources: Array<{ name: string; type: string; url: string }>;
  /** Dashboard uid -> the folder its provider puts it in. */
  dashboards: Record<string, string>;
  /** What Grafana would log as a provisioning error. */
  problems: string[];
}

interface Provisioned extends GrafanaStandInState {
  password: string;
  byUid: Map<string, unknown>;
}

function yamlFiles(dir: string): Array<Record<string, unknown>> {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names
    .filter((name) => ['.yaml', '.yml'].includes(extname(name)))
    .map((name) => parse(readFileSync(join(dir, name), 'utf8')) as Record<string, unknown>);
}

function jsonFilesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return jsonFilesUnder(path);
    return extname(name) === '.json' ? [path] : [];
  });
}

/** Reads the provisioning folders and the password as Grafana does at start-up. */
export function provision(env: NodeJS.ProcessEnv): Provisioned {
  const root = env.GF_PATHS_PROVISIONING ?? '/etc/grafana/provisioning';
  const problems: string[] = [];
  const passwordFile = env.GF_SECURITY_ADMIN_PASSWORD__FILE;
  let password = env.GF_SECURITY_ADMIN_PASSWORD ?? 'admin';
  if (passwordFile) password = readFileSync(passwordFile, 'utf8').trim();
  const datasources = yamlFiles(join(root, 'datasources')).flatMap((file) =>
    ((file.datasources ?? []) as Array<Record<string, string>>).map((d) => ({
      name: d.name ?? '',
      type: d.type ?? '',
      url: d.url ?? '',
    })),
  );
  const dashboards: Record<string, string> = {};
  const byUid = new Map<string, unknown>();
  for (const file of yamlFiles(join(root, 'dashboards'))) {
    for (const provider of (file.providers ?? []) as Array<Record<string, unknown>>) {
      const path = (provider.options as Record<string, string> | undefined)?.path ?? '';
      let files: string[] = [];
      try {
        files = jsonFilesUnder(path);
      } catch {
        problems.push(`dashboards provider ${String(provider.name)}: cannot read ${path}`);
      }
      for (const jsonFile of files) {
        const dashboard = JSON.parse(readFileSync(jsonFile, 'utf8')) as { uid?: string };
        if (!dashboard.uid) continue;
        dashboards[dashboard.uid] = String(provider.folder ?? 'General');
        byUid.set(dashboard.uid, dashboard);
      }
    }
  }
  return {
    adminPassword: password === 'admin' ? 'default' : 'set',
    anonymous: env.GF_AUTH_ANONYMOUS_ENABLED === 'true',
    datasources,
    dashboards,
    problems,
    password,
    byUid,
  };
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

function signedIn(req: IncomingMessage, state: Provisioned): boolean {
  return state.anonymous || hasBasicCredentials(req, 'admin', state.password);
}

/** Serves /api/health, /api/dashboards/uid/:uid and /api/datasources on `port`. */
export function startGrafanaStandIn(env: NodeJS.ProcessEnv, port: number): GrafanaStandInState {
  const state = provision(env);
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://grafana').pathname;
    if (path === '/api/health') return send(res, 200, { database: 'ok', version: 'stand-in' });
    if (!signedIn(req, state)) return send(res, 401, { message: 'Unauthorized' });
    const uid = /^\/api\/dashboards\/uid\/([^/]+)$/.exec(path)?.[1];
    if (uid !== undefined) {
      const dashboard = state.byUid.get(uid);
      if (!dashboard) return send(res, 404, { message: 'Dashboard not found' });
      return send(res, 200, {
        dashboard,
        meta: { provisioned: true, folderTitle: state.dashboards[uid] },
      });
    }
    if (path === '/api/datasources') return send(res, 200, state.datasources);
    return send(res, 404, { message: 'Not found' });
  });
  server.listen(port, '0.0.0.0');
  const { password: _password, byUid: _byUid, ...visible } = state;
  return visible;
}
