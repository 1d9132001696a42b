/**
 * One HTTP exchange with a registry or token service: picks the TLS agent, enforces the
 * per-request timeout (headers and body) and body cap, keeps to the registry's concurrency cap
 * and 429 back-off, and reports every request and rate-limit header to the observer. Nothing
 * here knows about authentication or manifests.
 */
import { readFileSync } from 'node:fs';
import type { LookupFunction } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { rootCertificates } from 'node:tls';
import { Agent, type Dispatcher } from 'undici';
import { parseRetryAfter, RegistryError, reasonForStatus } from './errors.js';
import { type AnswerSample, RegistryGate } from './limiter.js';

export type RequestKind = 'ping' | 'token' | 'manifest_head' | 'manifest_get' | 'tags' | 'blob';

/** How metrics see the client; the metrics code implements it. */
export interface RegistryObserver {
  request(e: { registry: string; kind: RequestKind; code: string; seconds: number }): void;
  rateLimit(e: { registry: string; limit: number; remaining: number }): void;
  /** The requests allowed in flight to `registry` now (it adapts; see limiter.ts). */
  concurrencyLimit?(e: { registry: string; limit: number }): void;
}

export interface TransportRequest {
  /** The registry the request is on behalf of: the metrics label, also for token requests. */
  registry: string;
  kind: RequestKind;
  method: 'GET' | 'HEAD';
  /**
   * Where to send it: a URL, or the same as a string (`https://host/v2/...`), which spares the
   * manifest requests of a run a URL object each.
   */
  url: URL | string;
  headers: Record<string, string>;
  timeoutMs: number;
  insecureTLS: boolean;
  /** A PEM file of CAs trusted for this registry, beside the usual ones (regopt `caFile`). */
  caFile?: string;
  /** Largest successful body accepted; beyond it the request fails as `invalid`. */
  maxBytes: number;
  /** Names the request in error messages, such as `HEAD 127.0.0.1:5000/team/app:1.0`. */
  describe: string;
  /**
   * The most requests in flight to `registry` the adaptive limit may reach: `watch.workers`,
   * or the regopt's `maxConcurrent` when lower (see `concurrencyCeiling`).
   */
  ceiling?: number;
}

export interface TransportResponse {
  status: number;
  /** The response headers the client reads (RESPONSE_HEADERS), by lower-case name. */
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/**
 * The response headers anything here reads; the others are not decoded, so a HEAD answered
 * with a dozen headers costs strings for three or four.
 */
export const RESPONSE_HEADERS: ReadonlySet<string> = new Set([
  'content-type',
  'content-length',
  'docker-content-digest',
  'www-authenticate',
  'location',
  'link',
  'retry-after',
  'ratelimit-limit',
  'ratelimit-remaining',
]);
const RESPONSE_HEADER_LENGTHS = new Set([...RESPONSE_HEADERS].map((name) => name.length));

const EMPTY = Buffer.alloc(0);
// Error bodies are read only to name the registry's error code; no need to keep much.
const ERROR_BODY_CAP = 64 * 1024;
// A request answered 429 is sent again at most this often, and only when the registry's pause
// ends within the request's timeout; burst limits (GHCR) then cost a wait, not a failure.
const RETRIES_ON_429 = 2;
// undici's defaults for every request (headersTimeout, bodyTimeout): with `timeout: 0s` they
// are what ends a request to a registry that accepted the connection and then fell silent.
const IDLE_LIMIT_MS = 300_000;
// Requests whose latency says how loaded the registry is: manifests cost about the same each;
// tokens come from another service, and blobs and tag lists vary with their size.
const TIMED_KINDS = new Set<RequestKind>(['manifest_head', 'manifest_get']);
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

// Codes Node gives when a certificate does not verify: the registry's CA is not trusted here.
const UNTRUSTED_CERTIFICATE_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_UNTRUSTED',
]);
// What a TLS client sees when the server answers its hello in plain HTTP.
const NOT_TLS_CODES = new Set(['ERR_SSL_WRONG_VERSION_NUMBER', 'ERR_SSL_PACKET_LENGTH_TOO_LONG']);

/** How connections are made; `lookup` resolves host names (tests point a name at 127.0.0.1). */
export interface TransportOptions {
  observer?: RegistryObserver;
  gate?: RegistryGate;
  lookup?: LookupFunction;
}

export class Transport {
  private readonly agents = new Map<string, Agent>();
  private readonly gate: RegistryGate;
  private readonly observer: RegistryObserver | undefined;
  private readonly lookup: LookupFunction | undefined;

