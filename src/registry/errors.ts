/** Every reason an image check can fail for: the closed label set of its failure counter. */
export const FAILURE_REASONS = [
  'timeout',
  'auth',
  'not_found',
  'rate_limited',
  'registry_error',
  'invalid',
] as const;

/** Why an image check failed: the `reason` label of `diun_image_check_failures_total`. */
export type FailureReason = (typeof FAILURE_REASONS)[number];

/**
 * A failed registry conversation. Messages name the registry, repository and status, never a
 * credential, token or signed URL, so they are safe to log and to show in the API.
 */
export class RegistryError extends Error {
  override readonly name = 'RegistryError';
  readonly reason: FailureReason;
  readonly status?: number;
  readonly retryAfterSeconds?: number;

  constructor(
    reason: FailureReason,
    message: string,
    opts: { status?: number; retryAfterSeconds?: number; cause?: unknown } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.reason = reason;
    if (opts.status !== undefined) this.status = opts.status;
    if (opts.retryAfterSeconds !== undefined) this.retryAfterSeconds = opts.retryAfterSeconds;
  }
}

/** The failure reason of any error: a RegistryError's own, `registry_error` for anything else. */
export function failureReason(err: unknown): FailureReason {
  return err instanceof RegistryError ? err.reason : 'registry_error';
}

/** Maps an HTTP status that ended a registry request to the reason a user would name it by. */
export function reasonForStatus(status: number): FailureReason {
  if (status === 401 || status === 403) return 'auth';
  if (status === 404) return 'not_found';
  if (status === 429) return 'rate_limited';
  return 'registry_error';
}

/** Seconds to wait from a Retry-After header (delta-seconds or an HTTP date), if it parses. */
export function parseRetryAfter(
  value: string | undefined,
  now: number = Date.now(),
): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, Math.ceil((at - now) / 1000));
}
