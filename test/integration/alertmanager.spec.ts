import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { localPaths } from '../support/alert-rig.js';
import { type Alertmanager, startAlertmanager } from '../support/alertmanager.js';
import { requireBinary, run, waitFor } from '../support/exec.js';
import { type SmtpServer, startSmtpServer, visibleText } from '../support/smtp.js';

// The shipped Alertmanager config, checked and routed by amtool, then run for real with only its
// hosts and paths changed: smtp.example.org:587 and diun-exporter:8080 become local stand-ins.
const shipped = readFileSync(
  new URL('../../alertmanager/alertmanager.gotify.yml', import.meta.url),
  'utf8',
);
const template = readFileSync(
  new URL('../../alertmanager/templates/diun.tmpl', import.meta.url),
  'utf8',
);
const smtpPassword = 'smtp-secret-Ä1';
const bridgeToken = 'bridge-token-0123456789';
const secrets = {
  'secrets/smtp-password': smtpPassword,
  'secrets/gotify-bridge-token': bridgeToken,
  'templates/diun.tmpl': template,
};
const bridgePath = '/api/v1/alertmanager/gotify';

interface AlertmanagerConfig {
  route: { routes?: unknown[] } & Record<string, unknown>;
  receivers: Array<{ name: string }>;
}
const image = 'registry.example.org/shop/web:1.4';

/**
 * A shipped config with the per-image routing of docs/alerts.md: the first YAML block of its
 * "per-image notifications" section merged into `route:`, as the section tells a user to.
 */
function perImageConfig(config: string): string {
  const docs = readFileSync(new URL('../../docs/alerts.md', import.meta.url), 'utf8');
  const section = docs.slice(docs.indexOf('### per-image notifications'));
  const block = /```yaml\n([\s\S]*?)```/.exec(section)?.[1];
  if (!block) throw new Error('docs/alerts.md: no YAML block under "per-image notifications"');
  const snippet = parse(block) as Pick<AlertmanagerConfig, 'route'>;
  const parsed = parse(config) as AlertmanagerConfig;
  return stringify({ ...parsed, route: { ...parsed.route, ...snippet.route } });
}

