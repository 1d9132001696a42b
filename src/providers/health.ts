import { log } from '../log.js';
import type { EndpointStatus } from './types.js';

/**
 * Whether one provider endpoint answered at its last use, and why not: what `diun_provider_up`
 * and the API report. A change is logged once (`docker endpoint down endpoint=local error=...`),
 * not at every listing.
 */
export class EndpointHealth {
  private up = false;
  private error: string | undefined = 'not contacted yet';

  constructor(
    private readonly provider: string,
    private readonly endpoint: string,
  ) {}

  /**
   * Records whether the endpoint answered. `sayNewError`: a different error while it stays down
   * is logged too (not for Docker, whose event stream and listing fail with different errors
   * in turn while a daemon is away).
   */
  mark(up: boolean, err?: unknown, opts: { sayNewError?: boolean } = {}): void {
    const error = up ? undefined : err instanceof Error ? err.message : String(err);
    if (up !== this.up || (opts.sayNewError && error !== this.error)) {
      const fields = this.provider === 'docker' ? { endpoint: this.endpoint } : {};
      log(up ? 'info' : 'warn', `${this.provider} endpoint ${up ? 'up' : 'down'}`, {
        ...fields,
        error: err,
      });
    }
    this.up = up;
    this.error = error;
  }

  /**
   * Runs a listing: its containers, and the endpoint up; or, when any call it needs fails (a 403
   * from a proxy, a daemon going away mid-list), none, and the endpoint down with that call's
   * error. The watcher then keeps the endpoint's last containers: none is dropped in silence.
   */
  async listing<T>(list: () => Promise<T[]>): Promise<T[]> {
    try {
      const listed = await list();
      this.mark(true);
      return listed;
    } catch (err) {
      this.mark(false, err);
      return [];
    }
  }

  status(): EndpointStatus {
    return { provider: this.provider, endpoint: this.endpoint, up: this.up, error: this.error };
  }
}