  constructor(
    private readonly userAgent: string,
    opts: TransportOptions = {},
  ) {
    this.observer = opts.observer;
    this.gate =
      opts.gate ??
      new RegistryGate({
        onLimit: (registry, limit) => opts.observer?.concurrencyLimit?.({ registry, limit }),
      });
    this.lookup = opts.lookup;
  }

  /**
   * Sends one request and reads its whole body; throws RegistryError on network failure.
   *
   * `timeoutMs` bounds everything after a slot to the registry is free: waiting out a 429
   * pause, each attempt (headers and body), and the retries after 429. A pause longer than
   * what is left fails at once as `rate_limited`, without asking the registry again.
   * A `timeoutMs` of 0 (Diun's `timeout: 0s`) sets no such bound: only undici's own limits
   * remain, which end a request whose registry sends nothing for IDLE_LIMIT_MS.
   */
  async send(req: TransportRequest): Promise<TransportResponse> {
    const release =
      this.gate.tryAcquire(req.registry, req.ceiling) ??
      (await this.gate.acquire(req.registry, req.ceiling));
    try {
      const deadline = req.timeoutMs > 0 ? Date.now() + req.timeoutMs : Number.POSITIVE_INFINITY;
      for (let attempt = 0; ; attempt++) {
        const pause = this.gate.pauseLeft(req.registry);
        if (pause >= deadline - Date.now()) throw pausedError(req, pause);
        if (pause > 0) await sleep(pause);
        const epoch = this.gate.epochOf(req.registry);
        const started = performance.now();
        const res = await this.attempt(req, Math.max(1, deadline - Date.now()));
        if (res.status !== 429) {
          const sample: AnswerSample = rateLimitHeaders(res.headers);
          sample.epoch = epoch;
          if (TIMED_KINDS.has(req.kind)) sample.latencyMs = performance.now() - started;
          this.gate.answered(req.registry, sample);
          return res;
        }
        const retryAfter = parseRetryAfter(headerValue(res.headers, 'retry-after'));
        const wait = this.gate.rateLimited(req.registry, retryAfter, epoch);
        if (attempt >= RETRIES_ON_429 || wait >= deadline - Date.now()) return res;
      }
    } finally {
      release();
    }
  }

  /** Requests allowed in flight to `registry` now, below `ceiling`. */
  concurrencyLimit(registry: string, ceiling: number): number {
    return this.gate.limitOf(registry, ceiling);
  }

  /**
   * One request, sent with undici's `dispatch` and a small handler rather than `request()`: no
   * body stream, abort signal or promise chain per request, which at 10,000 references a run
   * was most of what a run allocated. The timer runs until the body is read, so a body trickling
   * in still ends at the timeout.
   */
  private attempt(req: TransportRequest, timeoutMs: number): Promise<TransportResponse> {
    return new Promise((resolve, reject) => {
      const exchange = new Exchange(req, this, resolve, reject);
      let dispatcher: Agent;
      try {
        dispatcher = this.agent(req);
      } catch (err) {
        exchange.fail(err);
        return;
      }
      if (Number.isFinite(timeoutMs)) exchange.timer = setTimeout(expire, timeoutMs, exchange);
      const target = typeof req.url === 'string' ? req.url : req.url.href;
      const slash = target.indexOf('/', target.indexOf('//') + 2);
      const headers = ['user-agent', this.userAgent];
      for (const name in req.headers) headers.push(name, req.headers[name]!);
      dispatcher.dispatch(
        {
          origin: target.slice(0, slash),
          path: target.slice(slash),
          method: req.method,
          headers,
          // undici closes the connection after every HEAD unless told not to (in case a server
          // sends a body anyway); registries do not, and a steady run is all HEADs, so without
          // this each one paid a new TCP (and TLS) handshake.
          reset: false,
        },
        exchange,
      );
    });
  }

  /** Tells the observer of one finished request (called once per attempt). */
  reported(req: TransportRequest, code: string, started: number): void {
    this.observer?.request({
      registry: req.registry,
      kind: req.kind,
      code,
      seconds: (performance.now() - started) / 1000,
    });
  }

  async close(): Promise<void> {
    const agents = [...this.agents.values()];
    this.agents.clear();
    await Promise.all(agents.map((a) => a.close()));
  }

