import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { configFiles } from '../../support/config-files.js';

const dir = mkdtempSync(join(tmpdir(), 'diun-exporter-ntfy-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ACCESS_TOKEN = 'tk_AgQdq7mVBoFD37zQVN29RhuMzNIz2';
const PASSWORD = 'ntfy-pa55word';
const WEBHOOK_TOKEN = 'bridge-b3arer-s3cret';
const tokenFile = join(dir, 'access-token');
const passwordFile = join(dir, 'password');
const webhookTokenFile = join(dir, 'webhook-token');
writeFileSync(tokenFile, `${ACCESS_TOKEN}\n`);
writeFileSync(passwordFile, `${PASSWORD}\n`);
writeFileSync(webhookTokenFile, `${WEBHOOK_TOKEN}\n`);

const { load, problemsOf } = configFiles(dir);

const GOOD = `
ntfy:
  endpoint: https://ntfy.example.org/
  topic: diun-updates
  token: ${ACCESS_TOKEN}
  webhookToken: ${WEBHOOK_TOKEN}
`;

describe('ntfy section', () => {
  it('is off when absent', () => {
    expect(load('watch:\n  workers: 2\n').config.ntfy).toBeUndefined();
  });

  it('takes its defaults: priorities 5/4/3, no extra tags, 10s timeout, 3 retries, 20 a webhook, 60 a minute', () => {
    expect(load(GOOD).config.ntfy).toEqual({
      endpoint: 'https://ntfy.example.org',
      topic: 'diun-updates',
      auth: { kind: 'token', token: ACCESS_TOKEN },
      webhookToken: WEBHOOK_TOKEN,
      priorities: { critical: 5, warning: 4, info: 3 },
      tags: [],
      timeout: 10_000,
      retries: 3,
      maxMessagesPerWebhook: 20,
      maxMessagesPerMinute: 60,
    });
  });

  it('signs in as a user with passwordFile, merges priorities and reads tags', () => {
    const { config } = load(`
ntfy:
  endpoint: http://ntfy:80
  topic: updates
  username: diun
  passwordFile: ${passwordFile}
  webhookTokenFile: ${webhookTokenFile}
  priorities:
    warning: 3
    page: 5
  tags: [docker, homelab]
`);
    expect(config.ntfy).toMatchObject({
      auth: { kind: 'user', username: 'diun', password: PASSWORD },
      webhookToken: WEBHOOK_TOKEN,
      priorities: { critical: 5, warning: 3, info: 3, page: 5 },
      tags: ['docker', 'homelab'],
    });
  });

  it('publishes to an open topic with no login', () => {
    const { config } = load(
      `ntfy:\n  endpoint: https://ntfy.sh\n  topic: open\n  webhookToken: ${WEBHOOK_TOKEN}\n`,
    );
    expect(config.ntfy?.auth).toEqual({ kind: 'none' });
  });

  it(`is set entirely from DIUN_NTFY_* variables, \${VAR} expanded in the file`, () => {
    const { config } = load(`ntfy:\n  topic: \${TOPIC}\n`, {
      TOPIC: 'from-var',
      DIUN_NTFY_ENDPOINT: 'https://push.example.org',
      DIUN_NTFY_TOKENFILE: tokenFile,
      DIUN_NTFY_WEBHOOKTOKENFILE: webhookTokenFile,
      DIUN_NTFY_PRIORITIES_CRITICAL: '4',
      DIUN_NTFY_TAGS: 'docker,prod',
      DIUN_NTFY_RETRIES: '1',
      DIUN_NTFY_MAXMESSAGESPERWEBHOOK: '3',
      DIUN_NTFY_MAXMESSAGESPERMINUTE: '12',
    });
    expect(config.ntfy).toEqual({
      endpoint: 'https://push.example.org',
      topic: 'from-var',
      auth: { kind: 'token', token: ACCESS_TOKEN },
      webhookToken: WEBHOOK_TOKEN,
      priorities: { critical: 4, warning: 4, info: 3 },
      tags: ['docker', 'prod'],
      timeout: 10_000,
      retries: 1,
      maxMessagesPerWebhook: 3,
      maxMessagesPerMinute: 12,
    });
  });
});

const WITH = `  endpoint: https://ntfy.example.org\n  topic: t\n  webhookToken: ${WEBHOOK_TOKEN}\n`;

// [what, file, every problem reported]
const BAD: [string, string, string[]][] = [
  [
    'an empty section',
    'ntfy:\n',
    [
      'ntfy.endpoint: required: the http:// or https:// URL of the ntfy server, e.g. "https://ntfy.sh"',
      'ntfy.topic: required: the ntfy topic to publish to',
      'ntfy.webhookToken: required: the Bearer token Alertmanager sends to the bridge; set webhookToken or webhookTokenFile',
    ],
  ],
  [
    'a topic with a slash',
    WITH.replace('topic: t', 'topic: a/b'),
    ['ntfy.topic: expected 1 to 64 letters, digits, - or _ (an ntfy topic name)'],
  ],
  [
    'a token and a user',
    `${WITH}  token: tk_x\n  username: u\n  password: p\n`,
    ['ntfy.username: cannot be used together with token'],
  ],
  [
    'a user without password',
    `${WITH}  username: u\n`,
    ['ntfy.password: required with username; set password or passwordFile'],
  ],
  ['a password without user', `${WITH}  password: p\n`, ['ntfy.username: required with password']],
  [
    'password and passwordFile',
    `${WITH}  username: u\n  password: p\n  passwordFile: /x\n`,
    ['ntfy.passwordFile: cannot be used together with password'],
  ],
  [
    'priority 6',
    `${WITH}  priorities:\n    critical: 6\n`,
    ['ntfy.priorities.critical: expected integer 1 to 5'],
  ],
  [
    'priority 0',
    `${WITH}  priorities:\n    info: 0\n`,
    ['ntfy.priorities.info: expected integer 1 to 5'],
  ],
  [
    'an ftp URL',
    `ntfy:\n${WITH.replace('https://', 'ftp://')}`,
    ['ntfy.endpoint: expected an http:// or https:// URL of the ntfy server'],
  ],
  ['an unknown key', `${WITH}  server: x\n`, ['ntfy.server: unknown key']],
];

describe('bad ntfy sections', () => {
  it.each(BAD)('%s', (_what, yaml, expected) => {
    const file = yaml.startsWith('ntfy:') ? yaml : `ntfy:\n${yaml}`;
    expect(problemsOf(file)).toEqual(expected);
  });

  it('never quotes a token or a password in its problems', () => {
    const problems = problemsOf(
      `ntfy:\n  endpoint: ftp://u:${PASSWORD}@n\n  topic: t\n  token: ${ACCESS_TOKEN}\n  tokenFile: ${tokenFile}\n  username: u\n  password: ${PASSWORD}\n  webhookToken: ${WEBHOOK_TOKEN}\n`,
    );
    expect(problems.length).toBeGreaterThanOrEqual(3);
    expect(problems.join('\n')).not.toContain(ACCESS_TOKEN);
    expect(problems.join('\n')).not.toContain(PASSWORD);
  });
});