describe('alertmanager config (amtool)', () => {
  const amtool = requireBinary('amtool', 'prometheus-alertmanager');
  let dir: string;
  let configFile: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'amtool-'));
    for (const [name, content] of Object.entries(secrets)) {
      await mkdir(join(dir, name, '..'), { recursive: true });
      await writeFile(join(dir, name), content);
    }
    configFile = join(dir, 'alertmanager.yml');
    await writeFile(configFile, localPaths(shipped, dir));
  });

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('passes amtool check-config, template included', async () => {
    const { stdout } = await run(amtool, ['check-config', configFile]);
    expect(stdout).toContain('SUCCESS');
    expect(stdout).toContain(' - 2 receivers');
    // DiunExporterDown over per-image alerts; DiunContainerUpdateAvailable over
    // DiunUpdatePendingTooLong of the same image.
    expect(stdout).toContain(' - 2 inhibit rules');
    expect(stdout).toContain(' - 1 templates');
  });

  const routes = [
    {
      what: 'an update alert (warning)',
      labels: ['alertname=DiunContainerUpdateAvailable', 'severity=warning'],
      receivers: 'email,gotify',
    },
    {
      what: 'a newer version (info)',
      labels: ['alertname=DiunNewerVersionAvailable', 'severity=info'],
      receivers: 'gotify',
    },
    {
      what: 'the Gotify bridge failing',
      labels: ['alertname=DiunGotifyBridgeFailing', 'severity=warning'],
      receivers: 'email',
    },
    {
      what: 'failing email notifications',
      labels: [
        'alertname=DiunAlertmanagerNotificationsFailing',
        'integration=email',
        'severity=warning',
      ],
      receivers: 'gotify',
    },
    {
      what: 'failing webhook notifications',
      labels: [
        'alertname=DiunAlertmanagerNotificationsFailing',
        'integration=webhook',
        'severity=warning',
      ],
      receivers: 'email',
    },
    {
      what: 'the exporter down (critical)',
      labels: ['alertname=DiunExporterDown', 'severity=critical', 'instance=diun-exporter:8080'],
      receivers: 'email,gotify',
    },
    { what: 'an alert without severity', labels: ['alertname=Other'], receivers: 'email' },
  ];
  it.each(routes)('routes $what to $receivers', async ({ labels, receivers }) => {
    const args = ['config', 'routes', 'test', `--config.file=${configFile}`, ...labels];
    const { stdout } = await run(amtool, args);
    expect(stdout.trim()).toBe(receivers);
    // amtool's own check: exits non-zero when the labels route elsewhere.
    await run(amtool, [...args.slice(0, 4), `--verify.receivers=${receivers}`, ...labels]);
  });

  it('ships alertmanager.yml as alertmanager.gotify.yml without Gotify: every alert by email', async () => {
    const base = readFileSync(
      new URL('../../alertmanager/alertmanager.yml', import.meta.url),
      'utf8',
    );
    const baseFile = join(dir, 'alertmanager.email.yml');
    await writeFile(baseFile, localPaths(base, dir));
    const { stdout } = await run(amtool, ['check-config', baseFile]);
    expect(stdout).toContain(' - 1 receivers');
    expect(base).not.toContain('receiver: gotify');
    expect(base).not.toContain(bridgePath);
    for (const { labels } of routes) {
      const args = ['config', 'routes', 'test', `--config.file=${baseFile}`, ...labels];
      expect((await run(amtool, args)).stdout.trim(), labels.join(' ')).toBe('email');
    }
    // The Gotify file is this one plus the gotify receiver and its routes, nothing else.
    const withGotify = parse(shipped) as AlertmanagerConfig;
    const email = parse(base) as AlertmanagerConfig;
    const { routes: gotifyRoutes, ...gotifyRoute } = withGotify.route;
    expect(gotifyRoutes?.length).toBeGreaterThan(0);
    expect(gotifyRoute).toEqual(email.route);
    expect(withGotify.receivers.filter((r) => r.name !== 'gotify')).toEqual(email.receivers);
    expect({ ...withGotify, route: undefined, receivers: undefined }).toEqual({
      ...email,
      route: undefined,
      receivers: undefined,
    });
  });

  it('takes the per-image routing of docs/alerts.md into either config', async () => {
    for (const [name, text] of [
      ['alertmanager.gotify.yml', shipped],
      [
        'alertmanager.email.yml',
        readFileSync(new URL('../../alertmanager/alertmanager.yml', import.meta.url), 'utf8'),
      ],
    ] as const) {
      const file = join(dir, `per-image.${name}`);
      await writeFile(file, localPaths(perImageConfig(text), dir));
      const { stdout } = await run(amtool, ['check-config', file]);
      expect(stdout, name).toContain('SUCCESS');
      const { route } = parse(perImageConfig(text)) as AlertmanagerConfig;
      expect(route.group_by).toEqual(['alertname', 'image']);
      expect(route.repeat_interval).toBe('24h');
      // Only the grouping changed: every alert still reaches the same receivers.
      for (const { labels, receivers } of routes) {
        const args = ['config', 'routes', 'test', `--config.file=${file}`, ...labels];
        const expected = name === 'alertmanager.gotify.yml' ? receivers : 'email';
        expect((await run(amtool, args)).stdout.trim(), labels.join(' ')).toBe(expected);
      }
    }
  });

  it('renders an email that marks resolved alerts and shows digests when present', async () => {
    const alert = (status: string, container: string, extra: Record<string, string> = {}) => ({
      status,
      labels: { alertname: 'DiunContainerUpdateAvailable', severity: 'warning', container, image },
      annotations: { update_command: `docker compose -p app up -d ${container}`, ...extra },
      startsAt: '2026-11-28T10:00:00Z',
      endsAt: status === 'resolved' ? '2026-11-28T12:00:00Z' : '0001-01-01T00:00:00Z',
    });
    const render = async (
      alerts: Array<{ labels: Record<string, string> }>,
      status: string,
      what: string,
    ) => {
      const data = join(dir, 'data.json');
      await writeFile(
        data,
        JSON.stringify({
          receiver: 'email',
          status,
          alerts,
          groupLabels: { alertname: 'DiunContainerUpdateAvailable' },
          // As Alertmanager computes them: the labels every alert of the group has alike.
          commonLabels: Object.fromEntries(
            Object.entries(alerts[0]?.labels ?? {}).filter(([k, v]) =>
              alerts.every((a) => a.labels[k] === v),
            ),
          ),
          commonAnnotations: { summary: 'A container runs an outdated image' },
          externalURL: 'http://alertmanager:9093',
        }),
      );
      const { stdout } = await run(amtool, [
        'template',
        'render',
        `--template.glob=${join(dir, 'templates/*.tmpl')}`,
        '--template.type=html',
        `--template.data=${data}`,
        `--template.text={{ template "${what}" . }}`,
      ]);
      return stdout;
    };
    const mixed = [
      alert('firing', 'web', { local_digest: 'sha256:aaa', remote_digest: 'sha256:bbb' }),
      alert('resolved', 'worker'),
    ];
    const text = visibleText(await render(mixed, 'firing', 'diun.email.html'));
    expect(text).toContain('1 firing, 1 resolved.');
    expect(text).toContain('[FIRING] web Container web');
    expect(text).toContain('Running digest sha256:aaa Registry digest sha256:bbb');
    expect(text).toContain('Update with: docker compose -p app up -d web');
    expect(text).toContain('[RESOLVED] worker Container worker');
    expect(text).toContain('Resolved 2026-11-28 12:00:00 UTC');
    // A resolved container needs no command.
    expect(text).not.toContain('up -d worker');

    // A pod's alert names its namespace, owner and pod, not a Docker endpoint.
    const pod = alert('firing', 'nginx', {
      update_command: 'kubectl -n shop rollout restart deployment/web',
    });
    pod.labels = {
      ...pod.labels,
      endpoint: 'kubernetes',
      k8s_namespace: 'shop',
      k8s_owner: 'deployment/web',
      pod: 'web-7c5ddbdf54-x2k9q',
    } as typeof pod.labels;
    const k8s = visibleText(await render([pod], 'firing', 'diun.email.html'));
    expect(k8s).toContain('Namespace shop Owner deployment/web Pod web-7c5ddbdf54-x2k9q');
    expect(k8s).not.toContain('Docker endpoint');
    expect(k8s).toContain('Update with: kubectl -n shop rollout restart deployment/web');

    const resolved = [alert('resolved', 'web'), alert('resolved', 'worker')];
    expect(await render(resolved, 'resolved', 'diun.email.subject')).toBe(
      `[RESOLVED] DiunContainerUpdateAvailable ${image}: A container runs an outdated image`,
    );

    // One exporter's group of several images: a table of every firing container first, and a
    // subject that names no image.
    const other = 'registry.example.org/shop/db:16';
    const db = alert('firing', 'db');
    db.labels = { ...db.labels, image: other };
    const several = [alert('firing', 'web'), db, alert('resolved', 'worker')];
    expect(await render(several, 'firing', 'diun.email.subject')).toBe(
      '[FIRING:2] DiunContainerUpdateAvailable: A container runs an outdated image',
    );
    const listed = visibleText(await render(several, 'firing', 'diun.email.html'));
    expect(listed).toContain(
      `2 firing, 1 resolved. Image Container Update with ${image} web docker compose -p app up -d web ${other} db docker compose -p app up -d db [FIRING] web`,
    );
    // One firing alert needs no table.
    expect(visibleText(await render(mixed, 'firing', 'diun.email.html'))).not.toContain(
      'Image Container Update with',
    );
  });
});

