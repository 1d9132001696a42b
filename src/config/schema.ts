// The diun.yml schema: Diun's sections and keys, strict (an unknown key is an error), every
// section optional (an empty file is a valid config). Durations come out in milliseconds.
import { z } from 'zod';
import { AlertmanagerSchema } from './alertmanager.js';
import {
  bool,
  cron,
  duration,
  evenWithOtherProblems,
  int,
  isMapping,
  isUnset,
  list,
  name,
  optionalBool,
  optionalText,
  patternList,
  section,
  text,
  textWithDefault,
  uniqueNames,
} from './fields.js';
import { GotifySchema } from './gotify.js';
import { METADATA_KEY, METADATA_KEY_PROBLEM } from './metadata-keys.js';
import { MqttSchema } from './mqtt.js';
import { NtfySchema } from './ntfy.js';
import { ProvidersSchema } from './providers.js';

export type { AlertmanagerConfig } from './alertmanager.js';
export type { GotifyConfig } from './gotify.js';
export type { MqttConfig } from './mqtt.js';
export type { NtfyConfig } from './ntfy.js';
export type { DockerEndpoint, DockerProvider } from './providers.js';

const WatchSchema = section(
  z.strictObject({
    workers: int(1, 10),
    schedule: cron(),
    jitter: duration(30_000, { ms: 0, label: 'must not be negative' }),
    runOnStartup: bool(true),
    firstCheckNotif: bool(false),
    compareDigest: bool(true),
    // Diun pings healthchecks.io; accepted so Diun files load, unused here. Diun refuses the
    // section without the check's UUID, and so do we, so a file one accepts the other does too.
    healthchecks: z
      .unknown()
      .check(
        z.superRefine((healthchecks, ctx) => {
          if (!isMapping(healthchecks)) return;
          // Keys set through DIUN_WATCH_HEALTHCHECKS_* come lower-cased (uuidfile).
          const given = Object.entries(healthchecks).filter(([, v]) => !isUnset(v));
          if (!given.some(([key]) => ['uuid', 'uuidfile'].includes(key.toLowerCase()))) {
            ctx.addIssue({ code: 'custom', path: ['uuid'], message: 'required (or uuidFile)' });
          }
        }),
      )
      .optional(),
  }),
);

/** Options every image starts from; labels (`diun.*`) override them per container. */
export const ImageDefaultsSchema = section(
  z.strictObject({
    watchRepo: bool(false),
    notifyOn: list(z.enum(['new', 'update']), ['new', 'update']),
    maxTags: int(0, 0),
    sortTags: textWithDefault('reverse').pipe(
      z.enum(['default', 'reverse', 'semver', 'lexicographical']),
    ),
    includeTags: patternList(),
    excludeTags: patternList(),
    metadata: z.preprocess(
      (value) => (value === null ? undefined : value),
      z
        .record(z.string(), text())
        .check(
          z.superRefine((metadata, ctx) => {
            for (const key of Object.keys(metadata).filter((k) => !METADATA_KEY.test(k))) {
              ctx.addIssue({
                code: 'custom',
                path: [key],
                message: METADATA_KEY_PROBLEM,
              });
            }
          }),
        )
        .default({}),
    ),
  }),
);

const RegOptSchema = z
  .strictObject({
    name: name(),
    selector: textWithDefault('name').pipe(z.enum(['name', 'image'])),
    username: optionalText(),
    // The *File keys are read by the loader into username and password; kept here so the
    // keys are known and type-checked, and dropped from the output.
    usernameFile: optionalText(),
    password: optionalText(),
    passwordFile: optionalText(),
    // 0s is Diun's default: no overall limit (see the registry transport for what still ends
    // a request to a registry that never answers).
    timeout: duration(10_000, { ms: 0, label: 'must not be negative' }),
    insecureTLS: bool(false),
    // Our extension (not a Diun key): a PEM file of CAs trusted for this registry, for one
    // behind a private CA; read when the registry is first asked.
    caFile: optionalText(),
    // Our extension (not a Diun key): requests in flight to this registry at once. Optional
    // (the registry client's default applies); a string from DIUN_REGOPTS_N_MAXCONCURRENT counts.
    maxConcurrent: z.preprocess(
      (v) => (typeof v === 'string' && /^[+-]?\d+$/.test(v) ? Number(v) : (v ?? undefined)),
      z
        .number({ error: 'expected integer >= 1' })
        .int({ error: 'expected integer >= 1' })
        .min(1, { error: 'expected integer >= 1' })
        .optional(),
    ),
  })
  .refine((regopt) => !(regopt.username !== undefined && regopt.usernameFile !== undefined), {
    path: ['usernameFile'],
    error: 'cannot be used together with username',
    ...evenWithOtherProblems,
  })
  .refine((regopt) => !(regopt.password !== undefined && regopt.passwordFile !== undefined), {
    path: ['passwordFile'],
    error: 'cannot be used together with password',
    ...evenWithOtherProblems,
  })
  .transform(({ usernameFile: _user, passwordFile: _password, ...regopt }) => regopt);

const DbSchema = section(z.strictObject({ path: textWithDefault('data/diun-exporter.json') }));

// host:port as Node's listen() takes it: ":8080", "127.0.0.1:9090", "[::1]:8080".
const LISTEN_ADDRESS = /^(\[[0-9a-fA-F:.]+\]|[^:[\]]*):(\d{1,5})$/;

const MetricsSchema = section(
  z
    .strictObject({
      addr: textWithDefault(':8080').refine(
        (addr) => Number(LISTEN_ADDRESS.exec(addr)?.[2] ?? 65_536) <= 65_535,
        { error: 'expected host:port, e.g. ":8080"' },
      ),
      path: textWithDefault('/metrics').refine((path) => path.startsWith('/'), {
        error: 'must start with "/"',
      }),
      token: optionalText(),
      // Read into `token` by the loader; with both, `token` wins, as in Diun (the loader warns).
      tokenFile: optionalText(),
      // Diun's switch for its own metrics server; this one always serves (the loader warns).
      enabled: optionalBool(),
    })
    .transform(({ tokenFile: _read, enabled: _always, ...metrics }) => metrics),
);

/** The whole diun.yml; parse the output of the loader (see load.ts), which reads *File keys. */
export const ConfigSchema = section(
  z.strictObject({
    watch: WatchSchema,
    defaults: ImageDefaultsSchema,
    regopts: list(RegOptSchema, []).check(uniqueNames),
    db: DbSchema,
    providers: ProvidersSchema,
    metrics: MetricsSchema,
    // The Alertmanager -> Gotify bridge (not a Diun key); absent means the bridge is off.
    gotify: GotifySchema,
    // The Alertmanager -> ntfy bridge (not a Diun key); absent means it is off.
    ntfy: NtfySchema,
    // Home Assistant update entities over MQTT (not a Diun key); absent, nothing is published.
    mqtt: MqttSchema,
    // The Alertmanager the status page snoozes alerts in (not a Diun key); absent, no snooze.
    alertmanager: AlertmanagerSchema,
    // Diun's notifiers; accepted and ignored (alerts go through Alertmanager).
    notif: z.unknown().optional(),
  }),
);

export type Config = z.output<typeof ConfigSchema>;
export type ImageDefaults = z.output<typeof ImageDefaultsSchema>;
export type RegOpt = z.output<typeof RegOptSchema>;
