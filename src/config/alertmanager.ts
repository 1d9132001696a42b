// The `alertmanager` section: the Alertmanager the status page snoozes alerts in (silences
// through its API v2). Not a Diun key; absent, the page has no snooze.
import { z } from 'zod';
import {
  duration,
  evenWithOtherProblems,
  httpUrl,
  isUnset,
  notBoth,
  optionalSection,
  optionalText,
  requiredKey,
} from './fields.js';

const url = httpUrl('expected an http:// or https:// URL of Alertmanager, with no query string');

/** The `alertmanager` section; absent means no snooze on the status page. */
export const AlertmanagerSchema = optionalSection(
  z
    .strictObject({
      url,
      // Basic auth, or a Bearer token, for an Alertmanager behind a proxy that asks for one.
      username: optionalText(),
      password: optionalText(),
      // Read into `password` (and `token`) by the loader.
      passwordFile: optionalText(),
      token: optionalText(),
      tokenFile: optionalText(),
      timeout: duration(5_000, { ms: Number.MIN_VALUE, label: 'must be greater than 0' }),
    })
    .check(
      requiredKey(
        'url',
        'the http:// or https:// URL of Alertmanager, e.g. "http://alertmanager:9093"',
      ),
      z.superRefine((am, ctx) => {
        const basic = !isUnset(am.password) || !isUnset(am.passwordFile);
        if (basic && isUnset(am.username)) {
          ctx.addIssue({
            code: 'custom',
            path: ['username'],
            message: 'required with password or passwordFile (basic auth)',
          });
        }
        if ((basic || !isUnset(am.username)) && (!isUnset(am.token) || !isUnset(am.tokenFile))) {
          ctx.addIssue({
            code: 'custom',
            path: ['token'],
            message: 'cannot be used together with username and password: choose one',
          });
        }
      }, evenWithOtherProblems),
      notBoth('password'),
      notBoth('token'),
    )
    .transform(({ url, username, password, token, timeout }) => ({
      // The check above guarantees the URL; `?? ''` only satisfies the type.
      url: (url ?? '').replace(/\/+$/, ''),
      auth: authOf(username, password, token),
      timeout,
    })),
);

/** How the exporter presents itself to Alertmanager. */
export type AlertmanagerAuth =
  | { kind: 'none' }
  | { kind: 'basic'; username: string; password: string }
  | { kind: 'bearer'; token: string };

function authOf(
  username: string | undefined,
  password: string | undefined,
  token: string | undefined,
): AlertmanagerAuth {
  if (token) return { kind: 'bearer', token };
  if (username) return { kind: 'basic', username, password: password ?? '' };
  return { kind: 'none' };
}

export type AlertmanagerConfig = NonNullable<z.output<typeof AlertmanagerSchema>>;
