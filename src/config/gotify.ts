// The `gotify` section: where the Alertmanager bridge (POST /api/v1/alertmanager/gotify) sends
// its messages, and the Bearer token Alertmanager must present. Not a Diun key: Diun's own
// notif.gotify stays ignored, as the rest of `notif`.
import { z } from 'zod';
import {
  messageCaps,
  notBoth,
  priorities,
  priority,
  requiredEndpoint,
  requiredSecret,
  serverUrl,
} from './bridge-fields.js';
import { duration, int, optionalSection, optionalText } from './fields.js';

/** Gotify priorities by Alertmanager `severity` label; a severity not listed gets `info`'s. */
export const DEFAULT_PRIORITIES: Readonly<Record<string, number>> = {
  critical: 8,
  warning: 5,
  info: 2,
};

/** The `gotify` section; absent means the bridge is off. */
export const GotifySchema = optionalSection(
  z
    .strictObject({
      endpoint: serverUrl('Gotify'),
      token: optionalText(),
      // Read into `token` (and `webhookToken`) by the loader.
      tokenFile: optionalText(),
      webhookToken: optionalText(),
      webhookTokenFile: optionalText(),
      priorities: priorities(priority(0)),
      timeout: duration(10_000, { ms: Number.MIN_VALUE, label: 'must be greater than 0' }),
      retries: int(0, 3),
      ...messageCaps(),
    })
    .check(
      requiredEndpoint('Gotify', 'https://gotify.example.org'),
      requiredSecret('token', 'the token of a Gotify application'),
      requiredSecret('webhookToken', 'the Bearer token Alertmanager sends to the bridge'),
      notBoth('token'),
      notBoth('webhookToken'),
    )
    .transform(({ endpoint, token, webhookToken, priorities, timeout, retries, ...caps }) => ({
      // The checks above guarantee these three; `?? ''` only satisfies the type.
      endpoint: (endpoint ?? '').replace(/\/+$/, ''),
      token: token ?? '',
      webhookToken: webhookToken ?? '',
      priorities: { ...DEFAULT_PRIORITIES, ...priorities },
      timeout,
      retries,
      maxMessagesPerWebhook: caps.maxMessagesPerWebhook,
      maxMessagesPerMinute: caps.maxMessagesPerMinute,
    })),
);

export type GotifyConfig = NonNullable<z.output<typeof GotifySchema>>;
