// Diun's sections that diun-exporter accepts, so that a Diun file loads, and never reads.

/**
 * The ignored sections by key path: no `${VAR}` inside them is expanded (a Gotify token, say,
 * must not stop a Diun file from loading), and the providers among them are dropped with a warning.
 */
export const IGNORED_SECTIONS = [
  'notif',
  'watch.healthchecks',
  'providers.nomad',
  'providers.dockerfile',
  'providers.containerd',
] as const;

type IgnoredSection = (typeof IGNORED_SECTIONS)[number];
type ProviderOf<P> = P extends `providers.${infer Name}` ? Name : never;

/** A Diun provider that diun-exporter accepts in a file but does not implement. */
export type IgnoredProvider = ProviderOf<IgnoredSection>;

const PROVIDERS = 'providers.';

/** The providers among the ignored sections: `nomad`, `dockerfile`, `containerd`. */
export const IGNORED_PROVIDERS: readonly IgnoredProvider[] = IGNORED_SECTIONS.flatMap((path) =>
  path.startsWith(PROVIDERS) ? [path.slice(PROVIDERS.length) as IgnoredProvider] : [],
);
