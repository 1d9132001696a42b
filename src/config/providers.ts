// The `providers` section: Diun's keys, read as Diun reads them.
import { z } from 'zod';
import {
  bool,
  endpoint,
  evenWithOtherProblems,
  list,
  name,
  optionalBool,
  optionalEndpoint,
  optionalSection,
  optionalText,
  section,
  text,
  uniqueNames,
} from './fields.js';
import { IGNORED_PROVIDERS, type IgnoredProvider } from './ignored.js';

/** Where Docker clients look when neither the file nor DOCKER_HOST names a daemon. */
export const DEFAULT_DOCKER_ENDPOINT = 'unix:///var/run/docker.sock';

const DockerEndpointSchema = z.strictObject({
  name: name(),
  endpoint: endpoint(),
  tlsCertsPath: optionalText(),
  tlsVerify: bool(true),
});

// Keys of Diun's one-host form, which cannot be mixed with `endpoints`.
const SINGLE_HOST_KEYS = ['endpoint', 'tlsCertsPath', 'tlsVerify'] as const;

const DockerSchema = z
  .strictObject({
    endpoint: optionalEndpoint(),
    // Accepted so Diun files load; the Docker client negotiates the API version itself.
    apiVersion: optionalText(),
    tlsCertsPath: optionalText(),
    tlsVerify: optionalBool(),
    watchByDefault: bool(false),
    watchStopped: bool(false),
    endpoints: z.preprocess(
      (value) => (value === null ? undefined : value),
      z
        .array(DockerEndpointSchema)
        .min(1, { error: 'expected at least one endpoint' })
        .check(uniqueNames)
        .optional(),
    ),
  })
  .check(
    z.superRefine((docker, ctx) => {
      if (docker.endpoints === undefined) return;
      for (const key of SINGLE_HOST_KEYS) {
        if (docker[key] !== undefined) {
          ctx.addIssue({
            code: 'custom',
            path: [key],
            message: 'cannot be used together with endpoints',
          });
        }
      }
    }, evenWithOtherProblems),
  )
  // Both forms become a list of endpoints; the one-host form is the endpoint named `local`.
  .transform(({ endpoints, endpoint, tlsCertsPath, tlsVerify, watchByDefault, watchStopped }) => ({
    endpoints: endpoints ?? [
      {
        name: 'local',
        endpoint: endpoint ?? DEFAULT_DOCKER_ENDPOINT,
        tlsCertsPath,
        tlsVerify: tlsVerify ?? true,
      },
    ],
    watchByDefault,
    watchStopped,
  }));

const FileSchema = z
  .strictObject({ filename: optionalText(), directory: optionalText() })
  .refine((file) => !(file.filename !== undefined && file.directory !== undefined), {
    path: ['directory'],
    error: 'cannot be used together with filename',
  })
  .refine((file) => file.filename !== undefined || file.directory !== undefined, {
    error: 'expected filename or directory',
  });

const SwarmSchema = z
  .strictObject({
    endpoint: optionalEndpoint(),
    apiVersion: optionalText(),
    tlsCertsPath: optionalText(),
    tlsVerify: bool(true),
    watchByDefault: bool(false),
  })
  .transform(({ apiVersion: _ignored, ...swarm }) => swarm);

// A namespace is an RFC 1123 label; `!name` excludes it.
const NAMESPACE_ENTRY = /^!?[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const NAMESPACE_NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const namespaceName = text().refine((n) => NAMESPACE_NAME.test(n), {
  error: 'expected a namespace name (lower case letters, digits and "-")',
});
const namespaceEntry = text().superRefine((entry, ctx) => {
  if (entry === '') {
    // `- !kube-system` unquoted is a YAML tag on an empty value: the name is lost before we see it.
    ctx.addIssue({
      code: 'custom',
      message: 'empty namespace (an unquoted !name is read by YAML as a tag: write "!name")',
    });
  } else if (!NAMESPACE_ENTRY.test(entry)) {
    ctx.addIssue({
      code: 'custom',
      message: `expected a namespace name, or "!name" to exclude one, got "${entry}"`,
    });
  }
});

const KubernetesSchema = z
  .strictObject({
    endpoint: optionalText(),
    token: optionalText(),
    // Read into `token` by the loader; kept here so the key is known and type-checked.
    tokenFile: optionalText(),
    certAuthFilePath: optionalText(),
    tlsInsecure: bool(false),
    namespaces: list(namespaceEntry, []),
    // Diun's other way to leave namespaces out: the same as `!name` entries in `namespaces`.
    namespacesExclude: list(namespaceName, []),
    watchByDefault: bool(false),
  })
  // With both, `token` wins, as in Diun (the loader warns).
  .transform(({ tokenFile: _read, namespacesExclude, ...k8s }) => ({
    ...k8s,
    namespaces: [...k8s.namespaces, ...namespacesExclude.map((n) => `!${n}`)],
  }));

// One key of anything for each ignored provider: accepted, never read.
const ignoredProviderKeys = Object.fromEntries(
  IGNORED_PROVIDERS.map((name) => [name, z.unknown().optional()]),
) as Record<IgnoredProvider, z.ZodOptional<z.ZodUnknown>>;

/** The `providers` section; the ignored providers are accepted and dropped (the loader warns). */
export const ProvidersSchema = section(
  z
    .strictObject({
      docker: optionalSection(DockerSchema),
      file: optionalSection(FileSchema),
      swarm: optionalSection(SwarmSchema),
      kubernetes: optionalSection(KubernetesSchema),
      ...ignoredProviderKeys,
    })
    .transform(withoutIgnoredProviders),
);

// The providers a config has, without the ignored ones.
function withoutIgnoredProviders<T extends Record<string, unknown>>(
  providers: T,
): Omit<T, IgnoredProvider> {
  const ignored: ReadonlySet<string> = new Set(IGNORED_PROVIDERS);
  return Object.fromEntries(
    Object.entries(providers).filter(([name]) => !ignored.has(name)),
  ) as Omit<T, IgnoredProvider>;
}

export type DockerProvider = z.output<typeof DockerSchema>;
export type DockerEndpoint = z.output<typeof DockerEndpointSchema>;
