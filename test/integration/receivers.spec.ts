import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { localPaths } from '../support/alert-rig.js';
import { startAlertmanager } from '../support/alertmanager.js';
import { listenOnLoopback, requireBinary, run, waitFor } from '../support/exec.js';

// The channel snippets of alertmanager/receivers/, each merged into the shipped alertmanager.yml
// as docs/alerts.md#channels says (its routes first under route.routes, its receivers appended),
// checked by amtool 0.25 and, for Discord, Telegram and Home Assistant, run for real against
// local stand-ins of the services' APIs.

const shippedFile = (path: string) =>
  readFileSync(new URL(`../../alertmanager/${path}`, import.meta.url), 'utf8');
const template = shippedFile('templates/diun.tmpl');

interface Receiver {
  name: string;
  [integration: string]: unknown;
}
interface Config {
  route: { routes?: unknown[] } & Record<string, unknown>;
  receivers: Receiver[];
}

function snippet(channel: string): Config {
  return parse(shippedFile(`receivers/${channel}.yml`)) as Config;
}

/** `base` with the channels' snippets merged in, as docs/alerts.md#channels tells a user to. */
function merged(base: string, channels: string[]): Config {
  const config = parse(base) as Config;
  const parts = channels.map(snippet);
  return {
    ...config,
    route: {
      ...config.route,
      routes: [...parts.flatMap((p) => p.route.routes ?? []), ...(config.route.routes ?? [])],
    },
    receivers: [...config.receivers, ...parts.flatMap((p) => p.receivers)],
  };
}

// Fields Alertmanager 0.25 lacks (later versions read the secret from the file): for Debian's
// 0.25 the test writes the file's content inline, the only change it makes to a snippet.
const inlineOn025: Record<string, [file: string, inline: string]> = {
  discord_configs: ['webhook_url_file', 'webhook_url'],
  telegram_configs: ['bot_token_file', 'bot_token'],
};
function for025(config: Config): Config {
  const receivers = config.receivers.map((receiver) => {
    const out: Receiver = { ...receiver };
    for (const [integration, [fileField, inlineField]] of Object.entries(inlineOn025)) {
      const entries = receiver[integration] as Array<Record<string, unknown>> | undefined;
      if (!entries) continue;
      out[integration] = entries.map(({ [fileField]: file, ...rest }) =>
        typeof file === 'string' ? { ...rest, [inlineField]: readFileSync(file, 'utf8') } : rest,
      );
    }
    return out;
  });
  return { ...config, receivers };
}

const secretValues = {
  'discord-webhook-url': 'https://discord.com/api/webhooks/1234567890/discord-token-abc',
  'telegram-bot-token': '123456:telegram-token-ABC',
  'slack-webhook-url': 'https://hooks.slack.com/services/T000/B000/slack-token',
  'teams-webhook-url': 'https://example.webhook.office.com/workflows/teams-token',
  'ntfy-bridge-token': 'ntfy-bridge-secret',
  'smtp-password': 'smtp-secret',
};

/** The folder Alertmanager (or amtool) reads: templates and secrets where localPaths puts them. */
async function writeFiles(dir: string, secrets: Record<string, string>): Promise<void> {
  await mkdir(join(dir, 'secrets'), { recursive: true });
  await mkdir(join(dir, 'templates'), { recursive: true });
  await writeFile(join(dir, 'templates/diun.tmpl'), template);
  for (const [name, value] of Object.entries(secrets)) {
    await writeFile(join(dir, 'secrets', name), value);
  }
}

const updateLabels = ['alertname=DiunContainerUpdateAvailable', 'severity=warning'];
const channels = ['discord', 'telegram', 'slack', 'homeassistant', 'ntfy'];

