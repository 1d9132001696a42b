import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../src/config/load.js';
import { describeReadError } from '../../../src/config/problems.js';
import { configFiles } from '../../support/config-files.js';

const dir = mkdtempSync(join(tmpdir(), 'diun-exporter-bad-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const MISSING = join(dir, 'no-such-secret');
const A_DIRECTORY = join(dir, 'a-directory');
mkdirSync(A_DIRECTORY);
// Unreadable secrets. The tests run as root, whom a mode-000 file does not stop, so the
// unreadable cases are paths that fail for root too: a directory, a dangling symlink, a symlink
// loop, and a path through a regular file. EACCES itself is pinned on describeReadError below.
const DANGLING = join(dir, 'dangling-link');
symlinkSync(join(dir, 'deleted-secret'), DANGLING);
const LOOP = join(dir, 'looping-link');
symlinkSync(LOOP, LOOP);
const A_FILE = join(dir, 'a-file');
writeFileSync(A_FILE, 'x');
const THROUGH_A_FILE = join(A_FILE, 'secret');
// A secret mount gone wrong: the file is there but holds nothing (a newline at most).
const EMPTY_SECRET = join(dir, 'empty-secret');
writeFileSync(EMPTY_SECRET, '\n');

const { problemsOf } = configFiles(dir, { stem: 'bad', messageListsThem: true });

// [what, file, every problem reported]
const BAD_FILES: [string, string, string[]][] = [
  // watch
  ['workers below 1', 'watch:\n  workers: 0\n', ['watch.workers: expected integer >= 1']],
  ['workers as a word', 'watch:\n  workers: many\n', ['watch.workers: expected integer >= 1']],
  ['workers as a fraction', 'watch:\n  workers: 1.5\n', ['watch.workers: expected integer >= 1']],
  [
    'a boolean as a word',
    'watch:\n  runOnStartup: maybe\n',
    ['watch.runOnStartup: expected true or false'],
  ],
  [
    'a boolean as a list',
    'watch:\n  compareDigest: [true]\n',
    ['watch.compareDigest: expected true or false'],
  ],
  [
    'cron with 3 fields',
    'watch:\n  schedule: "* * *"\n',
    ['watch.schedule: invalid cron expression "* * *": expected 5 or 6 fields, got 3'],
  ],
  [
    'cron with 7 fields',
    'watch:\n  schedule: "0 0 0 * * * 2030"\n',
    ['watch.schedule: invalid cron expression "0 0 0 * * * 2030": expected 5 or 6 fields, got 7'],
  ],
  [
    'cron out of range',
    'watch:\n  schedule: "61 * * * *"\n',
    ['watch.schedule: invalid cron expression "61 * * * *": Invalid value for minute: 61'],
  ],
  [
    'cron @every',
    'watch:\n  schedule: "@every 6h"\n',
    [
      'watch.schedule: invalid cron expression "@every 6h": @every is not supported, write a cron expression',
    ],
  ],
  ['jitter as a word', 'watch:\n  jitter: ten\n', ['watch.jitter: invalid duration "ten"']],
  [
    'jitter without unit',
    'watch:\n  jitter: 30\n',
    ['watch.jitter: invalid duration "30": missing unit (ns, us, ms, s, m, h)'],
  ],
  [
    'negative jitter',
    'watch:\n  jitter: -1s\n',
    ['watch.jitter: invalid duration "-1s": must not be negative'],
  ],
  [
    'jitter with an unknown unit',
    'watch:\n  jitter: 10d\n',
    ['watch.jitter: invalid duration "10d": unknown unit "d"'],
  ],
  [
    "jitter beyond Go's range",
    'watch:\n  jitter: 2562048h\n',
    ['watch.jitter: invalid duration "2562048h": out of range'],
  ],
  [
    'cron with a word in a field',
    'watch:\n  schedule: "0 noon * * *"\n',
    [
      'watch.schedule: invalid cron expression "0 noon * * *": illegal characters in the hour field: "noon"',
    ],
  ],
  [
    'an unknown cron nickname',
    'watch:\n  schedule: "@sometimes"\n',
    [
      'watch.schedule: invalid cron expression "@sometimes": unknown nickname, expected one of @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly',
    ],
  ],
  [
    'schedule as a list',
    'watch:\n  schedule: ["0 * * * *"]\n',
    ['watch.schedule: expected a string'],
  ],
  [
    'workers beyond any integer',
    'watch:\n  workers: 99999999999999999999999\n',
    ['watch.workers: expected integer >= 1'],
  ],
  ['unknown watch key', 'watch:\n  foo: 1\n', ['watch.foo: unknown key']],
  ['watch as a list', 'watch: [1]\n', ['watch: expected a mapping']],
  ['watch as a word', 'watch: often\n', ['watch: expected a mapping']],
  // defaults
  ['maxTags below 0', 'defaults:\n  maxTags: -1\n', ['defaults.maxTags: expected integer >= 0']],
  [
    'a metadata key a label could not carry',
    'defaults:\n  metadata:\n    good_key: x\n    bad-key: y\n',
    ['defaults.metadata.bad-key: metadata keys may only contain letters, digits and _'],
  ],
  [
    'watchRepo as a word',
    'defaults:\n  watchRepo: yes\n',
    ['defaults.watchRepo: expected true or false'],
  ],
  [
    'notifyOn with an unknown status',
    'defaults:\n  notifyOn: [new, deleted]\n',
    ['defaults.notifyOn[1]: expected new or update'],
  ],
  ['notifyOn as a word', 'defaults:\n  notifyOn: new\n', ['defaults.notifyOn: expected a list']],
  [
    'unknown sortTags',
    'defaults:\n  sortTags: alphabetical\n',
    ['defaults.sortTags: expected one of default, reverse, semver, lexicographical'],
  ],
  [
    'bad includeTags regexp',
    "defaults:\n  includeTags: ['^v\\d+$', '(']\n",
    ['defaults.includeTags[1]: invalid regular expression: missing closing ): `(`'],
  ],
  [
    'bad excludeTags regexp',
    "defaults:\n  excludeTags: ['a**']\n",
    [
      'defaults.excludeTags[0]: invalid regular expression: invalid nested repetition operator: `**`',
    ],
  ],
  [
    'a backreference (not RE2)',
    "defaults:\n  includeTags: ['(a)\\1']\n",
    ['defaults.includeTags[0]: invalid regular expression: invalid escape sequence: `\\1`'],
  ],
  ['metadata as a list', 'defaults:\n  metadata: [a]\n', ['defaults.metadata: expected a mapping']],
  [
    'a metadata value as a list',
    'defaults:\n  metadata:\n    a: [1]\n',
    ['defaults.metadata.a: expected a string'],
  ],
  ['maxTags as a word', 'defaults:\n  maxTags: ten\n', ['defaults.maxTags: expected integer >= 0']],
  [
    'includeTags as a word',
    'defaults:\n  includeTags: ^v\n',
    ['defaults.includeTags: expected a list'],
  ],
  [
    'sortTags as a list',
    'defaults:\n  sortTags: [semver]\n',
    ['defaults.sortTags: expected a string'],
  ],
  ['defaults as a list', 'defaults: [watchRepo]\n', ['defaults: expected a mapping']],
  ['unknown defaults key', 'defaults:\n  watch_repo: true\n', ['defaults.watch_repo: unknown key']],
  // regopts
  ['regopts as a mapping', 'regopts:\n  name: x\n', ['regopts: expected a list']],
  ['a regopt without a name', 'regopts:\n  - username: me\n', ['regopts[0].name: required']],
  [
    'a regopt with an empty name',
    'regopts:\n  - name: ""\n',
    ['regopts[0].name: must not be empty'],
  ],
  [
    'unknown selector',
    'regopts:\n  - name: r\n    selector: prefix\n',
    ['regopts[0].selector: expected name or image'],
  ],
  [
    'timeout as a word',
    'regopts:\n  - name: a\n  - name: b\n    timeout: ten\n',
    ['regopts[1].timeout: invalid duration "ten"'],
  ],
  [
    'insecureTLS as a word',
    'regopts:\n  - name: a\n    insecureTLS: sure\n',
    ['regopts[0].insecureTLS: expected true or false'],
  ],
  [
    'a password as a list',
    'regopts:\n  - name: a\n    password: [x]\n',
    ['regopts[0].password: expected a string'],
  ],
  [
    'duplicate regopt names',
    'regopts:\n  - name: docker.io\n  - name: ghcr.io\n  - name: docker.io\n',
    ['regopts[2].name: duplicate name "docker.io"'],
  ],
  ['a regopt as a word', 'regopts:\n  - docker.io\n', ['regopts[0]: expected a mapping']],
  [
    'selector as a list',
    'regopts:\n  - name: a\n    selector: [image]\n',
    ['regopts[0].selector: expected a string'],
  ],
  [
    'negative timeout',
    'regopts:\n  - name: a\n    timeout: -1s\n',
    ['regopts[0].timeout: invalid duration "-1s": must not be negative'],
  ],
  [
    'maxConcurrent of 0',
    'regopts:\n  - name: a\n    maxConcurrent: 0\n',
    ['regopts[0].maxConcurrent: expected integer >= 1'],
  ],
  [
    'maxConcurrent as a word',
    'regopts:\n  - name: a\n    maxConcurrent: few\n',
    ['regopts[0].maxConcurrent: expected integer >= 1'],
  ],
  ['unknown regopt key', 'regopts:\n  - name: a\n    user: me\n', ['regopts[0].user: unknown key']],
  [
    'password and passwordFile',
    `regopts:\n  - name: a\n    password: x\n    passwordFile: ${MISSING}\n`,
    ['regopts[0].passwordFile: cannot be used together with password'],
  ],
  [
    'username and usernameFile',
    `regopts:\n  - name: a\n    username: x\n    usernameFile: ${MISSING}\n`,
    ['regopts[0].usernameFile: cannot be used together with username'],
  ],
  [
    'a missing passwordFile',
    `regopts:\n  - name: a\n    passwordFile: ${MISSING}\n`,
    [`regopts[0].passwordFile: cannot read "${MISSING}": no such file (ENOENT)`],
  ],
  [
    'a usernameFile that is a directory',
    `regopts:\n  - name: a\n    usernameFile: ${A_DIRECTORY}\n`,
    [`regopts[0].usernameFile: cannot read "${A_DIRECTORY}": is a directory (EISDIR)`],
  ],
  [
    'a missing usernameFile',
    `regopts:\n  - name: a\n    usernameFile: ${MISSING}\n`,
    [`regopts[0].usernameFile: cannot read "${MISSING}": no such file (ENOENT)`],
  ],
  [
    'an empty metrics.tokenFile, which would leave /metrics open',
    `metrics:\n  tokenFile: ${EMPTY_SECRET}\n`,
    [`metrics.tokenFile: "${EMPTY_SECRET}" is empty`],
  ],
  [
    'an empty passwordFile',
    `regopts:\n  - name: a\n    passwordFile: ${EMPTY_SECRET}\n`,
    [`regopts[0].passwordFile: "${EMPTY_SECRET}" is empty`],
  ],
  [
    'a passwordFile that is a dangling symlink',
    `regopts:\n  - name: a\n    passwordFile: ${DANGLING}\n`,
    [`regopts[0].passwordFile: cannot read "${DANGLING}": no such file (ENOENT)`],
  ],
  [
    'a passwordFile that is a symlink loop',
    `regopts:\n  - name: a\n    passwordFile: ${LOOP}\n`,
    [`regopts[0].passwordFile: cannot read "${LOOP}": too many symbolic links (ELOOP)`],
  ],
  [
    'a passwordFile below a regular file',
    `regopts:\n  - name: a\n    passwordFile: ${THROUGH_A_FILE}\n`,
    [
      `regopts[0].passwordFile: cannot read "${THROUGH_A_FILE}": a part of the path is not a directory (ENOTDIR)`,
    ],
  ],
  [
    'a bad secret file in the second regopt',
    `regopts:\n  - name: a\n  - name: b\n    usernameFile: ${A_DIRECTORY}\n    passwordFile: ${MISSING}\n`,
    [
      `regopts[1].usernameFile: cannot read "${A_DIRECTORY}": is a directory (EISDIR)`,
      `regopts[1].passwordFile: cannot read "${MISSING}": no such file (ENOENT)`,
    ],
  ],
  [
    'passwordFile as a number',
    'regopts:\n  - name: a\n    passwordFile: [1]\n',
    ['regopts[0].passwordFile: expected a string'],
  ],
  // db
  ['db.path as a list', 'db:\n  path: [a]\n', ['db.path: expected a string']],
  ['unknown db key', 'db:\n  file: x\n', ['db.file: unknown key']],
  ['db as a list', 'db: [a]\n', ['db: expected a mapping']],
  // providers
  ['providers as a list', 'providers: [docker]\n', ['providers: expected a mapping']],
  ['docker as a list', 'providers:\n  docker: [a]\n', ['providers.docker: expected a mapping']],
  [
    'tlsVerify as a word',
    'providers:\n  docker:\n    tlsVerify: please\n',
    ['providers.docker.tlsVerify: expected true or false'],
  ],
  [
    'endpoints as a mapping',
    'providers:\n  docker:\n    endpoints:\n      a: tcp://a:2375\n',
    ['providers.docker.endpoints: expected a list'],
  ],
  [
    'an unknown key in an endpoint',
    'providers:\n  docker:\n    endpoints:\n      - {name: a, endpoint: "tcp://a:2375", host: a}\n',
    ['providers.docker.endpoints[0].host: unknown key'],
  ],
  [
    'a Docker endpoint scheme',
    'providers:\n  docker:\n    endpoint: npipe:////./pipe/docker_engine\n',
    ['providers.docker.endpoint: expected a unix://, tcp://, http:// or https:// address'],
  ],
  [
    'a Docker endpoint without scheme',
    'providers:\n  docker:\n    endpoint: socket-proxy:2375\n',
    ['providers.docker.endpoint: expected a unix://, tcp://, http:// or https:// address'],
  ],
  [
    'a bad endpoint in the list',
    'providers:\n  docker:\n    endpoints:\n      - name: a\n        endpoint: ssh://host\n',
    [
      'providers.docker.endpoints[0].endpoint: expected a unix://, tcp://, http:// or https:// address',
    ],
  ],
  [
    'an endpoint without address',
    'providers:\n  docker:\n    endpoints:\n      - name: a\n',
    ['providers.docker.endpoints[0].endpoint: required'],
  ],
  [
    'an empty endpoint list',
    'providers:\n  docker:\n    endpoints: []\n',
    ['providers.docker.endpoints: expected at least one endpoint'],
  ],
  [
    'duplicate endpoint names',
    'providers:\n  docker:\n    endpoints:\n      - {name: a, endpoint: "tcp://a:2375"}\n      - {name: a, endpoint: "tcp://b:2375"}\n',
    ['providers.docker.endpoints[1].name: duplicate name "a"'],
  ],
  [
    'both Docker forms',
    'providers:\n  docker:\n    endpoint: tcp://a:2375\n    tlsVerify: false\n    endpoints:\n      - {name: b, endpoint: "tcp://b:2375"}\n',
    [
      'providers.docker.endpoint: cannot be used together with endpoints',
      'providers.docker.tlsVerify: cannot be used together with endpoints',
    ],
  ],
  [
    'watchByDefault as a word',
    'providers:\n  docker:\n    watchByDefault: all\n',
    ['providers.docker.watchByDefault: expected true or false'],
  ],
  [
    'unknown docker key',
    'providers:\n  docker:\n    host: x\n',
    ['providers.docker.host: unknown key'],
  ],
  [
    'file with neither key',
    'providers:\n  file: {}\n',
    ['providers.file: expected filename or directory'],
  ],
  [
    'file with both keys',
    'providers:\n  file:\n    filename: a.yml\n    directory: d\n',
    ['providers.file.directory: cannot be used together with filename'],
  ],
  [
    'unknown file key',
    'providers:\n  file:\n    filename: a.yml\n    watch: true\n',
    ['providers.file.watch: unknown key'],
  ],
  [
    'filename as a list',
    'providers:\n  file:\n    filename: [a.yml]\n',
    ['providers.file.filename: expected a string'],
  ],
  [
    'a swarm endpoint scheme',
    'providers:\n  swarm:\n    endpoint: ftp://x\n',
    ['providers.swarm.endpoint: expected a unix://, tcp://, http:// or https:// address'],
  ],
  [
    'unknown swarm key',
    'providers:\n  swarm:\n    host: x\n',
    ['providers.swarm.host: unknown key'],
  ],
  [
    'swarm tlsVerify as a word',
    'providers:\n  swarm:\n    tlsVerify: nah\n',
    ['providers.swarm.tlsVerify: expected true or false'],
  ],
  [
    'unknown kubernetes key',
    'providers:\n  kubernetes:\n    namespace: x\n',
    ['providers.kubernetes.namespace: unknown key'],
  ],
  [
    'tlsInsecure as a number',
    'providers:\n  kubernetes:\n    tlsInsecure: 2\n',
    ['providers.kubernetes.tlsInsecure: expected true or false'],
  ],
  [
    'a namespace as a mapping',
    'providers:\n  kubernetes:\n    namespaces: [{a: 1}]\n',
    ['providers.kubernetes.namespaces[0]: expected a string'],
  ],
  [
    'an unquoted !namespace (a YAML tag on nothing) and a name Kubernetes cannot have',
    'providers:\n  kubernetes:\n    namespaces:\n      - !kube-system\n      - Shop\n      - "!ok"\n',
    [
      'providers.kubernetes.namespaces[0]: empty namespace (an unquoted !name is read by YAML as a tag: write "!name")',
      'providers.kubernetes.namespaces[1]: expected a namespace name, or "!name" to exclude one, got "Shop"',
    ],
  ],
  [
    'namespaces as a word',
    'providers:\n  kubernetes:\n    namespaces: default\n',
    ['providers.kubernetes.namespaces: expected a list'],
  ],
  [
    'a missing tokenFile',
    `providers:\n  kubernetes:\n    tokenFile: ${MISSING}\n`,
    [`providers.kubernetes.tokenFile: cannot read "${MISSING}": no such file (ENOENT)`],
  ],
  [
    'a kubernetes tokenFile that is a directory',
    `providers:\n  kubernetes:\n    tokenFile: ${A_DIRECTORY}\n`,
    [`providers.kubernetes.tokenFile: cannot read "${A_DIRECTORY}": is a directory (EISDIR)`],
  ],
  [
    'a kubernetes tokenFile that is a dangling symlink',
    `providers:\n  kubernetes:\n    tokenFile: ${DANGLING}\n`,
    [`providers.kubernetes.tokenFile: cannot read "${DANGLING}": no such file (ENOENT)`],
  ],
  [
    'a bad namespacesExclude entry',
    'providers:\n  kubernetes:\n    namespacesExclude: [kube_system]\n',
    [
      'providers.kubernetes.namespacesExclude[0]: expected a namespace name (lower case letters, digits and "-")',
    ],
  ],
  ['an unknown provider', 'providers:\n  podman: {}\n', ['providers.podman: unknown key']],
  // metrics
  ['a path without /', 'metrics:\n  path: metrics\n', ['metrics.path: must start with "/"']],
  [
    'an addr without port',
    'metrics:\n  addr: "8080"\n',
    ['metrics.addr: expected host:port, e.g. ":8080"'],
  ],
  [
    'an addr with a bad port',
    'metrics:\n  addr: ":99999"\n',
    ['metrics.addr: expected host:port, e.g. ":8080"'],
  ],
  ['metrics as a list', 'metrics: [a]\n', ['metrics: expected a mapping']],
  ['unknown metrics key', 'metrics:\n  listen: ":8080"\n', ['metrics.listen: unknown key']],
  [
    'an addr with a host only',
    'metrics:\n  addr: localhost\n',
    ['metrics.addr: expected host:port, e.g. ":8080"'],
  ],
  ['a token as a list', 'metrics:\n  token: [a]\n', ['metrics.token: expected a string']],
  [
    'a metrics tokenFile that is a directory',
    `metrics:\n  tokenFile: ${A_DIRECTORY}\n`,
    [`metrics.tokenFile: cannot read "${A_DIRECTORY}": is a directory (EISDIR)`],
  ],
  [
    'a metrics tokenFile that is a dangling symlink',
    `metrics:\n  tokenFile: ${DANGLING}\n`,
    [`metrics.tokenFile: cannot read "${DANGLING}": no such file (ENOENT)`],
  ],
  [
    'a missing metrics tokenFile',
    `metrics:\n  tokenFile: ${MISSING}\n`,
    [`metrics.tokenFile: cannot read "${MISSING}": no such file (ENOENT)`],
  ],
  // the whole file
  ['an unknown section', 'notifs:\n  gotify: {}\n', ['notifs: unknown key']],
  ['a list at the top', '- watch\n', ['(root): expected a mapping']],
  ['a word at the top', 'watch\n', ['(root): expected a mapping']],
  ['a number at the top', '42\n', ['(root): expected a mapping']],
  [
    'an unterminated ${',
    'watch:\n  schedule: "${SCHEDULE"\n',
    ['watch.schedule: unterminated "${" (write "$$" for a literal "$")'],
  ],
  [
    'an invalid variable name',
    `watch:\n  schedule: "\${1X}"\n`,
    [
      'watch.schedule: invalid variable reference: a name is letters, digits and _ (write "$$" for a literal "$")',
    ],
  ],
];

describe('bad files', () => {
  it.each(BAD_FILES)('%s', (_what, yaml, problems) => {
    expect(problemsOf(yaml)).toEqual(problems);
  });

  it('reports every problem of a file at once', () => {
    expect(
      problemsOf(`
watch:
  workers: 0
  schedule: "* * *"
  jitter: ten
  foo: 1
defaults:
  includeTags: ["("]
regopts:
  - name: docker.io
    password: \${UNSET_PASSWORD}
  - name: docker.io
    timeout: ten
providers:
  docker:
    endpoint: ssh://host
metrics:
  path: metrics
`),
    ).toEqual([
      'regopts[0].password: environment variable UNSET_PASSWORD is not set',
      'watch.workers: expected integer >= 1',
      'watch.schedule: invalid cron expression "* * *": expected 5 or 6 fields, got 3',
      'watch.jitter: invalid duration "ten"',
      'watch.foo: unknown key',
      'defaults.includeTags[0]: invalid regular expression: missing closing ): `(`',
      'regopts[1].timeout: invalid duration "ten"',
      'regopts[1].name: duplicate name "docker.io"',
      'providers.docker.endpoint: expected a unix://, tcp://, http:// or https:// address',
      'metrics.path: must start with "/"',
    ]);
  });

  it('names the environment variable behind a bad value', () => {
    expect(
      problemsOf('providers:\n  docker: {}\n', {
        DIUN_DEFAULTS_INCLUDETAGS: '(',
        DOCKER_HOST: 'ssh://me@host',
      }),
    ).toEqual([
      'defaults.includeTags[0]: invalid regular expression: missing closing ): `(` (from DIUN_DEFAULTS_INCLUDETAGS)',
      'providers.docker.endpoint: expected a unix://, tcp://, http:// or https:// address (from DOCKER_HOST)',
    ]);
  });
});

// Problems of the file as a whole name the file, not a key.
let files = 0;
function fileProblems(content: string | Buffer, name = `file-${++files}.yml`): [string, string[]] {
  const file = join(dir, name);
  writeFileSync(file, content);
  try {
    loadConfig(file, {});
  } catch (error) {
    if (error instanceof ConfigError) return [file, error.problems];
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('files that are not a diun.yml', () => {
  it('names the line of an INI or TOML file', () => {
    const [file, problems] = fileProblems('[watch]\nworkers = 2\n');
    expect(problems).toEqual([
      `${file}: invalid YAML at line 2, column 1: Unexpected scalar at node end`,
    ]);
  });

  it('says a file of several YAML documents is one too many', () => {
    const [file, problems] = fileProblems('watch: {}\n---\ndb: {}\n');
    expect(problems).toEqual([
      `${file}: invalid YAML at line 2, column 1: more than one document (a second "---"); diun.yml is one document`,
    ]);
  });

  it('refuses a "billion laughs" file of nested aliases, naming the file', () => {
    // Nine levels of nine aliases: 9^9 strings if expanded.
    const levels = ['a0: &a0 [x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 9; i++) {
      const aliases = Array(9)
        .fill(`*a${i - 1}`)
        .join(', ');
      levels.push(`a${i}: &a${i} [${aliases}]`);
    }
    const [file, problems] = fileProblems(`${levels.join('\n')}\n`);
    expect(problems).toEqual([
      `${file}: invalid YAML: its aliases (*name) expand too far; write the values out instead`,
    ]);
  });

  it('reads binary garbage as a scalar, not a mapping', () => {
    const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, 0xff]);
    expect(fileProblems(png)[1]).toEqual(['(root): expected a mapping']);
  });

  it.each([
    ['a dangling symlink', DANGLING, 'no such file (ENOENT)'],
    ['a symlink loop', LOOP, 'too many symbolic links (ELOOP)'],
    [
      'a path below a regular file',
      THROUGH_A_FILE,
      'a part of the path is not a directory (ENOTDIR)',
    ],
  ])('names a config path that is %s', (_what, file, why) => {
    expect(() => loadConfig(file, {})).toThrow(new ConfigError([`${file}: cannot read: ${why}`]));
  });

  it('says "permission denied" where the file is not readable (not testable as root)', () => {
    const error = Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' });
    expect(describeReadError(error)).toBe('permission denied (EACCES)');
  });

  it.each([
    ['empty', ''],
    ['only a comment', '# nothing here yet\n'],
    ['every section with no value', 'watch:\ndefaults:\nregopts:\ndb:\nproviders:\nmetrics:\n'],
    ['JSON (a YAML subset)', '{"watch": {"workers": 10}}'],
  ])('loads a file that is %s with the defaults', (_what, content) => {
    const file = join(dir, `good-${++files}.yml`);
    writeFileSync(file, content);
    const { config } = loadConfig(file, {});
    expect(config.watch.workers).toBe(10);
    expect(config.regopts).toEqual([]);
    expect(config.metrics).toEqual({ addr: ':8080', path: '/metrics' });
  });
});

describe('secrets never appear in messages', () => {
  const SECRET = 'hunter2-Zq9';

  it.each([
    ['a password of the wrong type', `regopts:\n  - name: a\n    password: [${SECRET}]\n`],
    ['an unterminated ${ in a password', `regopts:\n  - name: a\n    password: "${SECRET}\${x"\n`],
    ['a bad variable in a password', `regopts:\n  - name: a\n    password: "${SECRET}\${a-b}"\n`],
    [
      'password and passwordFile',
      `regopts:\n  - name: a\n    password: ${SECRET}\n    passwordFile: /x\n`,
    ],
    ['token and tokenFile', `gotify:\n  token: ${SECRET}\n  tokenFile: /x\n`],
    [
      'a Kubernetes token of the wrong type',
      `providers:\n  kubernetes:\n    token: {a: ${SECRET}}\n`,
    ],
    ['a YAML error on the password line', `regopts:\n  - name: a\n    password: "${SECRET}\n`],
    [
      'a YAML error after the password',
      `regopts:\n  - name: a\n    password: ${SECRET}\n   bad: [\n`,
    ],
    [
      'a bad file with a good password',
      `regopts:\n  - name: a\n    password: ${SECRET}\n    timeout: x\nwatch: 1\n`,
    ],
  ])('%s', (_what, yaml) => {
    const problems = problemsOf(yaml);
    expect(problems.length).toBeGreaterThan(0);
    expect(problems.join('\n')).not.toContain(SECRET);
  });

  it('does not show the content of a *File', () => {
    const file = join(dir, 'secret');
    writeFileSync(file, `${SECRET}\n`);
    const problems = problemsOf(
      `regopts:\n  - name: a\n    passwordFile: ${file}\n    usernameFile: ${file}\n    timeout: x\nmetrics:\n  tokenFile: ${file}\n  path: x\n`,
    );
    expect(problems).toEqual([
      'regopts[0].timeout: invalid duration "x"',
      'metrics.path: must start with "/"',
    ]);
    expect(problems.join('\n')).not.toContain(SECRET);
  });

  it('does not show a password set from the environment', () => {
    const problems = problemsOf('regopts:\n  - name: a\n', {
      DIUN_REGOPTS_0_PASSWORD: SECRET,
      DIUN_REGOPTS_0_PASSWORDFILE: '/x',
    });
    expect(problems).toEqual([
      'regopts[0].passwordFile: cannot be used together with password (from DIUN_REGOPTS_0_PASSWORDFILE)',
    ]);
    expect(problems.join('\n')).not.toContain(SECRET);
  });
});