  // One agent (and so one connection pool) per way of checking certificates.
  private agent(req: TransportRequest): Agent {
    const caFile = req.insecureTLS ? undefined : req.caFile;
    const key = req.insecureTLS ? 'insecure' : caFile === undefined ? '' : `ca:${caFile}`;
    let agent = this.agents.get(key);
    if (!agent) {
      const connect = {
        ...(this.lookup && { lookup: this.lookup }),
        ...(req.insecureTLS && { rejectUnauthorized: false }),
        ...(caFile !== undefined && { ca: trustedWith(caFile, req) }),
      };
      agent = new Agent({ headersTimeout: IDLE_LIMIT_MS, bodyTimeout: IDLE_LIMIT_MS, connect });
      this.agents.set(key, agent);
    }
    return agent;
  }

  // Docker Hub sends `RateLimit-Limit: 100;w=21600` and `RateLimit-Remaining: 76;w=21600`.
  reportRateLimit(registry: string, headers: TransportResponse['headers']): void {
    const { allowance, remaining } = rateLimitHeaders(headers);
    if (allowance !== undefined && remaining !== undefined) {
      this.observer?.rateLimit({ registry, limit: allowance, remaining });
    }
  }
}

/**
 * undici's handler for one attempt: keeps the status and the headers the client reads, collects
 * the body up to its cap, and settles the attempt's promise once. On the timeout it aborts the
 * request (or, when undici has not sent it yet, as soon as it does), as an abort signal would.
 */
class Exchange implements Dispatcher.DispatchHandler {
  timer: NodeJS.Timeout | undefined;
  timedOut = false;
  private abortRequest: ((err?: Error) => void) | undefined;
  private settled = false;
  private status = 0;
  private code = 'error';
  private headers: TransportResponse['headers'] = {};
  private chunks: Buffer[] = [];
  private size = 0;
  private cap = 0;
  private readonly started = performance.now();

  constructor(
    private readonly req: TransportRequest,
    private readonly transport: Transport,
    private readonly resolve: (res: TransportResponse) => void,
    private readonly reject: (err: unknown) => void,
  ) {}

  onConnect(abort: (err?: Error) => void): void {
    if (this.timedOut) abort(new Error('timed out'));
    else this.abortRequest = abort;
  }

  onHeaders(status: number, raw: Buffer[]): boolean {
    if (status < 200) return true;
    this.status = status;
    this.code = String(status);
    this.headers = responseHeaders(raw);
    this.transport.reportRateLimit(this.req.registry, this.headers);
    const ok = status < 300;
    this.cap = ok ? this.req.maxBytes : ERROR_BODY_CAP;
    const declared = Number(headerValue(this.headers, 'content-length'));
    if (ok && this.req.method !== 'HEAD' && declared > this.cap) {
      this.fail(tooLarge(this.req, status));
      this.abortRequest?.(new Error('body too large'));
    }
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (this.settled) return true;
    this.size += chunk.length;
    if (this.size <= this.cap) {
      this.chunks.push(chunk);
      return true;
    }
    // Longer than the cap: a successful answer fails, an error's body is dropped.
    if (this.status < 300) this.fail(tooLarge(this.req, this.status));
    else this.succeed(EMPTY);
    this.abortRequest?.(new Error('body too large'));
    return true;
  }

  onComplete(): void {
    if (this.settled) return;
    // Copied even when it came in one chunk: a chunk is a view of the socket's read buffer.
    this.succeed(this.chunks.length === 0 ? EMPTY : Buffer.concat(this.chunks));
  }

  onError(err: Error): void {
    this.fail(err);
  }

  /** Aborts on the timeout; the request then fails as `timeout` through onError. */
  expire(): void {
    this.timedOut = true;
    this.abortRequest?.(new Error('timed out'));
  }

  fail(err: unknown): void {
    if (this.settled) return;
    this.finish();
    this.reject(err instanceof RegistryError ? err : networkError(this.req, err, this.timedOut));
  }

  private succeed(body: Buffer): void {
    this.finish();
    this.resolve({ status: this.status, headers: this.headers, body });
  }

  private finish(): void {
    this.settled = true;
    clearTimeout(this.timer);
    this.chunks = [];
    this.transport.reported(this.req, this.code, this.started);
  }
}

function expire(exchange: Exchange): void {
  exchange.expire();
}

