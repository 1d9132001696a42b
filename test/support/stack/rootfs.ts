// Container images assembled from this machine's own programs. No image can be pulled here, so
// each image the Compose stack names is made from Debian's packages: the program, the shared
// libraries `ldd` says it loads, and the files and folders the upstream image has where the
// stack's mounts and users depend on them.
import { chmod, chown, cp, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { DockerCli } from '../dockerd.js';
import { requireBinary, run } from '../exec.js';

/** A file to write into the image: its content, mode and owner. */
export interface RootfsFile {
  content: string | Buffer;
  mode?: number;
  uid?: number;
}

export interface RootfsSpec {
  /** Program on this machine -> path in the image; its shared libraries come along. */
  programs?: Record<string, string>;
  /** File or folder on this machine -> path in the image, copied whole. */
  copies?: Record<string, string>;
  files?: Record<string, string | Buffer | RootfsFile>;
  /** Folders to create, with their owner (the upstream image's data folders). */
  dirs?: Record<string, { uid?: number; mode?: number }>;
  /** Link path -> target. */
  links?: Record<string, string>;
  /** Busybox as /bin/sh, wget and the other applets, as in the upstream busybox-based images. */
  busybox?: boolean;
}

// The accounts the upstream images have: Debian's root and nobody, the node image's `node`
// (1000) and Grafana's `grafana` (472).
const passwd = [
  'root:x:0:0:root:/root:/bin/sh',
  'node:x:1000:1000::/home/node:/bin/sh',
  'grafana:x:472:0::/usr/share/grafana:/bin/sh',
  'nobody:x:65534:65534:nobody:/nonexistent:/bin/false',
].join('\n');
const group = ['root:x:0:', 'node:x:1000:', 'nogroup:x:65534:'].join('\n');

/** The shared libraries (and loader) `program` needs, as absolute paths. */
async function sharedLibraries(program: string): Promise<string[]> {
  const { stdout } = await run('ldd', [program]).catch(() => ({ stdout: '' }));
  // `libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)` and `/lib64/ld-linux-x86-64.so.2 (0x...)`
  return [...stdout.matchAll(/(\/\S+) \(0x/g)].map((m) => m[1] as string);
}

/** Copies `from` to `to` under `root`, with every shared library it loads at its own path. */
export async function copyProgram(root: string, from: string, to: string): Promise<void> {
  for (const lib of await sharedLibraries(from)) {
    await mkdir(dirname(join(root, lib)), { recursive: true });
    await cp(lib, join(root, lib), { dereference: true });
  }
  await mkdir(dirname(join(root, to)), { recursive: true });
  // Not through a busybox applet's link of the same name.
  await rm(join(root, to), { force: true });
  await cp(from, join(root, to), { dereference: true });
  await chmod(join(root, to), 0o755);
}

async function place(root: string, path: string, content: string | Buffer, mode = 0o644) {
  await mkdir(dirname(join(root, path)), { recursive: true });
  await writeFile(join(root, path), content);
  await chmod(join(root, path), mode);
}

/** Writes the tree `spec` describes under `root`. */
export async function writeRootfs(root: string, spec: RootfsSpec): Promise<void> {
  for (const dir of ['tmp', 'etc', 'root', 'run', 'var', 'home/node']) {
    await mkdir(join(root, dir), { recursive: true });
  }
  await chmod(join(root, 'tmp'), 0o1777);
  await chown(join(root, 'home/node'), 1000, 1000);
  await place(root, '/etc/passwd', `${passwd}\n`);
  await place(root, '/etc/group', `${group}\n`);
  // The upstream images link /var/run to /run, which matters for a socket mounted there.
  await symlink('../run', join(root, 'var/run'));
  if (spec.busybox) {
    const busybox = requireBinary('busybox', 'busybox-static');
    await copyProgram(root, busybox, '/bin/busybox');
    // Each applet at its usual path (bin/sh, usr/bin/env, ...), as busybox --install puts it.
    const { stdout } = await run(busybox, ['--list-full']);
    for (const applet of stdout.split('\n').filter((a) => a && a !== 'bin/busybox')) {
      await mkdir(dirname(join(root, applet)), { recursive: true });
      await symlink('/bin/busybox', join(root, applet));
    }
  }
  for (const [from, to] of Object.entries(spec.programs ?? {})) {
    await copyProgram(root, from, to);
  }
  for (const [from, to] of Object.entries(spec.copies ?? {})) {
    await mkdir(dirname(join(root, to)), { recursive: true });
    await cp(from, join(root, to), { recursive: true, verbatimSymlinks: true });
  }
  for (const [path, file] of Object.entries(spec.files ?? {})) {
    const { content, mode, uid } =
      typeof file === 'string' || Buffer.isBuffer(file) ? { content: file } : file;
    await place(root, path, content, mode);
    if (uid !== undefined) await chown(join(root, path), uid, uid);
  }
  for (const [path, { uid, mode }] of Object.entries(spec.dirs ?? {})) {
    await mkdir(join(root, path), { recursive: true });
    if (uid !== undefined) await chown(join(root, path), uid, uid);
    if (mode !== undefined) await chmod(join(root, path), mode);
  }
  for (const [path, target] of Object.entries(spec.links ?? {})) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await symlink(target, join(root, path));
  }
}

/**
 * Imports the tree `spec` describes as the one-layer image `tag`; `changes` are Dockerfile
 * instructions (`USER nobody`, `ENTRYPOINT [...]`) applied as `docker import -c` does.
 */
export async function importImage(
  docker: DockerCli,
  tag: string,
  spec: RootfsSpec,
  changes: string[],
): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'rootfs-'));
  try {
    const root = join(dir, 'root');
    await writeRootfs(root, spec);
    const tarball = join(dir, 'rootfs.tar');
    await run('tar', ['--numeric-owner', '-C', root, '-cf', tarball, '.']);
    await docker(['import', ...changes.flatMap((c) => ['-c', c]), tarball, tag]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
