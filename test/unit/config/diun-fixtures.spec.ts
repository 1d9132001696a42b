import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/load.js';
import type { ImageDefaults } from '../../../src/config/schema.js';
import { FileProvider } from '../../../src/providers/file.js';
import { problemsOfLoad } from '../../support/config-files.js';

// Every config fixture of Diun's own test suite (test/fixtures/diun/, unchanged copies under
// Diun's MIT licence), loaded as Diun's tests load them: from the folder the tests run in, since
// the files name `./fixtures/...` paths. A file Diun accepts loads here, with the values Diun's
// tests expect; a file Diun refuses is refused here, naming the key. Where the two differ on
// purpose, the difference is pinned and docs/migrating.md says why.
const DIUN = resolve('test/fixtures/diun/internal');
const home = process.cwd();
const scratch = mkdtempSync(join(tmpdir(), 'diun-fixtures-'));
// Diun's env-only cases load no file; here an empty file stands in for it.
const EMPTY = join(scratch, 'empty.yml');
writeFileSync(EMPTY, '');

beforeAll(() => process.chdir(join(DIUN, 'config')));
afterAll(() => {
  process.chdir(home);
  rmSync(scratch, { recursive: true, force: true });
});

const load = (file: string, env: NodeJS.ProcessEnv = {}) => loadConfig(file, env);

// Diun's defaults for what its tests leave unset; ours are the same.
const WATCH_DEFAULTS = {
  workers: 10,
  schedule: '',
  jitter: 30_000,
  firstCheckNotif: false,
  runOnStartup: true,
  compareDigest: true,
};
const IMAGE_DEFAULTS = {
  watchRepo: false,
  notifyOn: ['new', 'update'],
  maxTags: 0,
  sortTags: 'reverse',
  includeTags: [],
  excludeTags: [],
  metadata: {},
};
const METRICS_DEFAULTS = { addr: ':8080', path: '/metrics' };
const DOCKER_DEFAULTS = {
  endpoints: [{ name: 'local', endpoint: 'unix:///var/run/docker.sock', tlsVerify: true }],
  watchByDefault: false,
  watchStopped: false,
};
const NOTIF_WARNING = expect.stringMatching(/^notif: ignored;/);

describe("Diun's config fixtures that Diun refuses", () => {
  it.each([
    [
      'config.invalid.yml (not a mapping)',
      './fixtures/config.invalid.yml',
      {},
      ['(root): expected a mapping'],
    ],
    [
      'config.invalid.yml, with DIUN_PROVIDERS_DOCKER=true',
      './fixtures/config.invalid.yml',
      { DIUN_PROVIDERS_DOCKER: 'true' },
      ['(root): expected a mapping'],
    ],
    [
      'config.err.hc.yml (healthchecks with no uuid)',
      './fixtures/config.err.hc.yml',
      {},
      ['watch.healthchecks.uuid: required (or uuidFile)'],
    ],
  ])('refuses %s', (_what, file, env, problems) => {
    expect(problemsOfLoad(() => load(file, env))).toEqual(problems);
  });

  it('refuses a missing file (Diun: "Failed on non-existing file")', () => {
    expect(problemsOfLoad(() => load('./fixtures/none.yml'))).toEqual([
      './fixtures/none.yml: cannot read: no such file (ENOENT)',
    ]);
  });

  it('loads config.err.provider.yml, which Diun refuses for naming no provider', () => {
    // On purpose: an exporter with no provider still serves its Gotify bridge and status page,
    // and `serve` says that nothing will be watched (docs/migrating.md).
    const { config } = load('./fixtures/config.err.provider.yml');
    expect(config.providers).toEqual({});
    expect(config.db).toEqual({ path: '/dev/null/diun.db' });
  });
});