describe('channel snippets (amtool 0.25)', () => {
  const amtool = requireBinary('amtool', 'prometheus-alertmanager');
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'receivers-'));
    await writeFiles(dir, secretValues);
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** Writes `config` with its paths made local; returns the file (secrets as 0.25 needs them). */
  async function configFile(name: string, config: Config): Promise<string> {
    const file = join(dir, `${name}.yml`);
    const local = parse(localPaths(stringify(config), dir)) as Config;
    await writeFile(file, stringify(for025(local)));
    return file;
  }
  const routed = async (file: string, labels: string[]) =>
    (
      await run(amtool, ['config', 'routes', 'test', `--config.file=${file}`, ...labels])
    ).stdout.trim();

  it.each(channels)(
    '%s: merged into alertmanager.yml, passes check-config and takes the update alert',
    async (channel) => {
      const file = await configFile(channel, merged(shippedFile('alertmanager.yml'), [channel]));
      const { stdout } = await run(amtool, ['check-config', file]);
      expect(stdout).toContain('SUCCESS');
      expect(stdout).toContain(' - 2 receivers');
      expect(await routed(file, updateLabels)).toBe(channel);
      expect(await routed(file, ['alertname=DiunExporterDown', 'severity=critical'])).toBe(channel);
      // Only diun-exporter's alerts: anything else still goes by email.
      expect(await routed(file, ['alertname=Other', 'severity=warning'])).toBe('email');

      // Merged into the Gotify config too: the channel, then (continue: true) email and Gotify.
      const withGotify = await configFile(
        `${channel}.gotify`,
        merged(shippedFile('alertmanager.gotify.yml'), [channel]),
      );
      expect((await run(amtool, ['check-config', withGotify])).stdout).toContain(' - 3 receivers');
      expect(await routed(withGotify, updateLabels)).toBe(`${channel},email,gotify`);
    },
  );

  it('reads every secret from a file under /run/secrets, except the Home Assistant URL', () => {
    const secretFields: Record<string, string> = {
      discord: 'webhook_url_file',
      telegram: 'bot_token_file',
      slack: 'api_url_file',
      msteams: 'webhook_url_file',
    };
    for (const [channel, field] of Object.entries(secretFields)) {
      const [receiver] = snippet(channel).receivers;
      const [integration] = Object.values(receiver!).filter(Array.isArray) as Array<
        Array<Record<string, unknown>>
      >;
      expect(integration?.[0]?.[field], channel).toMatch(/^\/run\/secrets\/[a-z-]+$/);
    }
    // ntfy goes through the exporter's bridge: its Bearer token is the webhook's credentials_file.
    const [ntfy] = snippet('ntfy').receivers;
    const [hook] = ntfy!.webhook_configs as Array<{
      http_config: { authorization: { credentials_file: string } };
    }>;
    expect(hook!.http_config.authorization.credentials_file).toBe('/run/secrets/ntfy-bridge-token');
  });

  it('names only templates diun.tmpl defines', () => {
    const defined = new Set([...template.matchAll(/define "([^"]+)"/g)].map((m) => m[1]));
    for (const channel of [...channels, 'msteams']) {
      const used = [...shippedFile(`receivers/${channel}.yml`).matchAll(/template "([^"]+)"/g)];
      for (const [, name] of used) expect(defined, `${channel}: ${name}`).toContain(name);
    }
  });

  // msteamsv2_configs came with Alertmanager 0.28: Debian's 0.25 cannot load the snippet, so its
  // integration is checked by its fields, and its route by amtool with the integration left out.
  it('msteams: amtool 0.25 cannot load msteamsv2_configs; its fields and route are checked apart', async () => {
    const config = merged(shippedFile('alertmanager.yml'), ['msteams']);
    const whole = await configFile('msteams.whole', config);
    // amtool prints why on stdout, which run() does not keep on failure.
    const refused = spawnSync(amtool, ['check-config', whole], { encoding: 'utf8' });
    expect(refused.status).not.toBe(0);
    expect(refused.stdout).toContain('field msteamsv2_configs not found');

    const [receiver] = snippet('msteams').receivers;
    expect(receiver!.name).toBe('msteams');
    const [teams, ...more] = receiver!.msteamsv2_configs as Array<Record<string, unknown>>;
    expect(more).toEqual([]);
    // The fields of msteamsv2_config in Alertmanager's configuration reference.
    expect(Object.keys(teams!).sort()).toEqual([
      'send_resolved',
      'text',
      'title',
      'webhook_url_file',
    ]);
    expect(teams!.send_resolved).toBe(true);

    const withoutIntegration = {
      ...config,
      receivers: config.receivers.map(({ msteamsv2_configs: _, ...r }) => r),
    };
    const file = await configFile('msteams.routes', withoutIntegration);
    expect((await run(amtool, ['check-config', file])).stdout).toContain(' - 2 receivers');
    expect(await routed(file, updateLabels)).toBe('msteams');
  });
});

