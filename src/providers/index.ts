import type { Config } from '../config/schema.js';
import { log } from '../log.js';
import { DockerProvider } from './docker.js';
import { FileProvider } from './file.js';
import { SwarmProvider } from './swarm.js';
import type { Provider } from './types.js';

/** The configured providers, in a plain map from config section to implementation. */
const factories: Partial<Record<keyof Config['providers'], (config: Config) => Provider>> = {
  docker: (config) => new DockerProvider(config.providers.docker!, config.defaults),
  file: (config) => new FileProvider(config.providers.file!, config.defaults),
  swarm: (config) => new SwarmProvider(config.providers.swarm!, config.defaults),
};

/** Builds every configured provider that is implemented; warns about the others. */
export function createProviders(config: Config): Provider[] {
  const providers: Provider[] = [];
  for (const [name, section] of Object.entries(config.providers)) {
    if (section === undefined) continue;
    const factory = factories[name as keyof Config['providers']];
    if (factory) providers.push(factory(config));
    else log('warn', `providers.${name}: not implemented yet in this release, ignored`);
  }
  return providers;
}
