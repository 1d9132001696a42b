import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { configFiles } from '../../support/config-files.js';

const dir = mkdtempSync(join(tmpdir(), 'diun-exporter-gotify-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const APP_TOKEN = 'AzGotifyApp.t0ken';
const WEBHOOK_TOKEN = 'bridge-b3arer-s3cret';
const appTokenFile = join(dir, 'app-token');
const webhookTokenFile = join(dir, 'webhook-token');
writeFileSync(appTokenFile, `${APP_TOKEN}\n`);
writeFileSync(webhookTokenFile, `${WEBHOOK_TOKEN}\r\n`);
const A_DIRECTORY = join(dir, 'a-directory');
mkdirSync(A_DIRECTORY);
// Root reads a mode-000 file, so the unreadable token file is a dangling symlink.
const DANGLING = join(dir, 'dangling-link');
symlinkSync(join(dir, 'deleted-token'), DANGLING);

const { load, problemsOf } = configFiles(dir);

const GOOD = `
gotify:
  endpoint: https://gotify.example.org/
  token: ${APP_TOKEN}
  webhookToken: ${WEBHOOK_TOKEN}
`;

describe('gotify section', () => {
  it('is off when absent', () => {
    expect(load('watch:\n  workers: 2\n').config.gotify).toBeUndefined();
  });

  it('takes its defaults: priorities 8/5/2, 10s timeout, 3 retries, 20 a webhook, 60 a minute', () => {
    expect(load(GOOD).config.gotify).toEqual({
      // No trailing slash, so messages go to {endpoint}/message.
      endpoint: 'https://gotify.example.org',
      token: APP_TOKEN,
      webhookToken: WEBHOOK_TOKEN,
      priorities: { critical: 8, warning: 5, info: 2 },
      timeout: 10_000,
      retries: 3,
      maxMessagesPerWebhook: 20,
      maxMessagesPerMinute: 60,
    });
  });

  it('merges priorities over the defaults, and reads timeout and retries', () => {
    const { config } = load(`
gotify:
  endpoint: http://gotify:80/sub/path
  token: ${APP_TOKEN}
  webhookToken: ${WEBHOOK_TOKEN}
  priorities:
    critical: 10
    page: "9"
  timeout: 2s500ms
  retries: 0
`);
    expect(config.gotify).toMatchObject({
      endpoint: 'http://gotify:80/sub/path',
      priorities: { critical: 10, warning: 5, info: 2, page: 9 },
      timeout: 2_500,
      retries: 0,
    });
  });

  it('reads tokenFile and webhookTokenFile, dropping one trailing newline', () => {
    const { config } = load(`
gotify:
  endpoint: https://gotify.example.org
  tokenFile: ${appTokenFile}
  webhookTokenFile: ${webhookTokenFile}
`);
    expect(config.gotify?.token).toBe(APP_TOKEN);
    expect(config.gotify?.webhookToken).toBe(WEBHOOK_TOKEN);
  });

  it('is set entirely from DIUN_GOTIFY_* variables', () => {
    const { config } = load('watch:\n  workers: 2\n', {
      DIUN_GOTIFY_ENDPOINT: 'https://push.example.org',
      DIUN_GOTIFY_TOKENFILE: appTokenFile,
      DIUN_GOTIFY_WEBHOOKTOKENFILE: webhookTokenFile,
      DIUN_GOTIFY_PRIORITIES_WARNING: '6',
      DIUN_GOTIFY_RETRIES: '5',
      DIUN_GOTIFY_MAXMESSAGESPERWEBHOOK: '5',
      DIUN_GOTIFY_MAXMESSAGESPERMINUTE: '30',
    });
    expect(config.gotify).toEqual({
      endpoint: 'https://push.example.org',
      token: APP_TOKEN,
      webhookToken: WEBHOOK_TOKEN,
      priorities: { critical: 8, warning: 6, info: 2 },
      timeout: 10_000,
      retries: 5,
      maxMessagesPerWebhook: 5,
      maxMessagesPerMinute: 30,
    });
  });

  it(`expands \${VAR} in its values`, () => {
    const { config } = load(
      `gotify:\n  endpoint: \${GOTIFY_URL}\n  token: \${APP}\n  webhookToken: \${HOOK:-fallback}\n`,
      { GOTIFY_URL: 'http://gotify', APP: APP_TOKEN },
    );
    expect(config.gotify).toMatchObject({
      endpoint: 'http://gotify',
      token: APP_TOKEN,
      webhookToken: 'fallback',
    });
  });
});

const REQUIRED = {
  endpoint:
    'gotify.endpoint: required: the http:// or https:// URL of the Gotify server, e.g. "https://gotify.example.org"',
  token: 'gotify.token: required: the token of a Gotify application; set token or tokenFile',
  webhookToken:
    'gotify.webhookToken: required: the Bearer token Alertmanager sends to the bridge; set webhookToken or webhookTokenFile',
};
const NOT_A_URL = 'gotify.endpoint: expected an http:// or https:// URL of the Gotify server';
const WITH = `  endpoint: https://gotify.example.org\n  token: ${APP_TOKEN}\n  webhookToken: ${WEBHOOK_TOKEN}\n`;

// [what, file, env, every problem reported]
const BAD: [string, string, NodeJS.ProcessEnv, string[]][] = [
  ['an empty section', 'gotify:\n', {}, [REQUIRED.endpoint, REQUIRED.token, REQUIRED.webhookToken]],
  [
    'no webhookToken',
    `gotify:\n  endpoint: https://g\n  token: ${APP_TOKEN}\n`,
    {},
    [REQUIRED.webhookToken],
  ],
  [
    'an empty webhookToken',
    `gotify:\n  endpoint: https://g\n  token: ${APP_TOKEN}\n  webhookToken: \${UNSET:-}\n`,
    {},
    [REQUIRED.webhookToken],
  ],
  ['no token', `gotify:\n  endpoint: https://g\n  webhookToken: x\n`, {}, [REQUIRED.token]],
  ['a host without scheme', `gotify:\n${WITH.replace('https://', '')}`, {}, [NOT_A_URL]],
  ['an ftp URL', `gotify:\n${WITH.replace('https://', 'ftp://')}`, {}, [NOT_A_URL]],
  ['a query in the URL', `gotify:\n${WITH.replace('.org', '.org/?a=1')}`, {}, [NOT_A_URL]],
  [
    'a bad endpoint from the environment',
    `gotify:\n${WITH}`,
    { DIUN_GOTIFY_ENDPOINT: 'gotify:80' },
    [`${NOT_A_URL} (from DIUN_GOTIFY_ENDPOINT)`],
  ],
  ['an unknown key', `gotify:\n${WITH}  url: http://x\n`, {}, ['gotify.url: unknown key']],
  [
    'an unknown variable',
    `gotify:\n${WITH}`,
    { DIUN_GOTIFY_APPTOKEN: 'x' },
    ['DIUN_GOTIFY_APPTOKEN: unknown key gotify.apptoken'],
  ],
  [
    'token and tokenFile',
    `gotify:\n${WITH}  tokenFile: ${appTokenFile}\n`,
    {},
    ['gotify.tokenFile: cannot be used together with token'],
  ],
  [
    'webhookToken and webhookTokenFile',
    `gotify:\n${WITH}  webhookTokenFile: ${webhookTokenFile}\n`,
    {},
    ['gotify.webhookTokenFile: cannot be used together with webhookToken'],
  ],
  [
    'a tokenFile that does not exist',
    `gotify:\n  endpoint: https://g\n  tokenFile: ${join(dir, 'nope')}\n  webhookToken: x\n`,
    {},
    [`gotify.tokenFile: cannot read "${join(dir, 'nope')}": no such file (ENOENT)`],
  ],
  [
    'a webhookTokenFile that is a directory',
    `gotify:\n  endpoint: https://g\n  token: x\n  webhookTokenFile: ${A_DIRECTORY}\n`,
    {},
    [`gotify.webhookTokenFile: cannot read "${A_DIRECTORY}": is a directory (EISDIR)`],
  ],
  [
    'a tokenFile that is a dangling symlink',
    `gotify:\n  endpoint: https://g\n  tokenFile: ${DANGLING}\n  webhookToken: x\n`,
    {},
    [`gotify.tokenFile: cannot read "${DANGLING}": no such file (ENOENT)`],
  ],
  [
    'a tokenFile as a list',
    'gotify:\n  endpoint: https://g\n  tokenFile: [a]\n  webhookToken: x\n',
    {},
    ['gotify.tokenFile: expected a string'],
  ],
  [
    'a timeout as a word',
    `gotify:\n${WITH}  timeout: soon\n`,
    {},
    ['gotify.timeout: invalid duration "soon"'],
  ],
  [
    'a negative priority',
    `gotify:\n${WITH}  priorities:\n    critical: -1\n`,
    {},
    ['gotify.priorities.critical: expected integer >= 0'],
  ],
  [
    'a priority as a word',
    `gotify:\n${WITH}  priorities:\n    warning: high\n`,
    {},
    ['gotify.priorities.warning: expected integer >= 0'],
  ],
  [
    'priorities as a list',
    `gotify:\n${WITH}  priorities: [8, 5]\n`,
    {},
    ['gotify.priorities: expected a mapping'],
  ],
  [
    'a zero timeout',
    `gotify:\n${WITH}  timeout: 0s\n`,
    {},
    ['gotify.timeout: invalid duration "0s": must be greater than 0'],
  ],
  [
    'a timeout without unit',
    `gotify:\n${WITH}  timeout: 10\n`,
    {},
    ['gotify.timeout: invalid duration "10": missing unit (ns, us, ms, s, m, h)'],
  ],
  [
    'negative retries',
    `gotify:\n${WITH}  retries: -1\n`,
    {},
    ['gotify.retries: expected integer >= 0'],
  ],
  [
    'no message at all per webhook or per minute',
    `gotify:\n${WITH}  maxMessagesPerWebhook: 0\n  maxMessagesPerMinute: many\n`,
    {},
    [
      'gotify.maxMessagesPerWebhook: expected integer >= 1',
      'gotify.maxMessagesPerMinute: expected integer >= 1',
    ],
  ],
  ['the section as a list', 'gotify: [a]\n', {}, ['gotify: expected a mapping']],
];

describe('bad gotify sections', () => {
  it.each(BAD)('%s', (_what, yaml, env, expected) => {
    expect(problemsOf(yaml, env)).toEqual(expected);
  });

  it('never quotes a token or the endpoint in its problems', () => {
    const problems = problemsOf(
      `gotify:\n  endpoint: ftp://user:${APP_TOKEN}@g\n  token: ${APP_TOKEN}\n  tokenFile: ${appTokenFile}\n  webhookToken: ${WEBHOOK_TOKEN}\n  webhookTokenFile: ${webhookTokenFile}\n`,
    );
    expect(problems).toHaveLength(3);
    expect(problems.join('\n')).not.toContain(APP_TOKEN);
    expect(problems.join('\n')).not.toContain(WEBHOOK_TOKEN);
  });
});
