import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { configFiles } from '../../support/config-files.js';

const dir = mkdtempSync(join(tmpdir(), 'diun-exporter-alertmanager-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const PASSWORD = 'am-pr0xy-s3cret';
const TOKEN = 'am-b3arer-s3cret';
const passwordFile = join(dir, 'password');
const tokenFile = join(dir, 'token');
writeFileSync(passwordFile, `${PASSWORD}\n`);
writeFileSync(tokenFile, TOKEN);

const { load, problemsOf } = configFiles(dir);

describe('alertmanager section', () => {
  it('is off when absent', () => {
    expect(load('watch:\n  workers: 2\n').config.alertmanager).toBeUndefined();
  });

  it('takes a URL, no auth and a 5s timeout by default', () => {
    expect(load('alertmanager:\n  url: http://alertmanager:9093/\n').config.alertmanager).toEqual({
      url: 'http://alertmanager:9093',
      auth: { kind: 'none' },
      timeout: 5_000,
    });
  });

  it('reads basic auth with passwordFile, or a Bearer tokenFile', () => {
    const basic = load(
      `alertmanager:\n  url: https://am.example.org/am\n  username: exporter\n  passwordFile: ${passwordFile}\n  timeout: 2s\n`,
    ).config.alertmanager;
    expect(basic).toEqual({
      url: 'https://am.example.org/am',
      auth: { kind: 'basic', username: 'exporter', password: PASSWORD },
      timeout: 2_000,
    });
    const bearer = load(`alertmanager:\n  url: https://am.example.org\n  tokenFile: ${tokenFile}\n`)
      .config.alertmanager;
    expect(bearer?.auth).toEqual({ kind: 'bearer', token: TOKEN });
  });

  it(`is set entirely from DIUN_ALERTMANAGER_* variables, and expands \${VAR}`, () => {
    const { config } = load('watch:\n  workers: 2\n', {
      DIUN_ALERTMANAGER_URL: 'http://127.0.0.1:9093',
      DIUN_ALERTMANAGER_USERNAME: 'exporter',
      DIUN_ALERTMANAGER_PASSWORDFILE: passwordFile,
      DIUN_ALERTMANAGER_TIMEOUT: '1s',
    });
    expect(config.alertmanager).toEqual({
      url: 'http://127.0.0.1:9093',
      auth: { kind: 'basic', username: 'exporter', password: PASSWORD },
      timeout: 1_000,
    });
    const expanded = load(`alertmanager:\n  url: \${AM_URL}\n  token: \${AM_TOKEN}\n`, {
      AM_URL: 'http://am:9093',
      AM_TOKEN: TOKEN,
    }).config.alertmanager;
    expect(expanded).toMatchObject({ url: 'http://am:9093', auth: { kind: 'bearer' } });
  });

  it('names every problem by key, and never quotes a URL or a secret', () => {
    expect(problemsOf('alertmanager:\n')).toEqual([
      'alertmanager.url: required: the http:// or https:// URL of Alertmanager, e.g. "http://alertmanager:9093"',
    ]);
    const problems = problemsOf(
      `alertmanager:\n  url: ftp://user:${PASSWORD}@am\n  password: ${PASSWORD}\n  passwordFile: ${passwordFile}\n  token: ${TOKEN}\n  timeout: 0s\n`,
    );
    expect(problems).toEqual([
      'alertmanager.url: expected an http:// or https:// URL of Alertmanager, with no query string',
      'alertmanager.timeout: invalid duration "0s": must be greater than 0',
      'alertmanager.username: required with password or passwordFile (basic auth)',
      'alertmanager.token: cannot be used together with username and password: choose one',
      'alertmanager.passwordFile: cannot be used together with password',
    ]);
    expect(problems.join('\n')).not.toContain(PASSWORD);
    expect(problems.join('\n')).not.toContain(TOKEN);
  });
});