describe("Diun's config fixtures that Diun accepts", () => {
  it('config.hc.uuidfile.yml: the defaults, and the docker provider with its own', () => {
    const { config, warnings } = load('./fixtures/config.hc.uuidfile.yml');
    expect(config.watch).toMatchObject(WATCH_DEFAULTS);
    expect(config.defaults).toEqual(IMAGE_DEFAULTS);
    expect(config.metrics).toEqual(METRICS_DEFAULTS);
    expect(config.regopts).toEqual([]);
    expect(config.providers).toEqual({ docker: DOCKER_DEFAULTS });
    expect(warnings).toEqual([]);
  });

  it('config.test.yml: every value Diun’s "Success" case expects', () => {
    const { config, warnings } = load('./fixtures/config.test.yml');
    expect(config.db).toEqual({ path: 'diun.db' });
    expect(config.watch).toMatchObject({
      workers: 100,
      schedule: '*/30 * * * *',
      jitter: 30_000,
      firstCheckNotif: true,
      runOnStartup: false,
      compareDigest: true,
    });
    expect(config.defaults).toEqual({ ...IMAGE_DEFAULTS, notifyOn: ['new'], maxTags: 5 });
    expect(config.metrics).toEqual(METRICS_DEFAULTS);
    // Diun's default regopt timeout is 0s (none); ours is 10s (docs/migrating.md).
    expect(config.regopts).toEqual([
      {
        name: 'myregistry',
        selector: 'name',
        username: 'fii',
        password: 'bor',
        insecureTLS: false,
        timeout: 5_000,
      },
      {
        name: 'docker.io',
        selector: 'image',
        username: 'foo',
        password: 'bar',
        insecureTLS: false,
        timeout: 10_000,
      },
      // usernameFile and passwordFile, read from ./fixtures/run_secrets_*.
      {
        name: 'docker.io/crazymax',
        selector: 'image',
        username: 'foo',
        password: 'bar',
        insecureTLS: false,
        timeout: 10_000,
      },
    ]);
    expect(config.providers).toEqual({
      docker: { ...DOCKER_DEFAULTS, watchByDefault: true, watchStopped: true },
      swarm: { tlsVerify: true, watchByDefault: false },
      kubernetes: { tlsInsecure: false, watchByDefault: true, namespaces: [] },
      file: { filename: './fixtures/file.yml' },
    });
    expect(warnings).toEqual([NOTIF_WARNING]);
  });

  it('config.validate.yml (Diun’s TestValidation) loads', () => {
    const { config } = load('./fixtures/config.validate.yml');
    expect(config.regopts.map((r) => [r.name, r.username, r.password, r.timeout])).toEqual([
      ['myregistry', undefined, undefined, 5_000],
      ['docker.io', 'foo', 'bar', 10_000],
      // Its passwordFile is the username file.
      ['docker.io/crazymax', 'foo', 'foo', 10_000],
    ]);
    expect(Object.keys(config.providers)).toEqual(['docker', 'file', 'swarm']);
  });

  it('config.docker.yml with the DIUN_NOTIF_MAIL_* variables of Diun’s mixed case', () => {
    const { config, warnings } = load('./fixtures/config.docker.yml', {
      DIUN_NOTIF_MAIL_HOST: '127.0.0.1',
      DIUN_NOTIF_MAIL_PORT: '25',
      DIUN_NOTIF_MAIL_SSL: 'false',
      DIUN_NOTIF_MAIL_INSECURESKIPVERIFY: 'true',
      DIUN_NOTIF_MAIL_FROM: 'diun@foo.com',
      DIUN_NOTIF_MAIL_TO: 'webmaster@foo.com',
      DIUN_NOTIF_MAIL_LOCALNAME: 'foo.com',
    });
    expect(config.watch).toMatchObject(WATCH_DEFAULTS);
    expect(config.providers).toEqual({ docker: DOCKER_DEFAULTS });
    expect(warnings).toEqual([NOTIF_WARNING]);
  });

  it('config.file.yml with the DIUN_NOTIF_WEBHOOK_* variables of Diun’s mixed case', () => {
    const { config } = load('./fixtures/config.file.yml', {
      DIUN_NOTIF_WEBHOOK_ENDPOINT: 'http://webhook.foo.com/sd54qad89azd5a',
      DIUN_NOTIF_WEBHOOK_HEADERS_AUTHORIZATION: 'Token78910',
      'DIUN_NOTIF_WEBHOOK_HEADERS_CONTENT-TYPE': 'text/plain',
      DIUN_NOTIF_WEBHOOK_METHOD: 'GET',
      DIUN_NOTIF_WEBHOOK_TIMEOUT: '1m',
    });
    expect(config.providers).toEqual({ file: { filename: './fixtures/file.yml' } });
  });
});

