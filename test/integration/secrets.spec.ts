import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DockerCli, fileDockerd, loggedInDockerCli } from '../support/dockerd.js';
import { freePort, run } from '../support/exec.js';
import { type ExporterProcess, startExporter } from '../support/exporter.js';
import { type GotifyStandIn, startGotify } from '../support/gotify.js';
import { publish, runContainer } from '../support/images.js';
import { value } from '../support/metrics-text.js';
import type { Registry } from '../support/registry.js';
import {
  startTokenRegistry,
  type TokenRegistry,
  type TokenService,
} from '../support/token-service.js';

// The exporter is run with a distinctive value in every secret it can hold, made to succeed and
// fail in every cheap way (good credentials, a wrong password, a registry down, a bad label,
// Gotify refusing and unreachable), and then everything it produced is searched for them.

const tag = randomUUID().slice(0, 8);
const secret = (what: string) => `${what}-S3CRET-${tag}-${randomUUID()}`;
const users = {
  pusher: secret('pusher-pw'),
  inline: secret('inline-pw'),
  fromfile: secret('file-pw'),
};
const secrets = {
  inlinePassword: users.inline,
  filePassword: users.fromfile,
  wrongPassword: secret('wrong-pw'),
  downPassword: secret('down-pw'),
  metricsToken: secret('metrics-token'),
  gotifyAppToken: secret('gotify-app'),
  webhookToken: secret('webhook-token'),
};
const basic = (user: string, password: string) =>
  Buffer.from(`${user}:${password}`).toString('base64');
const basics = [
  basic('inline', secrets.inlinePassword),
  basic('fromfile', secrets.filePassword),
  basic('inline', secrets.wrongPassword),
  basic('down', secrets.downPassword),
];
// A JWT (the token service signs RS256 JWTs), or an Authorization value with a credential in it.
const JWT = /eyJ[\w-]{8,}\.eyJ[\w-]{8,}\.[\w-]*/;
const CREDENTIAL_HEADER = /(?:Bearer|Basic)\s+[A-Za-z0-9+/=._-]{16,}/i;

const webhook = readFileSync(
  resolve(import.meta.dirname, '..', 'fixtures', 'alertmanager-webhook-v4.json'),
  'utf8',
);

// A dockerd of this file's own: files run in parallel, and none sees another's containers.
const dockerd = fileDockerd();

