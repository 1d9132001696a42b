import type { Config } from '../config/schema.js';
import { COMPOSE_LABELS } from './common.js';
import { DockerProvider } from './docker.js';
import { FileProvider } from './file.js';
import { KubernetesProvider } from './kubernetes.js';
import { POD_LABELS } from './kubernetes-pods.js';
import { SwarmProvider } from './swarm.js';
import type { Provider } from './types.js';

/** The configured providers, in a plain map from config section to implementation. */
const factories: Record<keyof Config['providers'], (config: Config) => Provider> = {
  docker: (config) => new DockerProvider(config.providers.docker!, config.defaults),
  file: (config) => new FileProvider(config.providers.file!, config.defaults),
  kubernetes: (config) => new KubernetesProvider(config.providers.kubernetes!, config.defaults),
  swarm: (config) => new SwarmProvider(config.providers.swarm!, config.defaults),
};

/** Builds every configured provider. */
export function createProviders(config: Config): Provider[] {
  return Object.entries(config.providers)
    .filter(([, section]) => section !== undefined)
    .map(([name]) => factories[name as keyof Config['providers']](config));
}

/** The series labels providers add to their containers' series, each once: what the API lists. */
export const seriesLabelNames: readonly string[] = [...new Set([...COMPOSE_LABELS, ...POD_LABELS])];