describe("Diun's environment-only cases", () => {
  it.each([
    [
      'healthchecks with UUIDFILE',
      {
        DIUN_WATCH_HEALTHCHECKS_UUIDFILE: './fixtures/run_secrets_uuid',
        DIUN_PROVIDERS_DOCKER: 'true',
      },
      { docker: DOCKER_DEFAULTS },
      [],
    ],
    ['docker provider', { DIUN_PROVIDERS_DOCKER: 'true' }, { docker: DOCKER_DEFAULTS }, []],
    [
      'containerd provider',
      { DIUN_PROVIDERS_CONTAINERD: 'true' },
      {},
      ['providers.containerd: not supported by diun-exporter, ignored'],
    ],
    [
      'nomad provider namespaces',
      {
        DIUN_PROVIDERS_NOMAD: 'true',
        DIUN_PROVIDERS_NOMAD_NAMESPACE: 'legacy',
        DIUN_PROVIDERS_NOMAD_NAMESPACES: 'dev,prod',
      },
      {},
      ['providers.nomad: not supported by diun-exporter, ignored'],
    ],
    [
      'swarm provider and notif telegram',
      {
        DIUN_NOTIF_TELEGRAM_TOKEN: 'abcdef123456',
        DIUN_NOTIF_TELEGRAM_CHATIDS: '8547439,1234567',
        DIUN_NOTIF_TELEGRAM_APIURL: 'http://telegram-bot-api:8081',
        DIUN_NOTIF_TELEGRAM_PROXY: 'http://proxy.foo.com:3128',
        DIUN_PROVIDERS_SWARM: 'true',
      },
      { swarm: { tlsVerify: true, watchByDefault: false } },
      [NOTIF_WARNING],
    ],
    [
      'file provider and notif script',
      {
        DIUN_NOTIF_SCRIPT_CMD: 'uname',
        DIUN_NOTIF_SCRIPT_ARGS: '-a',
        DIUN_PROVIDERS_FILE_DIRECTORY: './fixtures',
      },
      { file: { directory: './fixtures' } },
      [NOTIF_WARNING],
    ],
  ])('%s', (_what, env, providers, warnings) => {
    const loaded = load(EMPTY, env);
    expect(loaded.config.watch).toMatchObject(WATCH_DEFAULTS);
    expect(loaded.config.defaults).toEqual(IMAGE_DEFAULTS);
    expect(loaded.config.metrics).toEqual(METRICS_DEFAULTS);
    expect(loaded.config.providers).toEqual(providers);
    expect(loaded.warnings).toEqual(warnings);
  });

  it('metrics and docker provider', () => {
    const { config } = load(EMPTY, {
      DIUN_METRICS_ENABLED: 'true',
      DIUN_METRICS_ADDR: '127.0.0.1:9090',
      DIUN_METRICS_PATH: '/prometheus',
      DIUN_METRICS_TOKENFILE: './fixtures/run_secrets_username',
      DIUN_PROVIDERS_DOCKER: 'true',
    });
    expect(config.metrics).toEqual({ addr: '127.0.0.1:9090', path: '/prometheus', token: 'foo' });
    expect(config.providers).toEqual({ docker: DOCKER_DEFAULTS });
  });

  it('docker provider and regopts', () => {
    const { config } = load(EMPTY, {
      DIUN_REGOPTS_0_NAME: 'docker.io',
      DIUN_REGOPTS_0_SELECTOR: 'image',
      DIUN_REGOPTS_0_USERNAMEFILE: './fixtures/run_secrets_username',
      DIUN_REGOPTS_0_PASSWORDFILE: './fixtures/run_secrets_password',
      DIUN_REGOPTS_0_TIMEOUT: '30s',
      DIUN_PROVIDERS_DOCKER: 'true',
    });
    expect(config.regopts).toEqual([
      {
        name: 'docker.io',
        selector: 'image',
        username: 'foo',
        password: 'bar',
        insecureTLS: false,
        timeout: 30_000,
      },
    ]);
    expect(config.providers).toEqual({ docker: DOCKER_DEFAULTS });
  });
});

