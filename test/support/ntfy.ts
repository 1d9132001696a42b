// A stand-in for an ntfy server (ntfy has no Debian package): the publish API a sender uses,
// answered as ntfy answers (https://docs.ntfy.sh/publish/): JSON publishing to the root URL, and
// POST/PUT /<topic> with the message as body and Title, Priority, Tags, Click and Markdown
// headers. Access control as ntfy's: users with passwords and access tokens (`tk_...`), write
// access per topic, anonymous access denied unless allowed. Errors are ntfy's JSON
// ({"code": 40101, "http": 401, "error": "unauthorized", "link": ...}).
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { freePort } from './exec.js';
import { readBody } from './gotify.js';

/** A message as ntfy stores it and answers it. */
export interface NtfyStoredMessage {
  id: string;
  time: number;
  expires: number;
  event: 'message';
  topic: string;
  title?: string;
  message: string;
  priority?: number;
  tags?: string[];
  click?: string;
  content_type?: 'text/markdown';
  /** Who published it: the user's name, or `*` for anonymous (not part of ntfy's answer). */
  publishedBy: string;
}

export interface NtfyUser {
  username: string;
  password: string;
  /** Access tokens of this user. */
  tokens?: string[];
  /** Topics this user may publish to. */
  writeTopics: string[];
}

export interface NtfyOptions {
  users?: NtfyUser[];
  /** Topics anyone may publish to without signing in (ntfy's `auth-default-access` per topic). */
  openTopics?: string[];
}

export interface NtfyStandIn {
  url: string;
  /** Messages accepted, in order. */
  messages: NtfyStoredMessage[];
  /** Publish requests received, answered or not. */
  requests(): number;
  /** Answers the next `count` publish requests with `status`, then recovers. */
  failNext(count: number, status?: number): void;
  stop(): Promise<void>;
}

const TOPIC = /^[-_A-Za-z0-9]{1,64}$/;
// Messages are kept 12 hours by default (cache-duration).
const CACHE_SECONDS = 12 * 3600;
const PRIORITY_NAMES: Record<string, number> = {
  min: 1,
  low: 2,
  default: 3,
  high: 4,
  max: 5,
  urgent: 5,
};

const ERRORS = {
  unauthorized: [40101, 401, 'unauthorized', 'https://ntfy.sh/docs/publish/#authentication'],
  forbidden: [40301, 403, 'forbidden', 'https://ntfy.sh/docs/publish/#authentication'],
  priority: [
    40007,
    400,
    'invalid priority parameter',
    'https://ntfy.sh/docs/publish/#message-priority',
  ],
  topic: [40009, 400, 'invalid request: topic invalid', ''],
  json: [
    40017,
    400,
    'invalid request: request body must be message JSON',
    'https://ntfy.sh/docs/publish/#publish-as-json',
  ],
  notFound: [40401, 404, 'page not found', ''],
  internal: [50001, 500, 'internal server error', ''],
} as const satisfies Record<string, readonly [number, number, string, string]>;

