// Loading diun.yml as Diun does: the file, then `${VAR}` expansion, DIUN_* overrides and *File
// secrets, then the schema. Every problem is collected and reported at once.
import { readFileSync } from 'node:fs';
import YAML from 'yaml';
import { applyEnvOverrides, expandVariables } from './env.js';
import { isMapping, isUnset } from './fields.js';
import { IGNORED_PROVIDERS } from './ignored.js';
import { describeKeys } from './keys.js';
import { describeReadError, humanMessage, issueProblems, type Problem } from './problems.js';
import { type Config, ConfigSchema } from './schema.js';
import { resolveSecretFiles } from './secrets.js';

export const DEFAULT_CONFIG_PATH = 'config/diun.yml';

const NOTIF_WARNING =
  'notif: ignored; diun-exporter sends no notifications itself, route alerts with Alertmanager (see docs/alerts.md)';

/** Every problem of a config, one `key.path: message` per line. */
export class ConfigError extends Error {
  readonly problems: string[];

  constructor(problems: string[]) {
    super(problems.join('\n'));
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

export interface LoadedConfig {
  config: Config;
  warnings: string[];
  file: string;
}

/** The config file to read: the --config flag, else DIUN_CONFIG, else config/diun.yml. */
export function resolveConfigPath(cliValue: string | undefined, env: NodeJS.ProcessEnv): string {
  if (cliValue !== undefined && cliValue !== '') return cliValue;
  const fromEnv = env.DIUN_CONFIG;
  return fromEnv !== undefined && fromEnv !== '' ? fromEnv : DEFAULT_CONFIG_PATH;
}

const SCHEMA_KEYS = describeKeys(ConfigSchema);

/** Reads and validates a diun.yml; throws ConfigError listing every problem. */
export function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  const problems: Problem[] = [];
  const tree = expandVariables(readYaml(file) ?? {}, env, problems);
  let setBy = new Map<string, string>();
  if (isMapping(tree)) {
    setBy = applyEnvOverrides(tree, SCHEMA_KEYS, env, problems);
    applyDockerHost(tree, env, setBy);
    resolveSecretFiles(tree, problems);
  }

  const parsed = ConfigSchema.safeParse(tree, { error: humanMessage });
  // A key that already has a problem (say an unset ${VAR}) is not reported twice.
  const reported = problems.map((problem) => problem.key);
  const schemaProblems = issueProblems(parsed.error?.issues ?? [])
    .filter((problem) => !reported.some((key) => isWithin(problem.key, key)))
    .map((problem) => withSource(problem, setBy));
  const lines = [...problems, ...schemaProblems].map(({ key, message }) => `${key}: ${message}`);
  if (!parsed.success || lines.length > 0) throw new ConfigError(lines);
  return { config: parsed.data, warnings: isMapping(tree) ? warningsFor(tree) : [], file };
}

function readYaml(file: string): unknown {
  let source: string;
  try {
    source = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError([`${file}: cannot read: ${describeReadError(error)}`]);
  }
  // `<<` merge keys as YAML 1.1 (and Diun's go-yaml) have them.
  const document = YAML.parseDocument(source, { merge: true });
  if (document.errors.length > 0) {
    // Only the first line of yaml's message: the lines after it quote the file, secrets included.
    throw new ConfigError(
      document.errors.map((error) => {
        const where = error.linePos?.[0];
        // yaml's own wording for this one names its API, which means nothing to a user.
        const what =
          error.code === 'MULTIPLE_DOCS'
            ? 'more than one document (a second "---"); diun.yml is one document'
            : (error.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '');
        return `${file}: invalid YAML${where ? ` at line ${where.line}, column ${where.col}` : ''}: ${what}`;
      }),
    );
  }
  // Numbers keep the text they were written as: `password: 0123` is "0123", not 123.
  YAML.visit(document, {
    Scalar(_key, node) {
      if (typeof node.value === 'number') node.value = node.source ?? String(node.value);
    },
  });
  try {
    // yaml refuses aliases that expand past its limit (a "billion laughs" file) before the
    // memory goes; that refusal names the file like every other YAML problem.
    return document.toJS();
  } catch (error) {
    if (error instanceof ReferenceError && /alias/i.test(error.message)) {
      throw new ConfigError([
        `${file}: invalid YAML: its aliases (*name) expand too far; write the values out instead`,
      ]);
    }
    throw error;
  }
}

// Diun's Docker client falls back to DOCKER_HOST when the file names no endpoint.
function applyDockerHost(
  tree: Record<string, unknown>,
  env: NodeJS.ProcessEnv,
  setBy: Map<string, string>,
): void {
  const host = env.DOCKER_HOST;
  const providers = tree.providers;
  if (host === undefined || host === '' || !isMapping(providers) || !('docker' in providers))
    return;
  const docker = providers.docker ?? {};
  if (!isMapping(docker) || docker.endpoints != null) return;
  if (docker.endpoint !== undefined && docker.endpoint !== null && docker.endpoint !== '') return;
  providers.docker = { ...docker, endpoint: host };
  setBy.set('providers.docker.endpoint', 'DOCKER_HOST');
}

function warningsFor(tree: Record<string, unknown>): string[] {
  const warnings: string[] = [];
  if ('notif' in tree) warnings.push(NOTIF_WARNING);
  const { metrics, providers } = tree;
  if (isMapping(metrics) && String(metrics.enabled) === 'false') {
    warnings.push('metrics.enabled: false is ignored, diun-exporter always serves its metrics');
  }
  // Diun reads tokenFile only when token is empty; the loader did the same.
  const sections = {
    metrics,
    'providers.kubernetes': isMapping(providers) && providers.kubernetes,
  };
  for (const [path, section] of Object.entries(sections)) {
    if (isMapping(section) && !isUnset(section.token) && !isUnset(section.tokenFile)) {
      warnings.push(`${path}.tokenFile: ignored, ${path}.token is set (as Diun does)`);
    }
  }
  for (const name of IGNORED_PROVIDERS) {
    if (isMapping(providers) && name in providers) {
      warnings.push(`providers.${name}: not supported by diun-exporter, ignored`);
    }
  }
  return warnings;
}

// Whether key path `key` is `ancestor` or below it.
function isWithin(key: string, ancestor: string): boolean {
  return key === ancestor || key.startsWith(`${ancestor}.`) || key.startsWith(`${ancestor}[`);
}

// Names the variable behind a bad value: "watch.workers: ... (from DIUN_WATCH_WORKERS)".
function withSource(problem: Problem, setBy: Map<string, string>): Problem {
  for (const [key, variable] of setBy) {
    if (isWithin(problem.key, key))
      return { ...problem, message: `${problem.message} (from ${variable})` };
  }
  return problem;
}
