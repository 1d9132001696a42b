// The `ntfy` section: where the Alertmanager bridge (POST /api/v1/alertmanager/ntfy) publishes,
// how it signs in to ntfy, and the Bearer token Alertmanager must present. Not a Diun key: Diun's
// own notif.ntfy stays ignored, as the rest of `notif`.
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
import {
  duration,
  evenWithOtherProblems,
  int,
  list,
  optionalSection,
  optionalText,
  text,
} from './fields.js';

/** ntfy priorities (1 min ... 5 max) by Alertmanager `severity` label; others get `info`'s. */
export const DEFAULT_NTFY_PRIORITIES: Readonly<Record<string, number>> = {
  critical: 5,
  warning: 4,
  info: 3,
};

// ntfy's own rule for a topic name.
const TOPIC = /^[-_A-Za-z0-9]{1,64}$/;

const topic = optionalText().refine((value) => value === undefined || TOPIC.test(value), {
  error: 'expected 1 to 64 letters, digits, - or _ (an ntfy topic name)',
});

// A user name without a password (or the reverse) signs in as nobody: say so at load time.
const userWithPassword = z.superRefine((ntfy: Record<string, unknown>, ctx) => {
  const user = ntfy.username !== undefined;
  const password = ntfy.password !== undefined || ntfy.passwordFile !== undefined;
  if (user && !password) {
    ctx.addIssue({
      code: 'custom',
      path: ['password'],
      message: 'required with username; set password or passwordFile',
    });
  } else if (password && !user) {
    ctx.addIssue({ code: 'custom', path: ['username'], message: 'required with password' });
  }
}, evenWithOtherProblems);

/** The `ntfy` section; absent means the bridge to ntfy is off. */
export const NtfySchema = optionalSection(
  z
    .strictObject({
      endpoint: serverUrl('ntfy'),
      topic,
      // An access token (`tk_...`), sent as a Bearer token; or a user's name and password.
      token: optionalText(),
      // Read into `token`, `password` and `webhookToken` by the loader.
      tokenFile: optionalText(),
      username: optionalText(),
      password: optionalText(),
      passwordFile: optionalText(),
      webhookToken: optionalText(),
      webhookTokenFile: optionalText(),
      priorities: priorities(priority(1, 5)),
      tags: list(text(), []),
      timeout: duration(10_000, { ms: Number.MIN_VALUE, label: 'must be greater than 0' }),
      retries: int(0, 3),
      ...messageCaps(),
    })
    .check(
      requiredEndpoint('ntfy', 'https://ntfy.sh'),
      z.superRefine((ntfy, ctx) => {
        if (ntfy.topic === undefined) {
          ctx.addIssue({
            code: 'custom',
            path: ['topic'],
            message: 'required: the ntfy topic to publish to',
          });
        }
      }, evenWithOtherProblems),
      requiredSecret('webhookToken', 'the Bearer token Alertmanager sends to the bridge'),
      notBoth('token'),
      notBoth('password'),
      notBoth('webhookToken'),
      notBoth('token', 'username'),
      userWithPassword,
    )
    .transform(
      ({ endpoint, topic, token, username, password, webhookToken, priorities, ...rest }) => ({
        // The checks above guarantee endpoint, topic and webhookToken; `?? ''` only satisfies the type.
        endpoint: (endpoint ?? '').replace(/\/+$/, ''),
        topic: topic ?? '',
        auth: authOf(token, username, password),
        webhookToken: webhookToken ?? '',
        priorities: { ...DEFAULT_NTFY_PRIORITIES, ...priorities },
        tags: rest.tags,
        timeout: rest.timeout,
        retries: rest.retries,
        maxMessagesPerWebhook: rest.maxMessagesPerWebhook,
        maxMessagesPerMinute: rest.maxMessagesPerMinute,
      }),
    ),
);

/** How the bridge signs in to ntfy: an access token, a user, or not at all (an open topic). */
export type NtfyAuth =
  | { kind: 'token'; token: string }
  | { kind: 'user'; username: string; password: string }
  | { kind: 'none' };

function authOf(token?: string, username?: string, password?: string): NtfyAuth {
  if (token !== undefined) return { kind: 'token', token };
  if (username !== undefined && password !== undefined) return { kind: 'user', username, password };
  return { kind: 'none' };
}

export type NtfyConfig = NonNullable<z.output<typeof NtfySchema>>;
