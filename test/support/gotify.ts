// A stand-in for a Gotify server (Gotify has no Debian package): the part of its REST API a
// sender uses, POST /message with an application token, answered as Gotify answers, plus
// switches for the failures a sender must survive.
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { hasBasicCredentials } from './basic-auth.js';
import { freePort } from './exec.js';

/** A message as Gotify stores it and answers it. */
export interface GotifyStoredMessage {
  id: number;
  appid: number;
  title: string;
  message: string;
  priority: number;
  extras?: Record<string, unknown>;
  date: string;
}

export interface GotifyStandIn {
  url: string;
  /** The token of the one application; POST /message needs it. */
  appToken: string;
  /** Messages accepted, in order. */
  messages: GotifyStoredMessage[];
  /** POST /message requests received, answered or not. */
  requests(): number;
  /** Answers the next `count` requests with `status` (Gotify's error JSON), then recovers. */
  failNext(count: number, status?: number): void;
  /** `ok`, `error` (every request 500), or `down` (nothing listens on the port). */
  setMode(mode: 'ok' | 'error' | 'down'): Promise<void>;
  stop(): Promise<void>;
}

// Gotify's defaults: an application created without a priority has 0.
const APP_ID = 1;
const APP_DEFAULT_PRIORITY = 0;

const REASONS: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  404: 'Not Found',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

export interface GotifyOptions {
  /** Where to listen; default 127.0.0.1 on a free port. */
  host?: string;
  port?: number;
  /** Called with each message as it is stored. */
  onMessage?: (message: GotifyStoredMessage) => void;
  /**
   * The password of the first user, `admin`: with it, POST /application creates an application
   * (Basic auth) and answers its new token, as Gotify does.
   */
  adminPassword?: string;
}

/** Starts the stand-in (on 127.0.0.1 unless told); `appToken` is what the exporter must send. */
export async function startGotify(
  appToken = 'AgotifyAppTok3n',
  opts: GotifyOptions = {},
): Promise<GotifyStandIn> {
  const host = opts.host ?? '127.0.0.1';
  const port = opts.port ?? (await freePort());
  const url = `http://${host}:${port}`;
  const messages: GotifyStoredMessage[] = [];
  const appTokens = new Set([appToken]);
  let received = 0;
  let failures: { count: number; status: number } = { count: 0, status: 500 };
  let mode: 'ok' | 'error' | 'down' = 'ok';

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? '/', url);
    const body = await readBody(req);
    // Gotify's health route, which its image's healthcheck asks.
    if (req.method === 'GET' && path.pathname === '/health') {
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(JSON.stringify({ health: 'green', database: 'green' }));
    }
    if (req.method === 'POST' && path.pathname === '/application') {
      return createApplication(req, body, res);
    }
    if (req.method !== 'POST' || path.pathname !== '/message') {
      return error(res, 404, 'page not found');
    }
    received++;
    if (mode === 'error') return error(res, 500, 'the stand-in is set to fail');
    if (failures.count > 0) {
      failures.count--;
      return error(res, failures.status, 'the stand-in is set to fail');
    }
    // Gotify takes the application token from the header, the query or a Bearer header.
    const bearer = /^Bearer (.+)$/i.exec(req.headers.authorization ?? '')?.[1];
    const token = req.headers['x-gotify-key'] ?? path.searchParams.get('token') ?? bearer;
    if (typeof token !== 'string' || !appTokens.has(token)) {
      return error(
        res,
        401,
        'you need to provide a valid access token or user credentials to access this api',
      );
    }
    let input: Record<string, unknown>;
    try {
      input = JSON.parse(body) as Record<string, unknown>;
    } catch {
      return error(res, 400, 'invalid character in JSON body');
    }
    if (typeof input.message !== 'string' || input.message === '') {
      return error(res, 400, "Field 'message' is required");
    }
    const stored: GotifyStoredMessage = {
      id: messages.length + 1,
      appid: APP_ID,
      title: typeof input.title === 'string' ? input.title : 'diun-exporter',
      message: input.message,
      priority: typeof input.priority === 'number' ? input.priority : APP_DEFAULT_PRIORITY,
      ...(isObject(input.extras) ? { extras: input.extras } : {}),
      date: new Date().toISOString(),
    };
    messages.push(stored);
    opts.onMessage?.(stored);
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(stored));
  };

  const createApplication = (req: IncomingMessage, body: string, res: ServerResponse) => {
    if (
      opts.adminPassword === undefined ||
      !hasBasicCredentials(req, 'admin', opts.adminPassword)
    ) {
      return error(
        res,
        401,
        'you need to provide a valid access token or user credentials to access this api',
      );
    }
    let input: { name?: unknown };
    try {
      input = JSON.parse(body) as { name?: unknown };
    } catch {
      return error(res, 400, 'invalid character in JSON body');
    }
    if (typeof input.name !== 'string' || input.name === '') {
      return error(res, 400, "Field 'name' is required");
    }
    // Gotify 3's application tokens: `gtfya.` and random characters.
    const token = `gtfya.${randomBytes(18).toString('base64url')}`;
    appTokens.add(token);
    const app = {
      id: appTokens.size,
      token,
      name: input.name,
      description: '',
      defaultPriority: 0,
    };
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(app));
  };

  const server = createServer((req, res) => {
    handle(req, res).catch(() => error(res, 500, 'stand-in failure'));
  });
  const listen = () =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  const close = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  await listen();

  return {
    url,
    appToken,
    messages,
    requests: () => received,
    failNext(count, status = 500) {
      failures = { count, status };
    },
    async setMode(next) {
      if (next === 'down' && mode !== 'down') await close();
      if (next !== 'down' && mode === 'down') await listen();
      mode = next;
    },
    async stop() {
      if (mode !== 'down') await close();
      mode = 'down';
    },
  };
}

function error(res: ServerResponse, status: number, description: string): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(
    JSON.stringify({
      error: REASONS[status] ?? 'Error',
      errorCode: status,
      errorDescription: description,
    }),
  );
}

/** A request's whole body, as text. */
export function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString()));
    req.on('error', reject);
  });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