describe('secrets never leave the exporter', () => {
  const dir = mkdtempSync(join(tmpdir(), 'secrets-'));
  const containers: string[] = [];
  let tokenRegistry: TokenRegistry;
  let tokens: TokenService;
  let registry: Registry;
  let docker: DockerCli;
  let gotify: GotifyStandIn;
  let exporter: ExporterProcess;
  const produced: { what: string; text: string }[] = [];
  const images: Record<string, string> = {};

  const bearer = { authorization: `Bearer ${secrets.metricsToken}` };
  const keep = async (what: string, res: Response) => {
    const text = await res.text();
    produced.push({ what: `${what} (${res.status})`, text });
    return { status: res.status, text };
  };

  beforeAll(async () => {
    tokenRegistry = await startTokenRegistry({
      anonymous: false,
      users: {
        pusher: { password: users.pusher, push: true },
        inline: { password: users.inline },
        fromfile: { password: users.fromfile },
      },
    });
    ({ tokens, registry } = tokenRegistry);
    docker = await loggedInDockerCli(
      dockerd.host,
      mkdtempSync(join(dir, 'docker-config-')),
      registry.host,
      { name: 'pusher', password: users.pusher },
    );
    for (const name of ['inline', 'fromfile', 'wrong', 'badlabel']) {
      images[name] = `${registry.host}/private/${name}:1.0`;
      await publish(docker, images[name]!, `secrets ${tag} ${name}`);
    }
    const labels: Record<string, Record<string, string>> = {
      inline: { 'diun.watch_repo': 'true' },
      fromfile: {},
      wrong: { 'diun.regopt': 'wrong' },
      badlabel: { 'diun.max_tags': 'abc', 'diun.include_tags': '(' },
    };
    for (const [name, l] of Object.entries(labels)) {
      containers.push(`secrets-${name}-${tag}`);
      await runContainer(docker, images[name]!, containers.at(-1)!, l);
    }

    gotify = await startGotify(secrets.gotifyAppToken);
    const passwordFile = join(dir, 'password');
    writeFileSync(passwordFile, `${secrets.filePassword}\n`);
    const webhookTokenFile = join(dir, 'webhook-token');
    writeFileSync(webhookTokenFile, `${secrets.webhookToken}\n`);
    const down = `127.0.0.1:${await freePort()}`;
    images.down = `${down}/private/down:1.0`;
    const listFile = join(dir, 'images.yml');
    writeFileSync(listFile, `- name: ${images.down}\n`);

    exporter = await startExporter(
      {
        watch: { schedule: '', workers: 4 },
        regopts: [
          {
            name: `${registry.host}/private/inline`,
            selector: 'image',
            username: 'inline',
            password: secrets.inlinePassword,
          },
          {
            name: `${registry.host}/private/fromfile`,
            selector: 'image',
            username: 'fromfile',
            passwordFile,
          },
          { name: 'wrong', selector: 'name', username: 'inline', password: secrets.wrongPassword },
          { name: down, selector: 'image', username: 'down', password: secrets.downPassword },
          {
            name: `${registry.host}/private/badlabel`,
            selector: 'image',
            username: 'inline',
            password: secrets.inlinePassword,
          },
        ],
        providers: {
          docker: { endpoint: dockerd.host, watchByDefault: true },
          file: { filename: listFile },
        },
        metrics: { token: secrets.metricsToken },
        gotify: {
          endpoint: gotify.url,
          // biome-ignore lint/suspicious/noTemplateCurlyInString: the exporter expands ${VAR}
          token: '${SECRETS_SPEC_GOTIFY_TOKEN}',
          webhookTokenFile,
          timeout: '1s',
          retries: 1,
        },
      },
      { token: secrets.metricsToken, env: { SECRETS_SPEC_GOTIFY_TOKEN: secrets.gotifyAppToken } },
    );
  });

  afterAll(async () => {
    await exporter?.stop();
    await gotify?.stop();
    await dockerd.docker(['rm', '-f', ...containers]).catch(() => undefined);
    await tokenRegistry?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('succeeds and fails as set up, and shows none of it in logs, metrics, API or state', async () => {
    const s = await exporter.until(
      (s) =>
        value(s, 'diun_image_last_check_status', { image: images.inline!, status: 'new' }) === 1 &&
        value(s, 'diun_image_last_check_status', { image: images.down!, status: 'error' }) === 1,
      'the first run to check every image',
    );
    // The good credentials work, inline and from a file; the wrong password is an auth failure.
    expect(
      value(s, 'diun_image_last_check_status', { image: images.fromfile!, status: 'new' }),
    ).toBe(1);
    expect(
      value(s, 'diun_image_last_check_status', { image: images.wrong!, status: 'error' }),
    ).toBe(1);
    expect(
      value(s, 'diun_image_check_failures_total', { provider: 'docker', reason: 'auth' }),
    ).toBe(1);
    expect(tokens.requests()).toBeGreaterThan(0);
    produced.push({ what: 'first scrape', text: await exporter.scrapeText() });

    // A triggered check (with the cached tokens now), and the API with its error messages.
    const check = await keep(
      'POST /api/v1/check',
      await fetch(`${exporter.url}/api/v1/check`, { method: 'POST', headers: bearer }),
    );
    expect(check.status).toBe(200);
    const api = await keep(
      'GET /api/v1/images',
      await fetch(`${exporter.url}/api/v1/images`, { headers: bearer }),
    );
    const rows = (JSON.parse(api.text) as { images: { image: string; lastError: string }[] })
      .images;
    expect(rows.find((r) => r.image === images.wrong)?.lastError).toBeTruthy();
    expect(rows.find((r) => r.image === images.down)?.lastError).toBeTruthy();
    const wrongToken = await fetch(`${exporter.url}/api/v1/images`, {
      headers: { authorization: 'Bearer nope' },
    });
    expect((await keep('GET /api/v1/images, wrong token', wrongToken)).status).toBe(401);
    const noToken = await fetch(`${exporter.url}/api/v1/check`, { method: 'POST' });
    expect((await keep('POST /api/v1/check, no token', noToken)).status).toBe(401);
    await keep('GET /nothing', await fetch(`${exporter.url}/nothing`, { headers: bearer }));

    // The Gotify bridge: delivered, refused by Gotify, Gotify unreachable, a bad webhook token.
    const post = (token: string, body = webhook) =>
      fetch(`${exporter.url}/api/v1/alertmanager/gotify`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body,
      });
    expect((await keep('gotify delivered', await post(secrets.webhookToken))).status).toBe(200);
    gotify.failNext(4, 401);
    expect((await keep('gotify refused', await post(secrets.webhookToken))).status).toBe(502);
    gotify.failNext(0);
    await gotify.setMode('down');
    expect((await keep('gotify down', await post(secrets.webhookToken))).status).toBe(502);
    expect((await keep('gotify bad token', await post(secrets.gotifyAppToken))).status).toBe(401);
    const badBody = await post(secrets.webhookToken, '{"alerts": [');
    expect((await keep('gotify bad body', badBody)).status).toBe(400);
    produced.push({ what: 'last scrape', text: await exporter.scrapeText() });

    // `check --json` on the same configuration: its table, JSON and log.
    const cli = resolve(import.meta.dirname, '..', '..', 'dist', 'cli.js');
    const once = await run(
      process.execPath,
      [cli, 'check', '--json', '--config', exporter.configFile],
      {
        env: { ...process.env, SECRETS_SPEC_GOTIFY_TOKEN: secrets.gotifyAppToken },
      },
    );
    expect(once.stdout).toContain(images.wrong);
    produced.push({ what: 'check --json', text: `${once.stdout}\n${once.stderr}` });

    // The state file is written on shutdown.
    expect(await exporter.kill('SIGTERM')).toBe(0);
    produced.push({ what: 'state file', text: readFileSync(exporter.statePath, 'utf8') });
    produced.push({ what: 'stdout and stderr', text: exporter.output() });
    expect(exporter.output()).toMatch(/gotify: message not delivered/);

    const needles = [...Object.values(secrets), users.pusher, ...basics];
    const leaks = (text: string) => [
      ...needles.filter((n) => text.includes(n)),
      ...[JWT, CREDENTIAL_HEADER, /S3CRET/].flatMap((re) => re.exec(text)?.[0] ?? []),
    ];
    // The search finds what it looks for: a token as the token service issues it, a Basic header.
    const issued = await fetch(`${tokens.realm}?service=${tokens.service}`, {
      headers: { authorization: `Basic ${basic('inline', secrets.inlinePassword)}` },
    });
    const { token } = (await issued.json()) as { token: string };
    expect(leaks(`x Authorization: Bearer ${token} y`)).toHaveLength(2);
    expect(leaks(`x ${basics[1]} y`)).toHaveLength(1);
    for (const { what, text } of produced) expect(leaks(text), what).toEqual([]);
  });
});
