// The shapes the registry client takes and returns, apart from the client itself, so that
// auth.ts and content.ts (which the client imports) can use them without importing it back.

/** Credentials for one registry; both empty means anonymous access. */
export interface RegistryCredentials {
  username?: string;
  password?: string;
}

/** How to talk to a registry for one reference: credentials, timeout, TLS check and cap. */
export interface RequestOptions {
  credentials?: RegistryCredentials;
  timeoutMs: number;
  /** Accept any certificate, and plain HTTP when the registry answers only that. */
  insecureTLS: boolean;
  /** A PEM file of CAs trusted for this registry, beside the usual ones (regopt `caFile`). */
  caFile?: string;
  /** At most this many requests in flight to the registry, a hard cap (regopt `maxConcurrent`). */
  maxConcurrent?: number;
  /** Checks in flight at once (`watch.workers`): the adaptive limit never goes above it. */
  workers?: number;
}

/** What a manifest HEAD tells: the digest and media type, without the body. */
export interface ManifestHead {
  digest: string;
  mediaType: string;
}

/** A manifest as fetched: digest, media type, raw body and the body parsed as JSON. */
export interface Manifest {
  digest: string;
  mediaType: string;
  body: Buffer;
  json: unknown;
}
