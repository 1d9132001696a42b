/**
 * One HTTP exchange with a registry or token service: picks the TLS agent, enforces the
 * per-request timeout and body cap, and reports every request and rate-limit header to the
 * observer. Nothing here knows about authentication or manifests.
 */
import { Agent, request } from 'undici';
import { parseRetryAfter, RegistryError, reasonForStatus } from './errors.js';

export type RequestKind = 'ping' | 'token' | 'manifest_head' | 'manifest_get' | 'tags' | 'blob';

/** How metrics see the client; the metrics code implements it. */
export interface RegistryObserver {
  request(e: { registry: string; kind: RequestKind; code: string; seconds: number }): void;
  rateLimit(e: { registry: string; limit: number; remaining: number }): void;
}

export interface TransportRequest {
  /** The registry the request is on behalf of: the metrics label, also for token requests. */
  registry: string;
  kind: RequestKind;
  method: 'GET' | 'HEAD';
  url: URL;
  headers: Record<string, string>;
  timeoutMs: number;
  insecureTLS: boolean;
  /** Largest successful body accepted; beyond it the request fails as `invalid`. */
  maxBytes: number;
  /** Names the request in error messages, such as `HEAD 127.0.0.1:5000/team/app:1.0`. */
  describe: string;
}

export interface TransportResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

// Error bodies are read only to name the registry's error code; no need to keep much.
const ERROR_BODY_CAP = 64 * 1024;
const TIMEOUT_CODES = new Set([
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

/** The first value of a response header, if present. */
export function headerValue(
  headers: TransportResponse['headers'],
  name: string,
): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

export class Transport {
  private readonly agents = new Map<boolean, Agent>();

  constructor(
    private readonly userAgent: string,
    private readonly observer?: RegistryObserver,
  ) {}

  /** Sends one request and reads its whole body; throws RegistryError on network failure. */
  async send(req: TransportRequest): Promise<TransportResponse> {
    const started = performance.now();
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), req.timeoutMs);
    let code = 'error';
    try {
      const res = await request(req.url, {
        method: req.method,
        headers: { 'user-agent': this.userAgent, ...req.headers },
        dispatcher: this.agent(req.insecureTLS),
        signal: controller.signal,
      });
      code = String(res.statusCode);
      this.reportRateLimit(req.registry, res.headers);
      const ok = res.statusCode >= 200 && res.statusCode < 300;
      const cap = ok ? req.maxBytes : ERROR_BODY_CAP;
      const declared = Number(headerValue(res.headers, 'content-length'));
      if (ok && req.method !== 'HEAD' && declared > cap) {
        res.body.destroy();
        throw tooLarge(req, res.statusCode);
      }
      const body = await readCapped(res.body, cap);
      if (body === undefined && ok) throw tooLarge(req, res.statusCode);
      return { status: res.statusCode, headers: res.headers, body: body ?? Buffer.alloc(0) };
    } catch (err) {
      if (err instanceof RegistryError) throw err;
      throw networkError(req, err, controller.signal.aborted);
    } finally {
      clearTimeout(timer);
      this.observer?.request({
        registry: req.registry,
        kind: req.kind,
        code,
        seconds: (performance.now() - started) / 1000,
      });
    }
  }

  async close(): Promise<void> {
    const agents = [...this.agents.values()];
    this.agents.clear();
    await Promise.all(agents.map((a) => a.close()));
  }

  private agent(insecureTLS: boolean): Agent {
    let agent = this.agents.get(insecureTLS);
    if (!agent) {
      agent = new Agent(insecureTLS ? { connect: { rejectUnauthorized: false } } : {});
      this.agents.set(insecureTLS, agent);
    }
    return agent;
  }

  // Docker Hub sends `RateLimit-Limit: 100;w=21600` and `RateLimit-Remaining: 76;w=21600`.
  private reportRateLimit(registry: string, headers: TransportResponse['headers']): void {
    const limit = leadingInteger(headerValue(headers, 'ratelimit-limit'));
    const remaining = leadingInteger(headerValue(headers, 'ratelimit-remaining'));
    if (limit !== undefined && remaining !== undefined) {
      this.observer?.rateLimit({ registry, limit, remaining });
    }
  }
}

function leadingInteger(value: string | undefined): number | undefined {
  const m = value === undefined ? null : /^\s*(\d+)/.exec(value);
  return m ? Number(m[1]) : undefined;
}

// Reads at most `cap` bytes; undefined when the body is longer (the stream is then destroyed).
async function readCapped(body: AsyncIterable<Buffer>, cap: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > cap) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

function tooLarge(req: TransportRequest, status: number): RegistryError {
  return new RegistryError('invalid', `${req.describe}: body larger than ${req.maxBytes} bytes`, {
    status,
  });
}

function networkError(req: TransportRequest, err: unknown, aborted: boolean): RegistryError {
  const code = errorCode(err);
  if (aborted || (code !== undefined && TIMEOUT_CODES.has(code))) {
    return new RegistryError('timeout', `${req.describe}: no answer within ${req.timeoutMs}ms`);
  }
  const why = code ?? (err instanceof Error ? err.message : String(err));
  return new RegistryError('registry_error', `${req.describe}: ${why}`, { cause: err });
}

/** The RegistryError for a response that was not what the caller needed. */
export function statusError(req: Pick<TransportRequest, 'describe'>, res: TransportResponse) {
  const status = res.status;
  const reason = reasonForStatus(status);
  const code = registryErrorCode(res.body);
  let message = `${req.describe}: HTTP ${status}${code ? ` ${code}` : ''}`;
  const opts: { status: number; retryAfterSeconds?: number } = { status };
  if (reason === 'rate_limited') {
    const retryAfter = parseRetryAfter(headerValue(res.headers, 'retry-after'));
    if (retryAfter !== undefined) {
      opts.retryAfterSeconds = retryAfter;
      message += ` (retry after ${retryAfter}s)`;
    }
  }
  return new RegistryError(reason, message, opts);
}

function errorCode(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null || !('code' in err)) return undefined;
  return typeof err.code === 'string' ? err.code : undefined;
}

// Distribution-spec error bodies: {"errors":[{"code":"MANIFEST_UNKNOWN","message":...}]}.
function registryErrorCode(body: Buffer): string | undefined {
  try {
    const parsed: unknown = JSON.parse(body.toString('utf8'));
    if (typeof parsed !== 'object' || parsed === null || !('errors' in parsed)) return undefined;
    const first: unknown = Array.isArray(parsed.errors) ? parsed.errors[0] : undefined;
    if (typeof first !== 'object' || first === null || !('code' in first)) return undefined;
    return typeof first.code === 'string' && /^[A-Z_]{1,64}$/.test(first.code)
      ? first.code
      : undefined;
  } catch {
    return undefined;
  }
}
