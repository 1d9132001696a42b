// Runs the shipped Compose stack the way compose/README.md and README.md tell a user to: the
// README's own shell blocks, in a copy of the repository, against a private dockerd.
import { chmod, cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { DockerCli } from '../dockerd.js';
import { requireBinary, run, waitFor } from '../exec.js';

const root = resolve(import.meta.dirname, '..', '..', '..');

// What a user's clone needs for the stack: the shipped assets and what the image builds from.
const shippedPaths = [
  'compose',
  'prometheus',
  'alertmanager',
  'grafana',
  'config',
  'src',
  'Dockerfile',
  '.dockerignore',
  'package.json',
  'package-lock.json',
  'tsconfig.json',
  'tsconfig.build.json',
];

/** Copies the shipped files into `dir` as a clone has them (no secrets, no build output). */
export async function copyShipped(dir: string): Promise<void> {
  // compose/secrets/ holds only its README in a clone: the secret files are the user's.
  const secrets = join(root, 'compose', 'secrets');
  const committed = (src: string) =>
    !src.startsWith(`${secrets}/`) || src === join(secrets, 'README');
  for (const path of shippedPaths) {
    await cp(join(root, path), join(dir, path), { recursive: true, filter: committed });
  }
}

/**
 * The fenced `sh` blocks under the README heading `heading`, in order: the commands a user runs.
 */
export async function readmeBlocks(heading: string): Promise<string[]> {
  const readme = await readFile(join(root, 'README.md'), 'utf8');
  const start = readme.indexOf(`\n## ${heading}\n`);
  if (start < 0) throw new Error(`README.md has no section "## ${heading}"`);
  const end = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start, end < 0 ? undefined : end);
  return [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1] as string);
}

/**
 * A `docker` for the README's commands: `docker compose ...` runs Debian's Compose
 * (`docker-compose`, version 1) with the test's additions in docker-compose.override.yml, which
 * Compose reads by itself unless files are named with -f; `exec` without a terminal gets -T, as
 * Compose 2 does by itself. Everything else goes to the real docker CLI.
 */
export async function composeShim(dir: string): Promise<string> {
  const docker = requireBinary('docker', 'docker.io');
  const compose = requireBinary('docker-compose', 'docker-compose');
  const bin = join(dir, 'bin');
  await mkdir(bin, { recursive: true });
  const script = `#!/bin/sh
if [ "$1" != compose ]; then exec ${docker} "$@"; fi
shift
files=""
while [ "$1" = "-f" ]; do files="$files -f $2"; shift 2; done
[ -n "$files" ] && files="$files -f docker-compose.override.yml"
if [ "$1" = exec ] && [ ! -t 0 ]; then shift; set -- exec -T "$@"; fi
exec ${compose} $files "$@"
`;
  await writeFile(join(bin, 'docker'), script);
  await chmod(join(bin, 'docker'), 0o755);
  return bin;
}

/** Runs `script` with sh -e in `cwd`; the error names the failing output. */
export async function shell(script: string, cwd: string, env: NodeJS.ProcessEnv): Promise<string> {
  const { stdout } = await run('sh', ['-ec', script], { cwd, env });
  return stdout;
}

export interface ServiceState {
  service: string;
  id: string;
  status: string;
  health?: string;
}

/** The containers of Compose project `project`, by service. */
export async function services(docker: DockerCli, project: string): Promise<ServiceState[]> {
  const ids = (
    await docker(['ps', '-aq', '--filter', `label=com.docker.compose.project=${project}`])
  )
    .split('\n')
    .filter(Boolean);
  if (ids.length === 0) return [];
  const inspected = JSON.parse(await docker(['inspect', ...ids])) as Array<{
    Id: string;
    Config: { Labels: Record<string, string> };
    State: { Status: string; Health?: { Status: string } };
  }>;
  return inspected.map((c) => ({
    service: c.Config.Labels['com.docker.compose.service'] ?? '',
    id: c.Id,
    status: c.State.Status,
    ...(c.State.Health ? { health: c.State.Health.Status } : {}),
  }));
}

/** Waits until each of `wanted` runs, and is healthy where it has a healthcheck. */
export async function waitHealthy(
  docker: DockerCli,
  project: string,
  wanted: string[],
  timeoutMs = 150_000,
): Promise<ServiceState[]> {
  let last: ServiceState[] = [];
  try {
    return await waitFor(
      async () => {
        last = await services(docker, project);
        const bad = last.filter((s) => s.status === 'exited' || s.health === 'unhealthy');
        if (bad.length > 0) {
          const logs = await Promise.all(
            bad.map(
              async (s) =>
                `${s.service}: ${await docker(['logs', '--tail', '30', s.id]).catch(() => '')}`,
            ),
          );
          throw new Error(`not running: ${JSON.stringify(bad)}\n${logs.join('\n')}`);
        }
        const ready = wanted.every((name) =>
          last.some(
            (s) =>
              s.service === name && s.status === 'running' && (s.health ?? 'healthy') === 'healthy',
          ),
        );
        return ready && last;
      },
      { timeoutMs, intervalMs: 1000, what: `${wanted.join(', ')} running and healthy` },
    );
  } catch (error) {
    throw new Error(`${(error as Error).message}; last seen: ${JSON.stringify(last)}`);
  }
}

/** The one running container of `service`. */
export async function containerOf(
  docker: DockerCli,
  project: string,
  service: string,
): Promise<string> {
  const found = (await services(docker, project)).find(
    (s) => s.service === service && s.status === 'running',
  );
  if (!found) throw new Error(`no running container for ${service}`);
  return found.id;
}

/** Every JSON line a stand-in container printed with `"event": "message"`. */
export async function standInMessages<T>(docker: DockerCli, id: string): Promise<T[]> {
  const lines = (await docker(['logs', id])).split('\n');
  return lines
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { event: string; message: T })
    .filter((e) => e.event === 'message')
    .map((e) => e.message);
}
