import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, resolveConfigPath } from '../../../src/config/load.js';
import { ConfigSchema } from '../../../src/config/schema.js';
import { configFiles } from '../../support/config-files.js';

const dir = mkdtempSync(join(tmpdir(), 'diun-exporter-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const { write, load, problemsOf } = configFiles(dir);

const DEFAULTS = {
  watch: {
    workers: 10,
    schedule: '',
    jitter: 30_000,
    runOnStartup: true,
    firstCheckNotif: false,
    compareDigest: true,
  },
  defaults: {
    watchRepo: false,
    notifyOn: ['new', 'update'],
    maxTags: 0,
    sortTags: 'reverse',
    includeTags: [],
    excludeTags: [],
    metadata: {},
  },
  regopts: [],
  db: { path: 'data/diun-exporter.json' },
  providers: {},
  metrics: { addr: ':8080', path: '/metrics' },
};

describe('good files', () => {
  it('loads the shipped config/diun.yml with no environment set', () => {
    const { config, warnings } = loadConfig('config/diun.yml', {});
    expect(warnings).toEqual([]);
    expect(config.watch).toEqual({
      workers: 20,
      schedule: '0 */6 * * *',
      jitter: 30_000,
      runOnStartup: true,
      firstCheckNotif: false,
      compareDigest: true,
    });
    expect(config.providers.docker).toEqual({
      endpoints: [{ name: 'local', endpoint: 'tcp://socket-proxy:2375', tlsVerify: true }],
      watchByDefault: false,
      watchStopped: false,
    });
    expect(config.regopts.map((regopt) => [regopt.name, regopt.selector])).toEqual([
      ['docker.io', 'image'],
      ['ghcr.io', 'image'],
      ['registry.example.com', 'image'],
    ]);
    // `${VAR:-}` with VAR unset means no credentials: anonymous access.
    expect(config.regopts[0]).toEqual({
      name: 'docker.io',
      selector: 'image',
      timeout: 10_000,
      insecureTLS: false,
    });
    expect(config.db.path).toBe('data/diun-exporter.json');
    expect(config.metrics).toEqual({ addr: ':8080', path: '/metrics' });
  });

  it('fills the shipped config from the environment', () => {
    const secret = join(dir, 'private-password');
    writeFileSync(secret, 'private-pass\n');
    const { config } = loadConfig('config/diun.yml', {
      DOCKERHUB_USERNAME: 'hubuser',
      DOCKERHUB_TOKEN: 'dckr_pat_x',
      PRIVATE_REGISTRY: 'registry.internal:5000',
      PRIVATE_REGISTRY_USERNAME: 'ci',
      PRIVATE_REGISTRY_PASSWORD_FILE: secret,
    });
    expect(config.regopts[0]).toMatchObject({ username: 'hubuser', password: 'dckr_pat_x' });
    expect(config.regopts[2]).toMatchObject({
      name: 'registry.internal:5000',
      username: 'ci',
      password: 'private-pass',
    });
  });

  it('gives the defaults for an empty file', () => {
    expect(load('')).toEqual({ config: DEFAULTS, warnings: [], file: expect.any(String) });
    expect(load('# only a comment\n').config).toEqual(DEFAULTS);
    expect(load('watch:\ndefaults:\n').config).toEqual(DEFAULTS);
    expect(ConfigSchema.parse(undefined)).toEqual(DEFAULTS);
  });

  it('loads a Diun config with notifiers, warning once that notif is ignored', () => {
    const { config, warnings } = load(`
db:
  path: diun.db
watch:
  workers: 20
  schedule: "0 */6 * * *"
  jitter: 30s
  firstCheckNotif: false
  runOnStartup: true
  compareDigest: true
  healthchecks:
    baseURL: https://hc-ping.com/
    uuid: 5bf66975-d4c7-4bf5-bcc8-b8d8a82ea278
defaults:
  watchRepo: false
  notifyOn:
    - new
    - update
  maxTags: 10
  sortTags: semver
  includeTags:
    - ^\\d+\\.\\d+\\.\\d+$
  metadata:
    team: ops
notif:
  gotify:
    endpoint: http://gotify.foo.com
    token: Token123456
    priority: 1
    timeout: 10s
    templateTitle: "{{ .Entry.Image }} released"
  mail:
    host: localhost
    port: 25
    ssl: false
    insecureSkipVerify: false
    from: diun@example.com
    to:
      - webmaster@example.com
regopts:
  - name: myregistry
    username: fii
    password: bor
    timeout: 5s
  - name: docker.io
    selector: image
    username: foo
    password: bar
providers:
  docker:
    watchStopped: true
  file:
    directory: ./imagesdir
`);
    expect(warnings).toEqual([
      'notif: ignored; diun-exporter sends no notifications itself, route alerts with Alertmanager (see docs/alerts.md)',
    ]);
    expect(config.db.path).toBe('diun.db');
    expect(config.watch).toMatchObject({ workers: 20, jitter: 30_000, compareDigest: true });
    expect(config.defaults).toEqual({
      watchRepo: false,
      notifyOn: ['new', 'update'],
      maxTags: 10,
      sortTags: 'semver',
      includeTags: ['^\\d+\\.\\d+\\.\\d+$'],
      excludeTags: [],
      metadata: { team: 'ops' },
    });
    expect(config.regopts).toEqual([
      {
        name: 'myregistry',
        selector: 'name',
        username: 'fii',
        password: 'bor',
        timeout: 5_000,
        insecureTLS: false,
      },
      {
        name: 'docker.io',
        selector: 'image',
        username: 'foo',
        password: 'bar',
        timeout: 10_000,
        insecureTLS: false,
      },
    ]);
    expect(config.providers.docker?.watchStopped).toBe(true);
    expect(config.providers.docker?.endpoints).toEqual([
      { name: 'local', endpoint: 'unix:///var/run/docker.sock', tlsVerify: true },
    ]);
    expect(config.providers.file).toEqual({ directory: './imagesdir' });
  });

  it('warns about Diun providers it does not implement and drops them', () => {
    const { config, warnings } = load(`
providers:
  nomad:
    address: http://127.0.0.1:4646
  dockerfile:
    patterns: [./Dockerfile]
  containerd:
    endpoint: \${CONTAINERD_ADDRESS}
    namespaces: [k8s.io]
`);
    expect(warnings).toEqual([
      'providers.nomad: not supported by diun-exporter, ignored',
      'providers.dockerfile: not supported by diun-exporter, ignored',
      'providers.containerd: not supported by diun-exporter, ignored',
    ]);
    expect(config.providers).toEqual({});
  });

  it('reads every provider with its defaults', () => {
    const { config } = load(`
providers:
  docker:
    endpoints:
      - name: web
        endpoint: tcp://10.0.0.5:2376
        tlsCertsPath: /certs/web
        tlsVerify: false
      - name: db
        endpoint: unix:///run/docker.sock
    watchByDefault: true
  swarm:
    endpoint: https://swarm:2376
    apiVersion: "1.41"
  kubernetes:
    endpoint: https://k8s:6443
    token: abc
    namespaces: [default, apps]
`);
    expect(config.providers).toEqual({
      docker: {
        endpoints: [
          {
            name: 'web',
            endpoint: 'tcp://10.0.0.5:2376',
            tlsCertsPath: '/certs/web',
            tlsVerify: false,
          },
          { name: 'db', endpoint: 'unix:///run/docker.sock', tlsVerify: true },
        ],
        watchByDefault: true,
        watchStopped: false,
      },
      swarm: { endpoint: 'https://swarm:2376', tlsVerify: true, watchByDefault: false },
      kubernetes: {
        endpoint: 'https://k8s:6443',
        token: 'abc',
        tlsInsecure: false,
        namespaces: ['default', 'apps'],
        watchByDefault: false,
      },
    });
  });

  it('enables a provider written with no value, as Diun does', () => {
    expect(load('providers:\n  docker:\n').config.providers.docker).toEqual({
      endpoints: [{ name: 'local', endpoint: 'unix:///var/run/docker.sock', tlsVerify: true }],
      watchByDefault: false,
      watchStopped: false,
    });
  });

  it('takes the Docker endpoint from DOCKER_HOST when the file names none', () => {
    const env = { DOCKER_HOST: 'tcp://docker:2375' };
    expect(load('providers:\n  docker: {}\n', env).config.providers.docker?.endpoints).toEqual([
      { name: 'local', endpoint: 'tcp://docker:2375', tlsVerify: true },
    ]);
    const named = load('providers:\n  docker:\n    endpoint: unix:///x.sock\n', env);
    expect(named.config.providers.docker?.endpoints[0]?.endpoint).toBe('unix:///x.sock');
    expect(load('', env).config.providers.docker).toBeUndefined();
  });

  it('keeps numbers written bare as text where text is expected', () => {
    const { config } = load('regopts:\n  - name: 1234\n    username: 007\n    password: 0123\n');
    expect(config.regopts[0]).toMatchObject({ name: '1234', username: '007', password: '0123' });
  });

  it('accepts Go boolean words and numbers written as text, as Diun does', () => {
    const { config } = load(
      'watch:\n  workers: "12"\n  runOnStartup: "False"\n  compareDigest: 0\n',
    );
    expect(config.watch).toMatchObject({ workers: 12, runOnStartup: false, compareDigest: false });
  });

  it('accepts 6-field cron expressions and nicknames', () => {
    expect(load('watch:\n  schedule: "30 0 */6 * * *"\n').config.watch.schedule).toBe(
      '30 0 */6 * * *',
    );
    expect(load('watch:\n  schedule: "@daily"\n').config.watch.schedule).toBe('@daily');
    // robfig/cron's @midnight (Diun's), which croner does not know, is @daily.
    expect(load('watch:\n  schedule: "@midnight"\n').config.watch.schedule).toBe('@daily');
  });

  it('accepts YAML anchors and merge keys', () => {
    const { config } = load(`
regopts:
  - &base
    name: a.example
    selector: image
    timeout: 20s
  - <<: *base
    name: b.example
`);
    expect(config.regopts[1]).toMatchObject({
      name: 'b.example',
      selector: 'image',
      timeout: 20_000,
    });
  });
});

describe('the file itself', () => {
  it('names a missing file', () => {
    const file = join(dir, 'missing.yml');
    expect(() => loadConfig(file, {})).toThrow(
      new ConfigError([`${file}: cannot read: no such file (ENOENT)`]),
    );
  });

  it('names an unreadable file', () => {
    expect(() => loadConfig(dir, {})).toThrow(
      new ConfigError([`${dir}: cannot read: is a directory (EISDIR)`]),
    );
  });

  it('reports a YAML syntax error with its position and no file content', () => {
    const file = write('regopts:\n  - name: x\n    password: "hunter2\n');
    try {
      loadConfig(file, {});
      expect.unreachable();
    } catch (error) {
      expect((error as ConfigError).problems).toEqual([
        `${file}: invalid YAML at line 4, column 1: Missing closing "quote`,
      ]);
      expect((error as Error).message).not.toContain('hunter2');
    }
  });

  it('reports duplicate keys', () => {
    const file = write('watch:\n  workers: 1\n  workers: 2\n');
    expect(() => loadConfig(file, {})).toThrow(
      `${file}: invalid YAML at line 3, column 3: Map keys must be unique`,
    );
  });
});

describe(`\${VAR} expansion`, () => {
  it(`expands \${VAR} and \${VAR:-default} in every string`, () => {
    const { config } = load(
      `
watch:
  schedule: "\${SCHEDULE}"
  workers: \${WORKERS:-7}
  jitter: \${JITTER:-1m}
regopts:
  - name: \${REGISTRY}
    username: \${USER:-anonymous}
    password: pre-\${PASS}-\${PASS}-post
defaults:
  includeTags: ["\${TAGS:-^v}"]
  metadata:
    owner: \${OWNER:-nobody}
`,
      { SCHEDULE: '0 * * * *', REGISTRY: 'r.example', PASS: 'p', USER: '', OWNER: 'me' },
    );
    expect(config.watch).toMatchObject({ schedule: '0 * * * *', workers: 7, jitter: 60_000 });
    // `:-` takes the default when the variable is unset or empty, as in a shell.
    expect(config.regopts[0]).toMatchObject({
      name: 'r.example',
      username: 'anonymous',
      password: 'pre-p-p-post',
    });
    expect(config.defaults.includeTags).toEqual(['^v']);
    expect(config.defaults.metadata).toEqual({ owner: 'me' });
  });

  it('keeps $$ as a literal $ and a lone $ as is', () => {
    const { config } = load('regopts:\n  - name: r\n    password: "a$$b$${NOT}c$d$"\n', {
      NOT: 'expanded',
    });
    expect(config.regopts[0]?.password).toBe(`a$b\${NOT}c$d$`);
  });

  it('loads Diun’s metrics.enabled, token beside tokenFile and namespacesExclude as Diun does', () => {
    const { config, warnings } = load(
      [
        'metrics:',
        '  enabled: false',
        '  addr: ":9090"',
        '  token: t',
        '  tokenFile: /nonexistent/metrics-token',
        'providers:',
        '  kubernetes:',
        '    token: k',
        '    tokenFile: /nonexistent/k8s-token',
        '    namespaces: [shop]',
        '    namespacesExclude: [kube-system]',
        '',
      ].join('\n'),
    );
    expect(config.metrics).toEqual({ addr: ':9090', path: '/metrics', token: 't' });
    expect(config.providers.kubernetes).toMatchObject({
      token: 'k',
      namespaces: ['shop', '!kube-system'],
    });
    expect(warnings).toEqual([
      'metrics.enabled: false is ignored, diun-exporter always serves its metrics',
      'metrics.tokenFile: ignored, metrics.token is set (as Diun does)',
      'providers.kubernetes.tokenFile: ignored, providers.kubernetes.token is set (as Diun does)',
    ]);
    expect(load('metrics:\n  enabled: true\n').warnings).toEqual([]);
  });

  it('does not expand the sections it ignores', () => {
    const { warnings } = load(`notif:\n  gotify:\n    token: \${GOTIFY_TOKEN}\n`);
    expect(warnings).toHaveLength(1);
  });

  it('names the key and the variable when one is unset', () => {
    expect(
      problemsOf(
        `watch:\n  schedule: \${SCHEDULE}\nregopts:\n  - name: r\n    password: \${PASS}\n`,
      ),
    ).toEqual([
      'watch.schedule: environment variable SCHEDULE is not set',
      'regopts[0].password: environment variable PASS is not set',
    ]);
  });
});

describe('DIUN_* overrides', () => {
  it('sets keys as Diun does, matching camelCase keys case-insensitively', () => {
    const { config } = load(
      'watch:\n  workers: 5\nregopts:\n  - name: docker.io\n    username: file\n',
      {
        DIUN_WATCH_WORKERS: '20',
        DIUN_WATCH_RUNONSTARTUP: 'false',
        DIUN_WATCH_JITTER: '1m',
        DIUN_PROVIDERS_DOCKER_WATCHBYDEFAULT: 'true',
        DIUN_REGOPTS_0_USERNAME: 'env',
        DIUN_REGOPTS_0_PASSWORD: `not-\${EXPANDED}`,
        DIUN_REGOPTS_1_NAME: 'ghcr.io',
        DIUN_REGOPTS_1_SELECTOR: 'image',
        DIUN_REGOPTS_1_INSECURETLS: 'true',
        DIUN_DEFAULTS_NOTIFYON: 'update',
        DIUN_DEFAULTS_METADATA_TEAM_NAME: 'ops',
        DIUN_METRICS_ADDR: '127.0.0.1:9090',
        DIUN_CONFIG: '/ignored.yml',
        // set by the Dockerfile for diun_build_info, not a config key
        DIUN_EXPORTER_REVISION: 'abc123',
      },
    );
    expect(config.watch).toMatchObject({ workers: 20, runOnStartup: false, jitter: 60_000 });
    expect(config.providers.docker?.watchByDefault).toBe(true);
    expect(config.regopts).toEqual([
      {
        name: 'docker.io',
        selector: 'name',
        username: 'env',
        password: `not-\${EXPANDED}`,
        timeout: 10_000,
        insecureTLS: false,
      },
      { name: 'ghcr.io', selector: 'image', timeout: 10_000, insecureTLS: true },
    ]);
    expect(config.defaults.notifyOn).toEqual(['update']);
    expect(config.defaults.metadata).toEqual({ team_name: 'ops' });
    expect(config.metrics.addr).toBe('127.0.0.1:9090');
  });

  it('splits lists on commas, or takes them by index', () => {
    const { config } = load('', {
      DIUN_PROVIDERS_KUBERNETES_NAMESPACES: 'default, apps',
      DIUN_DEFAULTS_INCLUDETAGS_0: '^\\d{1,3}$',
      DIUN_DEFAULTS_INCLUDETAGS_1: '^latest$',
      DIUN_PROVIDERS_DOCKER_ENDPOINTS_0_NAME: 'web',
      DIUN_PROVIDERS_DOCKER_ENDPOINTS_0_ENDPOINT: 'tcp://web:2375',
      DIUN_PROVIDERS_DOCKER_ENDPOINTS_1_NAME: 'db',
      DIUN_PROVIDERS_DOCKER_ENDPOINTS_1_ENDPOINT: 'tcp://db:2375',
    });
    expect(config.providers.kubernetes?.namespaces).toEqual(['default', 'apps']);
    expect(config.defaults.includeTags).toEqual(['^\\d{1,3}$', '^latest$']);
    expect(config.providers.docker?.endpoints.map((e) => e.name)).toEqual(['web', 'db']);
  });

  it('fills list entries in numeric order', () => {
    const env: NodeJS.ProcessEnv = {};
    for (let i = 10; i >= 0; i--) env[`DIUN_REGOPTS_${i}_NAME`] = `r${i}`;
    expect(load('', env).config.regopts.map((r) => r.name)).toEqual(
      Array.from({ length: 11 }, (_, i) => `r${i}`),
    );
  });

  it('enables a section with =true and accepts WATCH_BY_DEFAULT spelled with underscores', () => {
    const { config } = load('', {
      DIUN_PROVIDERS_SWARM: 'true',
      DIUN_PROVIDERS_DOCKER_WATCH_BY_DEFAULT: 'true',
    });
    expect(config.providers.swarm).toEqual({ tlsVerify: true, watchByDefault: false });
    expect(config.providers.docker?.watchByDefault).toBe(true);
  });

  it('warns once about notif set from the environment', () => {
    const { warnings } = load('', { DIUN_NOTIF_GOTIFY_ENDPOINT: 'http://gotify' });
    expect(warnings).toEqual([expect.stringMatching(/^notif: ignored;/)]);
  });

  it('names the variable for an unknown key or a bad value', () => {
    expect(
      problemsOf('watch:\n  workers: 4\n', {
        DIUN_WATCH_WORKERS: 'many',
        DIUN_WATCH_NOPE: '1',
        DIUN_NOPE: '1',
        DIUN_REGOPTS_NAME: 'x',
        DIUN_REGOPTS_3_NAME: 'x',
        DIUN_WATCH_WORKERS_MAX: '1',
        DIUN_PROVIDERS_DOCKER: 'maybe',
        DIUN_REGOPTS: 'x',
      }),
    ).toEqual([
      'DIUN_NOPE: unknown key nope',
      'DIUN_PROVIDERS_DOCKER: providers.docker is a section: set it to true to enable it, or set one of its keys',
      'DIUN_REGOPTS: regopts cannot be set as a whole: set one of its entries',
      'DIUN_REGOPTS_3_NAME: index 3 leaves a gap in regopts (next index is 0)',
      'DIUN_REGOPTS_NAME: expected an index after regopts, got "NAME"',
      'DIUN_WATCH_NOPE: unknown key watch.nope',
      'DIUN_WATCH_WORKERS_MAX: unknown key watch.workers.max',
      'watch.workers: expected integer >= 1 (from DIUN_WATCH_WORKERS)',
    ]);
  });
});

describe('*File secrets', () => {
  const secretFile = (name: string, content: string) => {
    const file = join(dir, name);
    writeFileSync(file, content);
    return file;
  };

  it('reads usernameFile, passwordFile and tokenFile, dropping one trailing newline', () => {
    const user = secretFile('user', 'robot\n');
    const pass = secretFile('pass', 'pa ss\n\n');
    const crlf = secretFile('crlf', 'k8s-token\r\n');
    const metrics = secretFile('metrics', 'scrape-token');
    const { config } = load(`
regopts:
  - name: r
    usernameFile: ${user}
    passwordFile: ${pass}
providers:
  kubernetes:
    tokenFile: ${crlf}
metrics:
  tokenFile: ${metrics}
`);
    expect(config.regopts[0]).toEqual({
      name: 'r',
      selector: 'name',
      username: 'robot',
      password: 'pa ss\n',
      timeout: 10_000,
      insecureTLS: false,
    });
    expect(config.providers.kubernetes?.token).toBe('k8s-token');
    expect(config.metrics).toEqual({ addr: ':8080', path: '/metrics', token: 'scrape-token' });
  });

  it('takes *File paths from the environment, and ignores an empty one', () => {
    const pass = secretFile('env-pass', 'from-file\n');
    const { config } = load(
      `regopts:\n  - name: a\n    passwordFile: \${A_FILE:-}\n  - name: b\n`,
      {
        DIUN_REGOPTS_1_PASSWORDFILE: pass,
      },
    );
    expect(config.regopts[0]?.password).toBeUndefined();
    expect(config.regopts[1]?.password).toBe('from-file');
  });
});

describe('resolveConfigPath', () => {
  it('prefers the flag, then DIUN_CONFIG, then config/diun.yml', () => {
    expect(resolveConfigPath('/a.yml', { DIUN_CONFIG: '/b.yml' })).toBe('/a.yml');
    expect(resolveConfigPath(undefined, { DIUN_CONFIG: '/b.yml' })).toBe('/b.yml');
    expect(resolveConfigPath(undefined, {})).toBe('config/diun.yml');
    expect(resolveConfigPath('', { DIUN_CONFIG: '' })).toBe('config/diun.yml');
  });
});

describe('Diun files that must load as they are', () => {
  it('reads regopts[].timeout: 0s as Diun does: no timeout', () => {
    const { config } = load('regopts:\n  - name: a\n    timeout: 0s\n  - name: b\n');
    expect(config.regopts.map((regopt) => [regopt.name, regopt.timeout])).toEqual([
      ['a', 0],
      ['b', 10_000],
    ]);
    expect(
      load('regopts:\n  - name: a\n', { DIUN_REGOPTS_0_TIMEOUT: '0' }).config.regopts[0],
    ).toMatchObject({ timeout: 0 });
  });

  it.each([
    ['nomad', { DIUN_PROVIDERS_NOMAD_NAMESPACE: 'legacy', DIUN_PROVIDERS_NOMAD_NAMESPACES: 'dev' }],
    ['containerd', { DIUN_PROVIDERS_CONTAINERD_NAMESPACES: 'default,k8s.io' }],
  ])('accepts DIUN_PROVIDERS_%s=true with its sub-keys, unread', (name, subKeys) => {
    const env = { [`DIUN_PROVIDERS_${name.toUpperCase()}`]: 'true', ...subKeys };
    const { config, warnings } = load('', env);
    expect(config.providers).toEqual({});
    expect(warnings).toEqual([`providers.${name}: not supported by diun-exporter, ignored`]);
    // The same on top of the section in the file, and with the sub-keys alone.
    expect(load(`providers:\n  ${name}: {}\n`, env).warnings).toEqual(warnings);
    expect(load('', { ...subKeys }).warnings).toEqual(warnings);
  });

  it('drops a section accepted unread that a DIUN_* variable switches off', () => {
    const { warnings } = load('providers:\n  nomad:\n    address: http://nomad:4646\n', {
      DIUN_PROVIDERS_NOMAD: 'false',
    });
    expect(warnings).toEqual([]);
  });

  it('refuses watch.healthchecks without a check UUID, as Diun does', () => {
    expect(problemsOf('watch:\n  healthchecks:\n    baseURL: https://hc-ping.com/\n')).toEqual([
      'watch.healthchecks.uuid: required (or uuidFile)',
    ]);
    expect(
      load('', { DIUN_WATCH_HEALTHCHECKS_UUIDFILE: '/run/secrets/hc' }).config.watch,
    ).toMatchObject(DEFAULTS.watch);
  });
});
