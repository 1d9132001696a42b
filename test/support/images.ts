import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DockerCli } from './dockerd.js';
import { run } from './exec.js';

// No registry outside is reachable, so images are built from this machine's /bin/sleep.
// The tarball is kept in memory: vitest kills its workers, so files left for later would leak.
let base: Promise<Buffer> | undefined;

/** The tarball of /bin/sleep with its libc and loader, built once per process. */
function baseTarball(): Promise<Buffer> {
  base ??= withTempDir(async (dir) => {
    const { stdout } = await run('ldd', ['/bin/sleep']);
    // `libc.so.6 => /lib/.../libc.so.6 (0x...)` and `/lib64/ld-linux-x86-64.so.2 (0x...)`
    const libs = [...stdout.matchAll(/(\/\S+) \(0x/g)].map((m) => m[1]!);
    // -h stores the files behind symlinks (usrmerge makes /bin and /lib64 links).
    await run('tar', ['-chf', join(dir, 'base.tar'), '/bin/sleep', ...libs]);
    return readFile(join(dir, 'base.tar'));
  });
  return base;
}

/** Imports a new sleep image as `ref`; a different `variant` gives a different layer digest. */
export async function makeImage(
  docker: DockerCli,
  ref: string,
  opts: { variant?: string; labels?: Record<string, string> } = {},
): Promise<void> {
  const tarball = await baseTarball();
  // Labels land in the image config, as a Dockerfile's LABEL puts them.
  const labels = Object.entries(opts.labels ?? {}).flatMap(([k, v]) => [
    '-c',
    `LABEL ${k}=${JSON.stringify(v)}`,
  ]);
  await withTempDir(async (dir) => {
    const imageTar = join(dir, 'image.tar');
    await writeFile(imageTar, tarball);
    await writeFile(join(dir, 'variant'), opts.variant ?? '');
    await run('tar', ['-rf', imageTar, '-C', dir, 'variant']);
    await docker(['import', '-c', 'CMD ["/bin/sleep","3600"]', ...labels, imageTar, ref]);
  });
}

async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'image-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Pushes `ref` to its registry. */
export async function pushImage(docker: DockerCli, ref: string): Promise<void> {
  await docker(['push', ref]);
}

/** Pulls `ref` from its registry. */
export async function pullImage(docker: DockerCli, ref: string): Promise<void> {
  await docker(['pull', ref]);
}

/** Makes, pushes, removes and pulls back `ref`, so the local image has RepoDigests. */
export async function publish(
  docker: DockerCli,
  ref: string,
  variant: string,
  labels?: Record<string, string>,
): Promise<void> {
  await makeImage(docker, ref, { variant, labels });
  await pushImage(docker, ref);
  await docker(['rmi', ref]);
  await pullImage(docker, ref);
}

/** An image that exists only locally, as `docker build` makes: no RepoDigests. */
export async function buildLocalImage(docker: DockerCli, ref: string): Promise<void> {
  await makeImage(docker, ref, { variant: `local ${ref}` });
}

/**
 * Starts a detached container and returns its full id; `restart: 'always'` brings it back when
 * its daemon restarts.
 */
export async function runContainer(
  docker: DockerCli,
  ref: string,
  name: string,
  labels: Record<string, string> = {},
  opts: { restart?: 'always' } = {},
): Promise<string> {
  const labelArgs = Object.entries(labels).flatMap(([k, v]) => ['--label', `${k}=${v}`]);
  const restartArgs = opts.restart ? ['--restart', opts.restart] : [];
  // sleep as PID 1 ignores SIGTERM; SIGKILL keeps `docker stop` and daemon restarts instant.
  const out = await docker([
    'run',
    '-d',
    ...restartArgs,
    '--stop-signal',
    'SIGKILL',
    '--name',
    name,
    ...labelArgs,
    ref,
  ]);
  return out.trim();
}
