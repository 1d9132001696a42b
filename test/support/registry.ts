import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  acceptsConnections,
  freePort,
  requireBinary,
  stopWithProcess,
  terminate,
  waitFor,
} from './exec.js';

export interface TokenAuth {
  realm: string;
  service: string;
  issuer: string;
  /** Path to the PEM bundle whose keys sign the tokens. */
  rootCertBundle: string;
}

export interface RequestFilter {
  method?: string;
  pathPrefix?: string;
  pathIncludes?: string;
  /** A substring of the User-Agent header. */
  userAgent?: string;
}

export interface RequestLine {
  method: string;
  path: string;
  status: number;
  userAgent: string;
}

export interface Registry {
  /** `127.0.0.1:PORT`, the registry part of an image reference. */
  host: string;
  url: string;
  logFile: string;
  /** How many requests matching `filter` the registry has logged so far. */
  requests(filter?: RequestFilter): number;
  requestLines(filter?: RequestFilter): RequestLine[];
  stop(): Promise<void>;
}

/** Starts Distribution's registry on a free port with storage in a fresh temporary folder. */
export async function startRegistry(
  opts: { tokenAuth?: TokenAuth; tls?: { certFile: string; keyFile: string } } = {},
): Promise<Registry> {
  const binary = requireBinary('docker-registry', 'docker-registry');
  const dir = await mkdtemp(join(tmpdir(), 'registry-'));
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  const url = `${opts.tls ? 'https' : 'http'}://${host}`;
  const logFile = join(dir, 'registry.log');
  const { tokenAuth } = opts;
  const config = {
    version: '0.1',
    log: { level: 'info' },
    storage: { filesystem: { rootdirectory: join(dir, 'data') }, delete: { enabled: true } },
    http: {
      addr: host,
      ...(opts.tls && { tls: { certificate: opts.tls.certFile, key: opts.tls.keyFile } }),
    },
    ...(tokenAuth && {
      auth: {
        token: {
          realm: tokenAuth.realm,
          service: tokenAuth.service,
          issuer: tokenAuth.issuer,
          rootcertbundle: tokenAuth.rootCertBundle,
        },
      },
    }),
  };
  // JSON is YAML, so no YAML writer is needed.
  writeFileSync(join(dir, 'config.yml'), JSON.stringify(config, null, 2));

  const log = openSync(logFile, 'a');
  const child = spawn(binary, ['serve', join(dir, 'config.yml')], { stdio: ['ignore', log, log] });
  closeSync(log);
  stopWithProcess(child, 'SIGKILL');

  const stop = async () => {
    await terminate(child, 5_000);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitFor(
      async () => {
        if (child.exitCode !== null || child.signalCode !== null) {
          throw new Error(
            `docker-registry exited early: ${readFileSync(logFile, 'utf8').slice(-2000)}`,
          );
        }
        // Up means listening; with TLS the certificate is for another name, so no HTTP here.
        if (opts.tls) return acceptsConnections(port);
        const res = await fetch(`${url}/v2/`).catch(() => undefined);
        return res?.status === 200 || res?.status === 401;
      },
      { timeoutMs: 15_000, what: `docker-registry to answer GET ${url}/v2/` },
    );
  } catch (error) {
    await stop();
    throw error;
  }

  const requestLines = (filter: RequestFilter = {}) =>
    parseAccessLog(readFileSync(logFile, 'utf8')).filter((line) => matches(line, filter));
  return {
    host,
    url,
    logFile,
    requests: (filter) => requestLines(filter).length,
    requestLines,
    stop,
  };
}

// The combined-log line the registry writes once per request, after its response:
// 127.0.0.1 - - [28/Nov/2026:15:19:42 +0000] "HEAD /v2/team/app/manifests/1.0 HTTP/1.1" 200 527 "" "ua"
const accessLine = /^\S+ \S+ \S+ \[[^\]]*\] "(\S+) (\S+) [^"]*" (\d{3}) \S+ "[^"]*" "([^"]*)"/;

function parseAccessLog(text: string): RequestLine[] {
  const lines: RequestLine[] = [];
  for (const line of text.split('\n')) {
    const m = accessLine.exec(line);
    if (m) lines.push({ method: m[1]!, path: m[2]!, status: Number(m[3]), userAgent: m[4]! });
  }
  return lines;
}

function matches(line: RequestLine, filter: RequestFilter) {
  return (
    (filter.method === undefined || line.method === filter.method.toUpperCase()) &&
    (filter.pathPrefix === undefined || line.path.startsWith(filter.pathPrefix)) &&
    (filter.pathIncludes === undefined || line.path.includes(filter.pathIncludes)) &&
    (filter.userAgent === undefined || line.userAgent.includes(filter.userAgent))
  );
}
