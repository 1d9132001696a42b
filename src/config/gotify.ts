// The `gotify` section: where the Alertmanager bridge (POST /api/v1/alertmanager/gotify) sends
// its messages, and the Bearer token Alertmanager must present. Not a Diun key: Diun's own
// notif.gotify stays ignored, as the rest of `notif`.
import { z } from 'zod';
import {
  duration,
  evenWithOtherProblems,
  int,
  isHttpUrl,
  isUnset,
  notBoth,
  optionalSection,
  optionalText,
  requiredKey,
} from './fields.js';

/** Gotify priorities by Alertmanager `severity` label; a severity not listed gets `info`'s. */
export const DEFAULT_PRIORITIES: Readonly<Record<string, number>> = {
  critical: 8,
  warning: 5,
  info: 2,
};

const URL_ERROR = 'expected an http:// or https:// URL of the Gotify server';

// The value is never quoted back: a URL may carry credentials.
const endpointUrl = optionalText().refine((value) => value === undefined || isHttpUrl(value), {
  error: URL_ERROR,
});

const priority = z.preprocess(
  (value) => (typeof value === 'string' && /^[+-]?\d+$/.test(value) ? Number(value) : value),
  z.number({ error: 'expected integer >= 0' }).int({ error: 'expected integer >= 0' }).min(0, {
    error: 'expected integer >= 0',
  }),
);

// A required secret reports its missing value under its plain key, naming both ways to give it.
function required(plain: 'token' | 'webhookToken', what: string) {
  return z.superRefine((gotify: Record<string, unknown>, ctx) => {
    const file = `${plain}File`;
    if (isUnset(gotify[plain]) && isUnset(gotify[file])) {
      ctx.addIssue({
        code: 'custom',
        path: [plain],
        message: `required: ${what}; set ${plain} or ${file}`,
      });
    }
  }, evenWithOtherProblems);
}

/** The `gotify` section; absent means the bridge is off. */
export const GotifySchema = optionalSection(
  z
    .strictObject({
      endpoint: endpointUrl,
      token: optionalText(),
      // Read into `token` (and `webhookToken`) by the loader.
      tokenFile: optionalText(),
      webhookToken: optionalText(),
      webhookTokenFile: optionalText(),
      priorities: z.preprocess(
        (value) => (value === null ? undefined : value),
        z.record(z.string().min(1), priority).default({}),
      ),
      timeout: duration(10_000, { ms: Number.MIN_VALUE, label: 'must be greater than 0' }),
      retries: int(0, 3),
    })
    .check(
      requiredKey(
        'endpoint',
        'the http:// or https:// URL of the Gotify server, e.g. "https://gotify.example.org"',
      ),
      required('token', 'the token of a Gotify application'),
      required('webhookToken', 'the Bearer token Alertmanager sends to the bridge'),
      notBoth('token'),
      notBoth('webhookToken'),
    )
    .transform(({ endpoint, token, webhookToken, priorities, timeout, retries }) => ({
      // The checks above guarantee these three; `?? ''` only satisfies the type.
      endpoint: (endpoint ?? '').replace(/\/+$/, ''),
      token: token ?? '',
      webhookToken: webhookToken ?? '',
      priorities: { ...DEFAULT_PRIORITIES, ...priorities },
      timeout,
      retries,
    })),
);

export type GotifyConfig = NonNullable<z.output<typeof GotifySchema>>;