interface Received {
  path: string;
  contentType: string | undefined;
  body: Record<string, unknown>;
}

/**
 * Stands in for Discord (`POST /api/webhooks/ID/TOKEN`, answers 204), Telegram
 * (`POST /bot<TOKEN>/sendMessage`, answers `{"ok":true,...}`) and a Home Assistant webhook
 * trigger (`POST /api/webhook/ID`, answers 200); anything else is a 404, as there.
 */
async function startChatStandIn() {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      const text = Buffer.concat(chunks).toString('utf8');
      const body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
      received.push({ path, contentType: req.headers['content-type'], body });
      if (req.method === 'POST' && /^\/api\/webhooks\/\d+\/[^/]+$/.test(path)) {
        res.writeHead(204).end();
      } else if (req.method === 'POST' && /^\/bot[^/]+\/sendMessage$/.test(path)) {
        res.writeHead(200, { 'content-type': 'application/json' }).end(
          JSON.stringify({
            ok: true,
            result: {
              message_id: received.length,
              date: Math.floor(Date.now() / 1000),
              // Telegram's numbers are JSON numbers; the bot library sends every field as a string.
              chat: { id: Number(body.chat_id), type: 'supergroup' },
              text: body.text,
            },
          }),
        );
      } else if (req.method === 'POST' && /^\/api\/webhook\/[^/]+$/.test(path)) {
        res.writeHead(200).end();
      } else {
        res.writeHead(404).end();
      }
    });
  });
  const { port, close } = await listenOnLoopback(server);
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    received,
    to: (prefix: string) => received.filter((r) => r.path.startsWith(prefix)),
    close,
  };
}

const image = 'registry.example.org/shop/web:1.4';
const releaseUrl = 'https://github.com/shop/web/releases/tag/v1.5';

function updateAlert(container: string, annotations: Record<string, string> = {}) {
  return {
    labels: {
      alertname: 'DiunContainerUpdateAvailable',
      severity: 'warning',
      job: 'diun-exporter',
      instance: 'diun-exporter:8080',
      provider: 'docker',
      endpoint: 'local',
      container,
      image,
      compose_project: 'shop',
      compose_service: container,
    },
    annotations: {
      summary: 'A container runs an outdated image',
      update_command: `docker compose -p shop pull ${container} && docker compose -p shop up -d ${container}`,
      ...annotations,
    },
  };
}

