// The HTTP side of the bridge's channels: one JSON POST per message to a push service, with a
// timeout per request and bounded retries (bridge.ts's withRetries).
import { Agent, request } from 'undici';
import { type Attempt, type Delivery, networkError, retryable, withRetries } from './bridge.js';

/** Where and how a channel posts: its service's name (for errors), URL, headers and limits. */
export interface PushTarget {
  service: string;
  url: string;
  headers: Record<string, string>;
  timeout: number;
  retries: number;
  /** What the service's error body (and status) say, as `: reason`, or ''. */
  reason(status: number, body: string): string;
}

/** Posts each message as JSON to one push service; never shows the URL or headers in an error. */
export class PushClient<M> {
  readonly #target: PushTarget;
  readonly #agent: Agent;

  constructor(target: PushTarget) {
    this.#target = target;
    this.#agent = new Agent({
      connect: { timeout: target.timeout },
      headersTimeout: target.timeout,
      bodyTimeout: target.timeout,
    });
  }

  /** Delivers one message, retrying network errors, timeouts, 429 and 5xx with back-off. */
  deliver(message: M): Promise<Delivery> {
    return withRetries(this.#target.retries, () => this.#post(message));
  }

  async #post(message: M): Promise<Attempt> {
    const { service, url, headers, timeout } = this.#target;
    const signal = AbortSignal.timeout(timeout);
    try {
      const res = await request(url, {
        method: 'POST',
        dispatcher: this.#agent,
        signal,
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify(message),
      });
      const body = await res.body.text();
      if (res.statusCode >= 200 && res.statusCode < 300) return { ok: true };
      return {
        ok: false,
        retry: retryable(res.statusCode),
        error: `${service} answered ${res.statusCode}${this.#target.reason(res.statusCode, body)}`,
      };
    } catch (err) {
      const error = signal.aborted
        ? `no answer within ${timeout / 1000}s`
        : networkError(service, err);
      return { ok: false, retry: true, error };
    }
  }

  /** Lets deliveries in flight end, then closes the connections. */
  close(): Promise<void> {
    return this.#agent.close();
  }
}

/** The string field `field` of a JSON error body, as `: value` (200 characters at most), or ''. */
export function jsonReason(body: string, field: string): string {
  try {
    const value = (JSON.parse(body) as Record<string, unknown>)[field];
    return typeof value === 'string' ? `: ${value.slice(0, 200)}` : '';
  } catch {
    return '';
  }
}
