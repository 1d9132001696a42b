import type { Readable } from 'node:stream';
import type { DockerEndpoint } from '../config/schema.js';
import { log } from '../log.js';
import { DockerApi } from './docker-api.js';
import { describeDockerError } from './docker-connection.js';

const maxBackoffMs = 30_000;
const connectTimeoutMs = 15_000;
// Calls in flight at once: a listing inspects every image, and each call in flight is a
// connection to the engine or its socket proxy (hundreds of images would open hundreds).
const maxInFlight = 16;

/** What `Engine.follow` watches and whom it tells. */
export interface FollowOptions {
  /** The events API's filters, such as `{ type: ['container'] }`. */
  filters: Record<string, string[]>;
  /** Called at each event, and once at every (re)connection for what happened meanwhile. */
  onChange: () => void;
  /** Called with the reason when the stream cannot be opened or is lost (never after close). */
  onDown: (err: Error) => void;
  /** What a socket proxy must allow, named in a 403's message. */
  proxyAllows?: string;
}

/**
 * One Docker engine as the docker and swarm providers use it: its API client, made on first
 * use, and its events stream, followed with back-off until closed.
 */
export class Engine {
  private client: Promise<DockerApi> | undefined;
  private stream: Readable | undefined;
  private retry: NodeJS.Timeout | undefined;
  private closed = false;
  private inFlight = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(readonly ep: DockerEndpoint) {}

  /** One API call that answers (a listing, an inspect), at most `maxInFlight` at once. */
  async call<T>(fn: (api: DockerApi) => Promise<T>): Promise<T> {
    const api = await this.connect();
    // A finished call hands its slot to the next waiting one, so no newcomer slips in between.
    if (this.inFlight >= maxInFlight) await new Promise<void>((r) => this.waiting.push(r));
    else this.inFlight++;
    try {
      return await fn(api);
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.inFlight--;
    }
  }

  /** The endpoint's client, made on first use; an unreadable certificate file rejects. */
  connect(): Promise<DockerApi> {
    // One connection per call in flight, and one for the events stream: undici would otherwise
    // open a new one for a call that comes as the previous answer is still being wrapped up.
    this.client ??= Promise.resolve().then(
      () => new DockerApi(this.ep, { connections: maxInFlight + 1, connectTimeoutMs }),
    );
    return this.client;
  }

  /** Follows the events stream; reconnects with back-off when the daemon goes away. */
  follow(opts: FollowOptions, delayMs = 1000): void {
    if (this.closed) return;
    const again = () => {
      this.stream = undefined;
      if (this.closed) return;
      const next = Math.min(delayMs * 2, maxBackoffMs);
      this.retry = setTimeout(() => this.follow(opts, next), delayMs);
    };
    const down = (err: Error) => {
      if (!this.closed) opts.onDown(err);
    };
    log('debug', 'following docker events', { endpoint: this.ep.name });
    // A proxy that accepts the connection but never answers must not stall reconnection.
    const connecting = new AbortController();
    const giveUp = setTimeout(() => connecting.abort(), connectTimeoutMs);
    this.connect()
      .then((api) => api.events(opts.filters, connecting.signal))
      .then((stream) => {
        clearTimeout(giveUp);
        if (this.closed) {
          stream.destroy();
          return;
        }
        this.stream = stream;
        // Up or down is the listing's to say (onChange re-lists): a proxy may allow the events
        // and still refuse what a listing needs.
        opts.onChange(); // whatever happened while we were away
        stream.on('data', () => opts.onChange());
        let ended = false;
        const lost = (err: Error) => {
          log('debug', 'docker events stream lost', { endpoint: this.ep.name, error: err, ended });
          if (ended) return;
          ended = true;
          down(err);
          opts.onChange();
          // the stream was healthy until now, so start the back-off afresh
          delayMs = 1000;
          again();
        };
        stream.on('error', lost);
        stream.on('end', () => lost(new Error('events stream ended')));
        stream.on('close', () => lost(new Error('events stream closed')));
      })
      .catch((err: unknown) => {
        clearTimeout(giveUp);
        down(describeDockerError('events', err, opts.proxyAllows));
        again();
      });
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.retry);
    this.stream?.destroy();
    void this.client?.then((api) => api.close()).catch(() => undefined);
  }
}