describe("Diun's file provider fixtures", () => {
  // The defaults Diun's file provider test passes in.
  const defaults: ImageDefaults = {
    ...IMAGE_DEFAULTS,
    notifyOn: ['new', 'update'],
    sortTags: 'reverse',
    maxTags: 25,
    includeTags: ['^(0|[1-9]\\d*)\\..*'],
    excludeTags: ['^0\\.0\\..*'],
  };
  const own = {
    notifyOn: ['new', 'update'],
    sortTags: 'reverse',
    maxTags: 25,
    includeTags: defaults.includeTags,
    excludeTags: defaults.excludeTags,
    watchRepo: false,
  };

  it('lists the folder as Diun does: files in name order, each entry with its options', async () => {
    const provider = new FileProvider(
      { directory: join(DIUN, 'provider/file/fixtures') },
      defaults,
    );
    const entries = await provider.list();
    await provider.close();
    const seen = entries.map((e) => ({
      image: e.image,
      errors: e.errors,
      options: {
        notifyOn: e.options.notifyOn,
        sortTags: e.options.sortTags,
        maxTags: e.options.maxTags,
        includeTags: e.options.includeTags,
        excludeTags: e.options.excludeTags,
        watchRepo: e.options.watchRepo,
        ...(e.options.regopt !== undefined && { regopt: e.options.regopt }),
        ...(e.options.hubLink !== undefined && { hubLink: e.options.hubLink }),
      },
    }));
    const entry = (image: string, options: Record<string, unknown> = {}) => ({
      image,
      errors: [],
      options: { ...own, ...options },
    });
    expect(seen).toEqual([
      // bintray.yml
      entry('jfrog-docker-reg2.bintray.io/jfrog/artifactory-oss:4.0.0', {
        regopt: 'bintrayoptions',
      }),
      entry('docker.bintray.io/jfrog/xray-server:2.8.6', {
        watchRepo: true,
        notifyOn: ['new'],
        sortTags: 'lexicographical',
        maxTags: 50,
      }),
      // dockerhub.yml
      entry('docker.io/crazymax/nextcloud:latest', { regopt: 'myregistry' }),
      entry('docker.io/crazymax/swarm-cronjob:latest', {
        watchRepo: true,
        sortTags: 'semver',
        includeTags: ['^1\\.2\\..*'],
      }),
      entry('docker.io/portainer/portainer:latest', { watchRepo: true, maxTags: 10 }),
      entry('docker.io/library/traefik:latest', {
        watchRepo: true,
        sortTags: 'default',
        excludeTags: ['latest'],
      }),
      entry('docker.io/library/alpine:latest'),
      entry('docker.io/graylog/graylog:3.2.0'),
      entry('docker.io/jacobalberty/unifi:5.9'),
      entry('docker.io/crazymax/ddns-route53:latest', {
        watchRepo: true,
        includeTags: ['^1\\..*'],
      }),
      // lscr.yml
      entry('lscr.io/linuxserver/heimdall:latest', {
        hubLink: 'https://fleet.linuxserver.io/image?name=linuxserver/heimdall',
      }),
      // quay.yml
      entry('quay.io/coreos/hyperkube:latest'),
      entry('quay.io/coreos/hyperkube:v1.1.7-coreos.1'),
    ]);
    const alpine = entries.find((e) => e.image === 'docker.io/library/alpine:latest');
    expect(alpine?.platform).toEqual({ os: 'linux', architecture: 'arm64', variant: 'v8' });
  });
});
