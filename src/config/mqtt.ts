// The `mqtt` section: the broker that Home Assistant's MQTT integration reads, where the
// exporter publishes one update entity per watched container (see docs/home-assistant.md).
// Not a Diun key; absent, nothing is published.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import {
  evenWithOtherProblems,
  isUnset,
  notBoth,
  optionalSection,
  optionalText,
  requiredKey,
  textWithDefault,
} from './fields.js';
import { describeReadError } from './problems.js';

/** Whether `value` is an mqtt:// or mqtts:// URL with a host and nothing after it but a port. */
function isBrokerUrl(value: string): boolean {
  if (!URL.canParse(value)) return false;
  const url = new URL(value);
  return (
    (url.protocol === 'mqtt:' || url.protocol === 'mqtts:') &&
    url.hostname !== '' &&
    url.username === '' &&
    url.password === '' &&
    (url.pathname === '' || url.pathname === '/') &&
    url.search === ''
  );
}

// The value is never quoted back: a URL may carry credentials.
const url = optionalText().refine((value) => value === undefined || isBrokerUrl(value), {
  error:
    'expected mqtt://host:port or mqtts://host:port (user and password go in mqtt.username and mqtt.password)',
});

// A prefix is the start of every topic: MQTT's wildcards in it would publish nowhere useful.
const topicPrefix = (defaultValue: string) =>
  textWithDefault(defaultValue).refine(
    (value) => /^[^+#\s/][^+#\s]*[^+#\s/]$|^[^+#\s/]$/.test(value),
    {
      error: 'expected topic levels without +, #, spaces, or a leading or trailing /',
    },
  );

const qos = z.preprocess(
  (value) =>
    typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : (value ?? undefined),
  z.union([z.literal(0), z.literal(1), z.literal(2)], { error: 'expected 0, 1 or 2' }).default(1),
);

// A CA file that cannot be read is said at load time, not at the first connection attempt.
const caFile = optionalText().superRefine((file, ctx) => {
  if (file === undefined) return;
  try {
    readFileSync(file);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: `cannot read "${file}": ${describeReadError(error)}` });
  }
});

/** The `mqtt` section; absent means no MQTT output. */
export const MqttSchema = optionalSection(
  z
    .strictObject({
      url,
      username: optionalText(),
      password: optionalText(),
      // Read into `password` by the loader.
      passwordFile: optionalText(),
      clientId: optionalText(),
      discoveryPrefix: topicPrefix('homeassistant'),
      topicPrefix: topicPrefix('diun-exporter'),
      qos,
      caFile,
    })
    .check(
      requiredKey('url', 'the broker\'s URL, e.g. "mqtt://mosquitto:1883"'),
      notBoth('password'),
      z.superRefine((mqtt, ctx) => {
        const password = !isUnset(mqtt.password) || !isUnset(mqtt.passwordFile);
        if (password && isUnset(mqtt.username)) {
          ctx.addIssue({ code: 'custom', path: ['username'], message: 'required with password' });
        }
        const plain = typeof mqtt.url === 'string' && mqtt.url.startsWith('mqtt:');
        if (plain && !isUnset(mqtt.caFile)) {
          ctx.addIssue({
            code: 'custom',
            path: ['caFile'],
            message: 'only used with an mqtts:// url',
          });
        }
      }, evenWithOtherProblems),
    )
    .transform(({ passwordFile: _read, url, ...mqtt }) => ({
      // The check above guarantees the URL; `?? ''` only satisfies the type.
      url: url ?? '',
      ...mqtt,
    })),
);

export type MqttConfig = NonNullable<z.output<typeof MqttSchema>>;