interface WebhookPost {
  path: string;
  authorization: string | undefined;
  body: {
    version: string;
    status: string;
    receiver: string;
    groupLabels: Record<string, string>;
    alerts: Array<{ status: string; labels: Record<string, string> }>;
  };
}

/** Stands in for the exporter's bridge URL: records each post and answers 200. */
async function startRecorder(): Promise<{
  url: string;
  posts: WebhookPost[];
  close(): Promise<void>;
}> {
  const posts: WebhookPost[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      posts.push({
        path: req.url ?? '',
        authorization: req.headers.authorization,
        body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as WebhookPost['body'],
      });
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `127.0.0.1:${port}`,
    posts,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

interface Stack {
  am: Alertmanager;
  smtp: SmtpServer;
  recorder: Awaited<ReturnType<typeof startRecorder>>;
  post(alerts: unknown[]): Promise<void>;
  stop(): Promise<void>;
}

/** Alertmanager with the shipped config (or `shippedConfig`), a test SMTP relay and the bridge recorder. */
async function startStack(shippedConfig = shipped): Promise<Stack> {
  const smtp = await startSmtpServer({
    username: 'diun-exporter@example.org',
    password: smtpPassword,
  });
  const recorder = await startRecorder();
  const config = shippedConfig
    .replaceAll('smtp.example.org:587', smtp.smarthost)
    .replaceAll('diun-exporter:8080', recorder.url);
  const am = await startAlertmanager(localPaths(config, '$DIR'), secrets, {
    env: { SSL_CERT_FILE: smtp.certFile },
  }).catch(async (err: unknown) => {
    await Promise.all([smtp.close(), recorder.close()]);
    throw err;
  });
  return {
    am,
    smtp,
    recorder,
    async post(alerts) {
      const res = await fetch(`${am.url}/api/v2/alerts`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(alerts),
      });
      expect(res.status, await res.text()).toBe(200);
    },
    async stop() {
      await am.stop();
      await Promise.all([smtp.close(), recorder.close()]);
    },
  };
}

const hubLink = 'https://registry.example.org/shop/web';
const exporter = { job: 'diun-exporter', instance: 'diun-exporter:8080' };

/** A DiunContainerUpdateAvailable alert as the shipped rule would send it. */
function updateAlert(
  container: string,
  compose?: { project: string; service: string },
  labels: Record<string, string> = {},
  annotations: Record<string, string> = {},
) {
  const command = compose
    ? `docker compose -p ${compose.project} pull ${compose.service} && docker compose -p ${compose.project} up -d ${compose.service}`
    : `docker pull ${image} && docker rm -f ${container} && docker run ... (recreate ${container} with the same options)`;
  return {
    labels: {
      alertname: 'DiunContainerUpdateAvailable',
      severity: 'warning',
      ...exporter,
      provider: 'docker',
      endpoint: 'local',
      container,
      image,
      ...(compose && { compose_project: compose.project, compose_service: compose.service }),
      ...labels,
    },
    annotations: {
      summary: 'A container runs an outdated image',
      description: `Container ${container} runs ${image}, which has a newer digest.`,
      update_command: command,
      hub_link: hubLink,
      since: '2026-11-28 09:30:00 UTC',
      runbook_url:
        'https://github.com/diun-exporter/diun-exporter/blob/main/docs/alerts.md#diuncontainerupdateavailable',
      ...annotations,
    },
  };
}

describe('alertmanager with the shipped config (live)', () => {
  // group_wait is 30s: each test waits that long once; the two run side by side.
  it.concurrent('sends one email listing every container of an image and one Gotify bridge post', async ({
    expect,
  }) => {
    const stack = await startStack();
    try {
      const alerts = [
        updateAlert('shop-web-1', { project: 'shop', service: 'web' }),
        updateAlert('shop-web-2', { project: 'shop', service: 'web' }),
        updateAlert(
          'web-standalone',
          undefined,
          {},
          { local_digest: 'sha256:1111', remote_digest: 'sha256:2222' },
        ),
      ];
      await stack.post(alerts);

      const [mail] = await stack.smtp.waitForMessages(1);
      await waitFor(() => stack.recorder.posts.length >= 1, {
        timeoutMs: 45_000,
        what: 'the bridge post',
      });
      expect(stack.smtp.messages()).toHaveLength(1);
      expect(stack.recorder.posts).toHaveLength(1);

      expect(mail!.tls).toBe(true);
      expect(mail!.auth).toMatchObject({ username: 'diun-exporter@example.org' });
      expect(mail!.auth!.password).toBe(smtpPassword);
      expect(mail!.to).toEqual(['ops@example.org']);
      expect(mail!.subject).toBe(
        `[FIRING:3] DiunContainerUpdateAvailable ${image}: A container runs an outdated image`,
      );
      const text = visibleText(mail!.html ?? '');
      for (const alert of alerts) {
        expect(text).toContain(alert.labels.container);
        expect(text).toContain(alert.annotations.update_command);
      }
      expect(text).toContain('Compose project shop');
      expect(text).toContain('Compose service web');
      expect(text).toContain(`Registry page ${hubLink}`);
      expect(text).toContain('Since 2026-11-28 09:30:00 UTC');
      expect(text).toContain('Running digest sha256:1111 Registry digest sha256:2222');
      expect(mail!.html).toContain(`href="${hubLink}"`);

      const [post] = stack.recorder.posts;
      // One Gotify message per group, not per alert.
      expect(post!.path).toBe(`${bridgePath}?per=group`);
      expect(post!.authorization).toBe(`Bearer ${bridgeToken}`);
      expect(post!.body).toMatchObject({
        version: '4',
        status: 'firing',
        receiver: 'gotify',
        // Grouped by exporter (instance) since the quiet defaults, no longer by image.
        groupLabels: { alertname: 'DiunContainerUpdateAvailable', instance: exporter.instance },
      });
      expect(post!.body.alerts.map((a) => a.labels.container).sort()).toEqual([
        'shop-web-1',
        'shop-web-2',
        'web-standalone',
      ]);
    } finally {
      await stack.stop();
    }
  }, 90_000);

  it.concurrent('sends nothing for a per-image alert while DiunExporterDown fires for the same instance', async ({
    expect,
  }) => {
    const stack = await startStack();
    try {
      const silenced = updateAlert('inhibited-web');
      // The same alert from another exporter (its own group): not inhibited, so it is sent alone.
      const other = updateAlert('other-web', undefined, { instance: 'other-exporter:8080' });
      await stack.post([silenced, other]);
      // Posted after, so its group is flushed after the per-image groups have been.
      await stack.post([
        {
          labels: { alertname: 'DiunExporterDown', severity: 'critical', ...exporter },
          annotations: { summary: 'The diun-exporter target is down' },
        },
      ]);

      const mails = await stack.smtp.waitForMessages(2);
      await waitFor(() => stack.recorder.posts.length >= 2, {
        timeoutMs: 45_000,
        what: 'two bridge posts',
      });
      const subjects = mails.map((m) => m.subject).sort();
      expect(subjects).toEqual([
        '[FIRING:1] DiunContainerUpdateAvailable registry.example.org/shop/web:1.4: A container runs an outdated image',
        '[FIRING:1] DiunExporterDown: The diun-exporter target is down',
      ]);
      const mailed = mails.map((m) => visibleText(m.html ?? '')).join('\n');
      expect(mailed).toContain('other-web');
      expect(mailed).not.toContain('inhibited-web');
      const posted = stack.recorder.posts.flatMap((p) => p.body.alerts.map((a) => a.labels));
      expect(posted.map((l) => l.container ?? l.alertname).sort()).toEqual([
        'DiunExporterDown',
        'other-web',
      ]);

      // Alertmanager's own view: the alert is held back by the DiunExporterDown alert.
      const res = await fetch(
        `${stack.am.url}/api/v2/alerts?filter=${encodeURIComponent('container="inhibited-web"')}`,
      );
      const [held] = (await res.json()) as Array<{
        status: { state: string; inhibitedBy: string[] };
      }>;
      expect(held?.status.state).toBe('suppressed');
      expect(held?.status.inhibitedBy).toHaveLength(1);
    } finally {
      await stack.stop();
    }
  }, 90_000);

  it.concurrent('sends the updates of several images once with the shipped grouping, once per image with the per-image one', async ({
    expect,
  }) => {
    const [grouped, perImage] = await Promise.all([
      startStack(),
      startStack(perImageConfig(shipped)),
    ]);
    try {
      const db = 'registry.example.org/shop/db:16';
      const alerts = [
        updateAlert('shop-web-1', { project: 'shop', service: 'web' }),
        updateAlert('shop-db-1', undefined, { image: db }),
      ];
      await Promise.all([grouped.post(alerts), perImage.post(alerts)]);

      const [mail] = await grouped.smtp.waitForMessages(1);
      const perImageMails = await perImage.smtp.waitForMessages(2);
      await waitFor(
        () => grouped.recorder.posts.length >= 1 && perImage.recorder.posts.length >= 2,
        {
          timeoutMs: 45_000,
          what: 'the bridge posts',
        },
      );
      expect(grouped.smtp.messages()).toHaveLength(1);
      expect(grouped.recorder.posts).toHaveLength(1);
      expect(mail!.subject).toBe(
        '[FIRING:2] DiunContainerUpdateAvailable: A container runs an outdated image',
      );
      const text = visibleText(mail!.html ?? '');
      for (const alert of alerts) {
        expect(text).toContain(
          `${alert.labels.image} ${alert.labels.container} ${alert.annotations.update_command}`,
        );
      }
      expect(grouped.recorder.posts[0]!.body.alerts).toHaveLength(2);

      expect(perImage.smtp.messages()).toHaveLength(2);
      expect(perImageMails.map((m) => m.subject).sort()).toEqual([
        `[FIRING:1] DiunContainerUpdateAvailable ${db}: A container runs an outdated image`,
        `[FIRING:1] DiunContainerUpdateAvailable ${image}: A container runs an outdated image`,
      ]);
      expect(perImage.recorder.posts.map((p) => p.body.groupLabels.image).sort()).toEqual([
        db,
        image,
      ]);
    } finally {
      await Promise.all([grouped.stop(), perImage.stop()]);
    }
  }, 90_000);

  it.concurrent('holds back DiunUpdatePendingTooLong of an image whose containers are reported', async ({
    expect,
  }) => {
    const stack = await startStack();
    try {
      const entry = 'registry.example.org/pinned/tool:2';
      const tooLong = (forImage: string) => ({
        labels: {
          alertname: 'DiunUpdatePendingTooLong',
          severity: 'warning',
          ...exporter,
          provider: forImage === entry ? 'file' : 'docker',
          image: forImage,
        },
        annotations: { summary: 'An image update has waited more than 7 days' },
      });
      await stack.post([updateAlert('shop-web-1'), tooLong(image), tooLong(entry)]);

      const mails = await stack.smtp.waitForMessages(2);
      await waitFor(() => stack.recorder.posts.length >= 2, {
        timeoutMs: 45_000,
        what: 'two bridge posts',
      });
      // The file entry has no container alert: its reminder is sent, the other one is not.
      expect(mails.map((m) => m.subject).sort()).toEqual([
        `[FIRING:1] DiunContainerUpdateAvailable ${image}: A container runs an outdated image`,
        `[FIRING:1] DiunUpdatePendingTooLong ${entry}: An image update has waited more than 7 days`,
      ]);
      const res = await fetch(
        `${stack.am.url}/api/v2/alerts?filter=${encodeURIComponent('alertname="DiunUpdatePendingTooLong"')}`,
      );
      const states = (
        (await res.json()) as Array<{ labels: Record<string, string>; status: { state: string } }>
      ).map((a) => [a.labels.image, a.status.state]);
      expect(states.sort()).toEqual([
        [entry, 'active'],
        [image, 'suppressed'],
      ]);
    } finally {
      await stack.stop();
    }
  }, 90_000);
});
