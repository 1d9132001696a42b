import { hostname } from 'node:os';

/** Where `alert test` sends when neither `--alertmanager` nor `ALERTMANAGER_URL` says. */
export const DEFAULT_ALERTMANAGER_URL = 'http://127.0.0.1:9093';

/** The alert `alert test` posts: what Alertmanager's `POST /api/v2/alerts` takes, one of. */
export interface TestAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
}

/** Why `alert test` failed, said so a user knows what to fix. */
export class AlertTestError extends Error {}

/**
 * The Alertmanager base URL: `--alertmanager`, else `ALERTMANAGER_URL`, else the default.
 * The config is not read: the command tries a route, whatever the exporter is set up with.
 */
export function alertmanagerUrl(flag: string | undefined, env: NodeJS.ProcessEnv): string {
  const raw = flag || env.ALERTMANAGER_URL || DEFAULT_ALERTMANAGER_URL;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new AlertTestError(`not a URL: "${raw}" (expected e.g. ${DEFAULT_ALERTMANAGER_URL})`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new AlertTestError(`not an http(s) URL: "${raw}"`);
  }
  // A route prefix (`--web.route-prefix`) stays; the API path is added after it.
  return raw.replace(/\/+$/, '');
}

/**
 * A test alert that fires now and resolves by itself after `minutes`. Its `instance` names
 * this host and the moment, so each test is a new alert that Alertmanager notifies about,
 * rather than a repeat of the last test it would hold back until `repeat_interval`.
 */
export function testAlert(
  severity: string,
  now = new Date(),
  minutes = 5,
  host = hostname(),
): TestAlert {
  const endsAt = new Date(now.getTime() + minutes * 60_000);
  return {
    labels: {
      alertname: 'DiunExporterTest',
      severity,
      instance: `${host}:alert-test:${now.getTime()}`,
    },
    annotations: {
      summary: 'Test alert from diun-exporter',
      description:
        `Sent by \`diun-exporter alert test\` on ${host} to check the route from Alertmanager ` +
        `to its receivers. Nothing is wrong; it resolves by itself at ${endsAt.toISOString()}.`,
    },
    startsAt: now.toISOString(),
    endsAt: endsAt.toISOString(),
  };
}

/** Posts `alert` to the Alertmanager at `base`; throws an AlertTestError that names the URL. */
export async function sendTestAlert(base: string, alert: TestAlert): Promise<void> {
  const url = `${base}/api/v2/alerts`;
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([alert]),
      signal: AbortSignal.timeout(10_000),
    });
  } catch (err) {
    throw new AlertTestError(`cannot reach Alertmanager at ${base}: ${describe(err)}`);
  }
  if (!res.ok) {
    const body = (await res.text().catch(() => '')).trim().slice(0, 2_000);
    throw new AlertTestError(
      `Alertmanager at ${url} answered ${res.status} ${res.statusText}${body ? `: ${body}` : ''}`,
    );
  }
}

// fetch says only "fetch failed"; the cause says what happened (ECONNREFUSED, a DNS error).
function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  if (err.name === 'TimeoutError') return 'no answer within 10 s';
  const cause = err.cause;
  if (cause instanceof Error) {
    const code = (cause as NodeJS.ErrnoException).code;
    return code && !cause.message.includes(code) ? `${code}: ${cause.message}` : cause.message;
  }
  return err.message;
}