describe('channel snippets with the real Alertmanager (live)', () => {
  it('sends one Discord post, one Telegram message and one Home Assistant webhook per group', async () => {
    const standIn = await startChatStandIn();
    const discordUrl = `${standIn.url}/api/webhooks/1234567890/discord-token-abc`;
    const telegramToken = '123456:telegram-token-ABC';
    const config = merged(shippedFile('alertmanager.yml'), [
      'discord',
      'telegram',
      'homeassistant',
    ]);
    // The test's copy: a short group_wait, and the services' addresses pointed at the stand-in.
    config.route.group_wait = '1s';
    for (const receiver of config.receivers) {
      for (const t of (receiver.telegram_configs ?? []) as Array<Record<string, unknown>>) {
        t.api_url = standIn.url;
      }
    }
    const text = stringify(config).replace('http://homeassistant.local:8123', standIn.url);
    // The template and secrets in a folder of their own (startAlertmanager's holds the config).
    const amDir = await mkdtemp(join(tmpdir(), 'receivers-am-'));
    await writeFiles(amDir, {
      'discord-webhook-url': discordUrl,
      'telegram-bot-token': telegramToken,
      'smtp-password': 'smtp-secret',
    });
    const am = await startAlertmanager(
      stringify(for025(parse(localPaths(text, amDir)) as Config)),
    ).catch(async (err: unknown) => {
      await standIn.close();
      throw err;
    });
    try {
      const alerts = [updateAlert('web', { release_url: releaseUrl }), updateAlert('worker')];
      const res = await fetch(`${am.url}/api/v2/alerts`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(alerts),
      });
      expect(res.status, await res.text()).toBe(200);
      await waitFor(() => standIn.received.length >= 3, {
        timeoutMs: 30_000,
        what: `three posts (Alertmanager log:\n${am.log()})`,
      });
      // Time for a second post to each, which must not come.
      await new Promise((r) => setTimeout(r, 2_000));
      expect(standIn.received.map((r) => r.path).sort()).toEqual([
        '/api/webhook/diun-exporter-CHANGE-ME',
        '/api/webhooks/1234567890/discord-token-abc',
        `/bot${telegramToken}/sendMessage`,
      ]);

      const title = `[FIRING:2] DiunContainerUpdateAvailable ${image}: A container runs an outdated image`;
      const expectListed = (message: string) => {
        for (const alert of alerts) {
          expect(message).toContain(`[FIRING] ${alert.labels.container} (${image})`);
          expect(message).toContain(`Update with: ${alert.annotations.update_command}`);
        }
        expect(message).toContain(`What changed: ${releaseUrl}`);
        expect(message.match(/What changed/g)).toHaveLength(1);
      };

      const [discord] = standIn.to('/api/webhooks/');
      expect(discord!.contentType).toContain('application/json');
      const embeds = discord!.body.embeds as Array<Record<string, unknown>>;
      expect(embeds).toHaveLength(1);
      expect(embeds[0]!.title).toBe(title);
      expectListed(String(embeds[0]!.description));

      const [telegram] = standIn.to('/bot');
      expect(telegram!.contentType).toContain('application/json');
      const [telegramConfig] = snippet('telegram').receivers[0]!.telegram_configs as Array<{
        chat_id: number;
      }>;
      expect(telegram!.body.chat_id).toBe(String(telegramConfig!.chat_id));
      // parse_mode '' in the snippet: plain text, so Telegram takes the `&&` of the commands.
      expect(telegram!.body.parse_mode ?? '').toBe('');
      const message = String(telegram!.body.text);
      expect(message.startsWith(`${title}\n\n`)).toBe(true);
      expectListed(message);

      const [ha] = standIn.to('/api/webhook/');
      expect(ha!.body).toMatchObject({
        version: '4',
        status: 'firing',
        receiver: 'homeassistant',
        groupLabels: { alertname: 'DiunContainerUpdateAvailable', instance: 'diun-exporter:8080' },
      });
      // What the automation of docs/alerts.md#channels reads.
      const haAlerts = ha!.body.alerts as Array<{
        status: string;
        labels: Record<string, string>;
        annotations: Record<string, string>;
      }>;
      for (const alert of alerts) {
        expect(haAlerts.find((a) => a.labels.container === alert.labels.container)).toMatchObject({
          status: 'firing',
          annotations: { update_command: alert.annotations.update_command },
        });
      }
      expect(haAlerts.map((a) => a.labels.container).sort()).toEqual(['web', 'worker']);
      expect(haAlerts[0]!.labels).toMatchObject({
        image,
        alertname: 'DiunContainerUpdateAvailable',
      });
    } finally {
      await am.stop();
      await standIn.close();
      await rm(amDir, { recursive: true, force: true });
    }
  }, 60_000);
});
