/**
 * Which scheme each registry's API is spoken to over. HTTPS, except loopback registries (plain
 * HTTP, as Docker treats them) and registries that answered the ping only over plain HTTP while
 * their regopt has `insecureTLS` (as Diun, through containers/image, falls back).
 */
import { log } from '../log.js';
import { registryApiHost, registryApiUrl } from './reference.js';

export class RegistrySchemes {
  private readonly plainHttp = new Set<string>();
  // `scheme://host[:port]` of each registry's API, as a URL normalises it, worked out once.
  private readonly origins = new Map<string, string>();

  /** The URL of `path` (such as `/v2/`) on `registry`'s API, over the scheme it answers on. */
  url(registry: string, path: string): URL {
    if (!this.plainHttp.has(registry)) return registryApiUrl(registry, path);
    return new URL(path, `http://${registryApiHost(registry)}`);
  }

  /**
   * The URL of `path` on `registry`'s API as a string: the same as `url()`, without a URL object
   * per request. `path` must need no escaping (a manifest path of a parsed reference).
   */
  href(registry: string, path: string): string {
    let origin = this.origins.get(registry);
    if (origin === undefined) {
      origin = this.url(registry, '/').origin;
      this.origins.set(registry, origin);
    }
    return origin + path;
  }

  /** Whether a failed HTTPS ping to `registry` may be tried again over plain HTTP. */
  mayFallBack(registry: string, url: URL, insecureTLS: boolean): boolean {
    return insecureTLS && url.protocol === 'https:' && !this.plainHttp.has(registry);
  }

  /** Remembers that `registry` speaks plain HTTP, and says so once. */
  usePlainHttp(registry: string): void {
    if (this.plainHttp.has(registry)) return;
    this.plainHttp.add(registry);
    this.origins.delete(registry);
    log('warn', `registry ${registry} answered over plain HTTP: insecureTLS allows it`, {
      registry,
    });
  }
}
