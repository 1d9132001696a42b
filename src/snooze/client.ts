// Alertmanager's API v2, the silences part: list, create, read one, expire. Every request is
// bounded by the configured timeout; errors name Alertmanager by its origin only (a URL may
// carry credentials) and never quote a secret.
import { z } from 'zod';
import type { AlertmanagerConfig } from '../config/alertmanager.js';
import type { PostableSilence, Silence } from './silence.js';

const MatcherSchema = z.object({
  name: z.string(),
  value: z.string(),
  isRegex: z.boolean(),
  isEqual: z.boolean().optional(),
});

const SilenceSchema = z.object({
  id: z.string(),
  matchers: z.array(MatcherSchema),
  startsAt: z.string(),
  endsAt: z.string(),
  createdBy: z.string(),
  comment: z.string(),
  status: z.object({ state: z.enum(['active', 'pending', 'expired']) }),
});

/** Alertmanager silence ids are UUIDs; anything else never reaches a URL. */
export const SILENCE_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Why a request to Alertmanager failed, said so a person knows where to look. */
export class AlertmanagerError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

/** The silences of one Alertmanager. */
export class SilenceClient {
  private readonly base: string;
  private readonly where: string;
  private readonly headers: Record<string, string>;

  constructor(private readonly config: AlertmanagerConfig) {
    const url = new URL(config.url);
    this.where = `Alertmanager at ${url.origin}`;
    // Credentials in the URL go into the header: fetch refuses a URL that carries them.
    const { username, password } = url;
    url.username = '';
    url.password = '';
    this.base = url.href.replace(/\/+$/, '');
    const { auth } = config;
    const basic =
      auth.kind === 'basic'
        ? `${auth.username}:${auth.password}`
        : username && `${decodeURIComponent(username)}:${decodeURIComponent(password)}`;
    this.headers = {
      accept: 'application/json',
      ...(auth.kind === 'bearer' ? { authorization: `Bearer ${auth.token}` } : {}),
      ...(basic ? { authorization: `Basic ${Buffer.from(basic).toString('base64')}` } : {}),
    };
  }

  /** Every silence Alertmanager holds, expired ones included. */
  async list(): Promise<Silence[]> {
    const body = await this.call('GET', '/api/v2/silences');
    const parsed = z.array(SilenceSchema).safeParse(body);
    if (!parsed.success) throw new AlertmanagerError(`${this.where} answered an unknown shape`);
    return parsed.data;
  }

  /** One silence, or undefined when Alertmanager has none by that id. */
  async get(id: string): Promise<Silence | undefined> {
    if (!SILENCE_ID.test(id)) return undefined;
    try {
      const parsed = SilenceSchema.safeParse(await this.call('GET', `/api/v2/silence/${id}`));
      if (!parsed.success) throw new AlertmanagerError(`${this.where} answered an unknown shape`);
      return parsed.data;
    } catch (err) {
      if (err instanceof AlertmanagerError && err.status === 404) return undefined;
      throw err;
    }
  }

  /** Creates the silence; resolves to its id. */
  async create(silence: PostableSilence): Promise<string> {
    const body = await this.call('POST', '/api/v2/silences', silence);
    const id = z.object({ silenceID: z.string() }).safeParse(body);
    if (!id.success) throw new AlertmanagerError(`${this.where} answered an unknown shape`);
    return id.data.silenceID;
  }

  /** Expires the silence now. */
  async expire(id: string): Promise<void> {
    if (!SILENCE_ID.test(id)) throw new AlertmanagerError(`not a silence id: "${id.slice(0, 40)}"`);
    await this.call('DELETE', `/api/v2/silence/${id}`);
  }

  private async call(method: string, path: string, body?: unknown): Promise<unknown> {
    let res: Response;
    try {
      res = await fetch(`${this.base}${path}`, {
        method,
        headers: body ? { ...this.headers, 'content-type': 'application/json' } : this.headers,
        body: body ? JSON.stringify(body) : undefined,
        signal: AbortSignal.timeout(this.config.timeout),
        redirect: 'error',
      });
    } catch (err) {
      const timedOut = err instanceof Error && err.name === 'TimeoutError';
      const cause = (err as { cause?: { code?: string } }).cause?.code;
      throw new AlertmanagerError(
        timedOut
          ? `${this.where} did not answer within ${this.config.timeout} ms`
          : `${this.where} is unreachable${cause ? ` (${cause})` : ''}`,
      );
    }
    const text = await res.text();
    if (!res.ok) {
      // Alertmanager's error bodies are short JSON strings ("silence not found").
      const said = text.trim().replace(/^"|"$/g, '').slice(0, 200);
      throw new AlertmanagerError(
        `${this.where} answered ${res.status}${said ? `: ${said}` : ''}`,
        res.status,
      );
    }
    try {
      return text === '' ? undefined : JSON.parse(text);
    } catch {
      throw new AlertmanagerError(`${this.where} answered something other than JSON`);
    }
  }
}