// The headers of RESPONSE_HEADERS from undici's raw name and value pairs; a header sent more
// than once gives an array, as undici's own parsing does.
function responseHeaders(raw: Buffer[]): TransportResponse['headers'] {
  const headers: TransportResponse['headers'] = {};
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const key = raw[i]!;
    if (!RESPONSE_HEADER_LENGTHS.has(key.length)) continue;
    const name = key.toString('latin1').toLowerCase();
    if (!RESPONSE_HEADERS.has(name)) continue;
    const value = raw[i + 1]!.toString('latin1');
    const seen = headers[name];
    if (seen === undefined) headers[name] = value;
    else if (Array.isArray(seen)) seen.push(value);
    else headers[name] = [seen, value];
  }
  return headers;
}

// `RateLimit-Limit` and `RateLimit-Remaining`, where sent.
// A new object each call, which `send` completes into the gate's sample.
function rateLimitHeaders(headers: TransportResponse['headers']): {
  epoch: number;
  allowance?: number;
  remaining?: number;
} {
  const sample: { epoch: number; allowance?: number; remaining?: number } = { epoch: 0 };
  const allowance = leadingInteger(headerValue(headers, 'ratelimit-limit'));
  const remaining = leadingInteger(headerValue(headers, 'ratelimit-remaining'));
  if (allowance !== undefined) sample.allowance = allowance;
  if (remaining !== undefined) sample.remaining = remaining;
  return sample;
}

function leadingInteger(value: string | undefined): number | undefined {
  const m = value === undefined ? null : /^\s*(\d+)/.exec(value);
  return m ? Number(m[1]) : undefined;
}

// `ca` replaces Node's trust store, so the usual roots (and NODE_EXTRA_CA_CERTS, which Node
// reads only into its default store) are passed along with the extra file.
function trustedWith(caFile: string, req: TransportRequest): string[] {
  const read = (file: string) => {
    try {
      return readFileSync(file, 'utf8');
    } catch (err) {
      const why = errorCode(err) ?? String(err);
      throw new RegistryError('invalid', `${req.describe}: cannot read caFile "${file}": ${why}`);
    }
  };
  const extra = read(caFile);
  if (!extra.includes('-----BEGIN CERTIFICATE-----')) {
    throw new RegistryError(
      'invalid',
      `${req.describe}: caFile "${caFile}" holds no PEM certificate`,
    );
  }
  const fromEnv = process.env.NODE_EXTRA_CA_CERTS;
  return [...rootCertificates, ...(fromEnv ? [read(fromEnv)] : []), extra];
}

function tooLarge(req: TransportRequest, status: number): RegistryError {
  return new RegistryError('invalid', `${req.describe}: body larger than ${req.maxBytes} bytes`, {
    status,
  });
}

function pausedError(req: TransportRequest, pauseMs: number): RegistryError {
  const seconds = Math.ceil(pauseMs / 1000);
  return new RegistryError(
    'rate_limited',
    `${req.describe}: not sent, ${req.registry} asked to slow down for ${seconds}s more (HTTP 429)`,
    { status: 429, retryAfterSeconds: seconds },
  );
}

function networkError(req: TransportRequest, err: unknown, aborted: boolean): RegistryError {
  const code = errorCode(err);
  if (aborted || (code !== undefined && TIMEOUT_CODES.has(code))) {
    const limit =
      req.timeoutMs > 0
        ? `no complete answer within ${req.timeoutMs}ms`
        : code === 'UND_ERR_CONNECT_TIMEOUT'
          ? 'could not connect (regopt timeout 0s: no overall limit)'
          : `nothing received for ${IDLE_LIMIT_MS / 1000}s (regopt timeout 0s: no overall limit)`;
    return new RegistryError('timeout', `${req.describe}: ${limit}`);
  }
  const why = code ?? (err instanceof Error ? err.message : String(err));
  return new RegistryError('registry_error', `${req.describe}: ${why}${hint(req, code)}`, {
    cause: err,
  });
}

// What to change when the failure is about TLS: said in the message a user reads.
function hint(req: TransportRequest, code: string | undefined): string {
  const url = typeof req.url === 'string' ? req.url : req.url.href;
  if (code === undefined || !url.startsWith('https:')) return '';
  if (UNTRUSTED_CERTIFICATE_CODES.has(code)) {
    return req.caFile
      ? ` (the registry's TLS certificate is not signed by a CA in caFile "${req.caFile}")`
      : " (the registry's TLS certificate is not signed by a trusted CA: name its CA in the regopt's caFile, or set insecureTLS)";
  }
  if (NOT_TLS_CODES.has(code) && !req.insecureTLS) {
    return ' (the registry does not speak TLS here; plain HTTP is used only with insecureTLS: true on its regopt)';
  }
  return '';
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