/** Starts the stand-in on 127.0.0.1, on a free port. */
export async function startNtfy(opts: NtfyOptions = {}): Promise<NtfyStandIn> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const users = opts.users ?? [];
  const messages: NtfyStoredMessage[] = [];
  let received = 0;
  let failures = { count: 0, status: 500 };

  // Who the request signs in as: a user, anonymous (`*`), or `false` for wrong credentials.
  const signedIn = (req: IncomingMessage): NtfyUser | '*' | false => {
    const header = req.headers.authorization;
    if (header === undefined) return '*';
    const bearer = /^Bearer (\S+)$/i.exec(header)?.[1];
    if (bearer !== undefined) return users.find((u) => u.tokens?.includes(bearer)) ?? false;
    const basic = /^Basic (\S+)$/i.exec(header)?.[1];
    if (basic === undefined) return false;
    const [username, ...rest] = Buffer.from(basic, 'base64').toString().split(':');
    const user = users.find((u) => u.username === username);
    return user && user.password === rest.join(':') ? user : false;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? '/', url).pathname;
    const body = await readBody(req);
    if (req.method !== 'POST' && req.method !== 'PUT') return error(res, 'notFound');
    const fields = path === '/' ? fromJson(body) : fromHeaders(path.slice(1), req, body);
    if (fields === undefined) return error(res, path === '/' ? 'json' : 'notFound');
    received++;
    if (failures.count > 0) {
      failures.count--;
      return writeError(
        res,
        failures.status === 500 ? ERRORS.internal : [0, failures.status, 'stand-in failure', ''],
      );
    }
    const user = signedIn(req);
    if (user === false) return error(res, 'unauthorized');
    if (typeof fields.topic !== 'string' || !TOPIC.test(fields.topic)) return error(res, 'topic');
    const { topic } = fields;
    const allowed =
      user === '*' ? (opts.openTopics ?? []).includes(topic) : user.writeTopics.includes(topic);
    if (!allowed) return error(res, 'forbidden');
    const priority = readPriority(fields.priority);
    if (priority === null) return error(res, 'priority');
    const time = Math.floor(Date.now() / 1000);
    const stored: NtfyStoredMessage = {
      id: randomBytes(9).toString('base64url').slice(0, 12),
      time,
      expires: time + CACHE_SECONDS,
      event: 'message',
      topic,
      ...(typeof fields.title === 'string' && fields.title ? { title: fields.title } : {}),
      // ntfy's placeholder for a message published with no text.
      message: typeof fields.message === 'string' && fields.message ? fields.message : 'triggered',
      ...(priority !== undefined ? { priority } : {}),
      ...(fields.tags.length > 0 ? { tags: fields.tags } : {}),
      ...(typeof fields.click === 'string' && fields.click ? { click: fields.click } : {}),
      ...(fields.markdown ? { content_type: 'text/markdown' as const } : {}),
      publishedBy: user === '*' ? '*' : user.username,
    };
    messages.push(stored);
    const { publishedBy: _who, ...answer } = stored;
    res.writeHead(200, { 'content-type': 'application/json' }).end(`${JSON.stringify(answer)}\n`);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch(() => error(res, 'internal'));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });

  return {
    url,
    messages,
    requests: () => received,
    failNext(count, status = 500) {
      failures = { count, status };
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

interface PublishFields {
  topic: unknown;
  title: unknown;
  message: unknown;
  priority: unknown;
  tags: string[];
  click: unknown;
  markdown: boolean;
}

// Publishing as JSON: the whole body is the message, its topic inside.
function fromJson(body: string): PublishFields | undefined {
  let input: unknown;
  try {
    input = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return undefined;
  const m = input as Record<string, unknown>;
  if (
    m.tags !== undefined &&
    !(Array.isArray(m.tags) && m.tags.every((t) => typeof t === 'string'))
  ) {
    return undefined;
  }
  return {
    topic: m.topic,
    title: m.title,
    message: m.message,
    priority: m.priority,
    tags: (m.tags as string[] | undefined) ?? [],
    click: m.click,
    markdown: m.markdown === true,
  };
}

// Publishing to /<topic>: the body is the message, the rest in headers (X- prefix optional).
function fromHeaders(topic: string, req: IncomingMessage, body: string): PublishFields | undefined {
  if (topic.includes('/')) return undefined;
  const header = (...names: string[]) => {
    for (const name of names) {
      const value = req.headers[name] ?? req.headers[`x-${name}`];
      if (typeof value === 'string') return value;
    }
    return undefined;
  };
  const markdown = header('markdown', 'md') ?? '';
  return {
    topic,
    title: header('title', 't'),
    message: body,
    priority: header('priority', 'prio', 'p'),
    tags: (header('tags', 'tag', 'ta') ?? '')
      .split(',')
      .map((t) => t.trim())
      .filter(Boolean),
    click: header('click'),
    markdown: ['1', 'yes', 'true'].includes(markdown.toLowerCase()),
  };
}

// A priority 1..5 (number, digits or ntfy's names), undefined for none, null for a bad one.
function readPriority(value: unknown): number | undefined | null {
  if (value === undefined || value === '' || value === 0) return undefined;
  const named =
    typeof value === 'string' ? (PRIORITY_NAMES[value.toLowerCase()] ?? Number(value)) : value;
  return typeof named === 'number' && Number.isInteger(named) && named >= 1 && named <= 5
    ? named
    : null;
}

function error(res: ServerResponse, kind: keyof typeof ERRORS): void {
  writeError(res, ERRORS[kind]);
}

function writeError(
  res: ServerResponse,
  [code, http, message, link]: readonly [number, number, string, string],
): void {
  res
    .writeHead(http, { 'content-type': 'application/json' })
    .end(
      `${JSON.stringify({ ...(code ? { code } : {}), http, error: message, ...(link ? { link } : {}) })}\n`,
    );
}
