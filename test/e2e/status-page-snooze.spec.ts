import { randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Alertmanager, startAlertmanager } from '../support/alertmanager.js';
import { fileDockerd } from '../support/dockerd.js';
import { requireBinary, waitFor } from '../support/exec.js';
import { type ExporterProcess, startExporter } from '../support/exporter.js';
import { makeImage, publish, pushImage, runContainer } from '../support/images.js';
import { type Registry, startRegistry } from '../support/registry.js';
import { suiteTeardown } from '../support/teardown.js';

// Snooze from the status page, as a person does it: Debian's chromium with JavaScript off, the
// built exporter watching the real dockerd and registry, and the real Alertmanager 0.25 the
// silences are made in. The screenshot of a snooze goes to reports/ (the test's artefacts);
// docs/status-page-snooze.png is a copy of one.
const root = resolve(import.meta.dirname, '..', '..');
const DAY_MS = 86_400_000;

interface ApiSilence {
  id: string;
  matchers: { name: string; value: string; isRegex: boolean; isEqual?: boolean }[];
  startsAt: string;
  endsAt: string;
  createdBy: string;
  comment: string;
  status: { state: string };
}

interface ApiAlert {
  labels: Record<string, string>;
  status: { state: string; silencedBy: string[] };
}

// A dockerd of this file's own: files run in parallel, and none sees another's containers.
const dockerd = fileDockerd();

describe('snooze from the status page, in a real browser against the real Alertmanager', () => {
  const teardown = suiteTeardown();
  const docker = dockerd.docker;
  const suffix = randomUUID().slice(0, 8);
  const name = `shop-api-${suffix}`;
  const token = `snooze-${suffix}`;
  const bearer = { authorization: `Bearer ${token}` };
  let registry: Registry;
  let am: Alertmanager;
  let exporter: ExporterProcess;
  let browser: Browser;
  let image: string;

  const silences = async () =>
    (await (await fetch(`${am.url}/api/v2/silences`)).json()) as ApiSilence[];
  const ours = async () => (await silences()).filter((s) => s.createdBy === 'diun-exporter');
  const check = async () => {
    const res = await fetch(`${exporter.url}/api/v1/check`, { method: 'POST', headers: bearer });
    expect(res.status).toBe(200);
    return ((await res.json()) as { outdated: string[] }).outdated;
  };

  beforeAll(async () => {
    registry = teardown.add(await startRegistry(), (r) => r.stop());
    image = `${registry.host}/shop/api:1.0`;
    await publish(docker, image, `v1 ${suffix}`);
    await runContainer(docker, image, name, {
      'diun.enable': 'true',
      'com.docker.compose.project': 'shop',
      'com.docker.compose.service': 'api',
    });
    teardown.add(name, (n) => docker(['rm', '-f', n]));
    // One container that stays up to date, as a real page has.
    const cache = `${registry.host}/team/cache:2`;
    await publish(docker, cache, `cache ${suffix}`);
    await runContainer(docker, cache, `cache-${suffix}`, { 'diun.enable': 'true' });
    teardown.add(`cache-${suffix}`, (n) => docker(['rm', '-f', n]));
    am = teardown.add(
      await startAlertmanager('route:\n  receiver: none\nreceivers:\n  - name: none\n'),
      (a) => a.stop(),
    );
    exporter = teardown.add(
      await startExporter(
        {
          watch: { schedule: '' },
          metrics: { token },
          providers: { docker: { endpoint: dockerd.host, watchByDefault: false } },
          alertmanager: { url: am.url, timeout: '5s' },
        },
        { token },
      ),
      (e) => e.stop(),
    );
    await waitFor(async () => (await fetch(`${exporter.url}/-/ready`)).ok || undefined, {
      timeoutMs: 30_000,
      what: 'the exporter to be ready',
    });
    await makeImage(docker, image, { variant: `v2 ${suffix}` });
    await pushImage(docker, image);
    expect(await check()).toEqual([image]);
    browser = teardown.add(
      await chromium.launch({
        executablePath: requireBinary('chromium', 'chromium'),
        args: ['--no-sandbox'],
      }),
      (b) => b.close(),
    );
  });

  /** The page with the Bearer token and JavaScript off: the forms must work without it. */
  async function openPage(): Promise<Page> {
    const context = await browser.newContext({
      javaScriptEnabled: false,
      viewport: { width: 1400, height: 800 },
      extraHTTPHeaders: bearer,
    });
    const page = await context.newPage();
    expect((await page.goto(`${exporter.url}/`))?.status()).toBe(200);
    return page;
  }

  const snoozedRows = (page: Page) =>
    page.locator('#snoozed tbody tr').evaluateAll((trs) =>
      trs.map((tr) => ({
        image: tr.querySelector('td[data-label="Image"]')?.textContent?.trim(),
        until: tr.querySelector('td[data-label="Until"]')?.textContent?.trim(),
      })),
    );

  it('snoozes for 7 days: the silence is listed, in Alertmanager, silences the alert, and expires', async () => {
    const page = await openPage();
    expect(await page.locator('#snoozed').textContent()).toContain('Nothing is snoozed.');
    const pressed = Date.now();
    await page.locator('#outdated tbody tr').getByRole('button', { name: '7 days' }).click();
    await page.waitForSelector('#snoozed tbody tr');
    expect(page.url()).toBe(`${exporter.url}/`);
    expect(await snoozedRows(page)).toEqual([
      { image, until: expect.stringMatching(/\(in 7 days\)$/) },
    ]);
    expect(await page.locator('#outdated p.snoozed').textContent()).toMatch(/^snoozed until /);

    const [silence, ...others] = await ours();
    expect(others).toEqual([]);
    expect(silence).toMatchObject({
      createdBy: 'diun-exporter',
      comment: `Snoozed from the diun-exporter status page: ${image}, for 7 days`,
      status: { state: 'active' },
      matchers: [
        {
          name: 'alertname',
          value: 'DiunContainerUpdateAvailable|DiunUpdatePendingTooLong',
          isRegex: true,
          isEqual: true,
        },
        { name: 'provider', value: 'docker', isRegex: false, isEqual: true },
        { name: 'image', value: image, isRegex: false, isEqual: true },
      ],
    });
    const ends = Date.parse(silence!.endsAt) - pressed;
    expect(ends).toBeGreaterThan(7 * DAY_MS - 60_000);
    expect(ends).toBeLessThan(7 * DAY_MS + 60_000);

    // The alerts the rules would send for this image are silenced; another image's are not.
    const labels = (alertname: string, img: string) => ({
      alertname,
      severity: 'warning',
      job: 'diun-exporter',
      instance: 'exporter:8080',
      provider: 'docker',
      image: img,
      container: name,
    });
    const other = `${registry.host}/shop/other:1`;
    const posted = await fetch(`${am.url}/api/v2/alerts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(
        [
          labels('DiunContainerUpdateAvailable', image),
          labels('DiunUpdatePendingTooLong', image),
          labels('DiunContainerUpdateAvailable', other),
          labels('DiunImageCheckFailing', image),
        ].map((l) => ({ labels: l, endsAt: new Date(Date.now() + 300_000).toISOString() })),
      ),
    });
    expect(posted.status).toBe(200);
    const alerts = (await (await fetch(`${am.url}/api/v2/alerts`)).json()) as ApiAlert[];
    const state = (alertname: string, img: string) =>
      alerts.find((a) => a.labels.alertname === alertname && a.labels.image === img)?.status;
    expect(state('DiunContainerUpdateAvailable', image)).toEqual({
      state: 'suppressed',
      silencedBy: [silence!.id],
      inhibitedBy: [],
    });
    expect(state('DiunUpdatePendingTooLong', image)?.silencedBy).toEqual([silence!.id]);
    expect(state('DiunContainerUpdateAvailable', other)?.state).toBe('active');
    expect(state('DiunImageCheckFailing', image)?.state).toBe('active');

    await mkdir(join(root, 'reports'), { recursive: true });
    await page.screenshot({
      path: join(root, 'reports', 'status-page-snooze.png'),
      fullPage: true,
    });

    await page.locator('#snoozed tbody tr').getByRole('button', { name: 'expire' }).click();
    await page.waitForSelector('#snoozed p.empty');
    expect(await page.locator('#snoozed').textContent()).toContain('Nothing is snoozed.');
    expect(await page.locator('#outdated p.snoozed').count()).toBe(0);
    const after = (await silences()).find((s) => s.id === silence!.id);
    expect(after?.status.state).toBe('expired');
    await page.context().close();
  });

  it('snoozes until a newer digest: the exporter expires the silence when the digest moves', async () => {
    const page = await openPage();
    await page
      .locator('#outdated tbody tr')
      .getByRole('button', { name: 'until a newer digest' })
      .click();
    await page.waitForSelector('#snoozed tbody tr');
    const active = (await ours()).filter((s) => s.status.state === 'active');
    expect(active).toHaveLength(1);
    const { id, comment, endsAt } = active[0]!;
    const images = (await (
      await fetch(`${exporter.url}/api/v1/images`, { headers: bearer })
    ).json()) as { images: { image: string; remoteDigest: string }[] };
    const remote = images.images.find((i) => i.image === image)?.remoteDigest;
    expect(comment).toBe(
      `Snoozed from the diun-exporter status page: ${image}, until the registry has a newer digest than ${remote} (at most 90 days)`,
    );
    expect(Date.parse(endsAt) - Date.now()).toBeGreaterThan(89 * DAY_MS);

    // Another check with the same digest keeps it.
    expect(await check()).toEqual([image]);
    await page.reload();
    expect(await snoozedRows(page)).toHaveLength(1);

    await makeImage(docker, image, { variant: `v3 ${suffix}` });
    await pushImage(docker, image);
    expect(await check()).toEqual([image]);
    await page.reload();
    expect(await page.locator('#snoozed').textContent()).toContain('Nothing is snoozed.');
    expect((await silences()).find((s) => s.id === id)?.status.state).toBe('expired');
    expect(exporter.output()).toContain('snooze ended: the registry has a newer digest');
    await page.context().close();
  });

  it('refuses a form post without the right CSRF token or from another site, and makes no silence', async () => {
    const before = (await silences()).length;
    const got = await fetch(`${exporter.url}/`, { headers: bearer });
    const cookie = got.headers.get('set-cookie')?.split(';')[0] ?? '';
    expect(cookie).toMatch(/^diun_exporter_session=/);
    const csrf = /name="csrf" value="([^"]+)"/.exec(await got.text())?.[1] ?? '';
    expect(csrf).not.toBe('');
    const post = (fields: Record<string, string>, headers: Record<string, string> = {}) =>
      fetch(`${exporter.url}/snooze`, {
        method: 'POST',
        redirect: 'manual',
        headers: { ...bearer, 'content-type': 'application/x-www-form-urlencoded', ...headers },
        body: new URLSearchParams(fields).toString(),
      });
    const form = { provider: 'docker', image, for: '7d' };

    const refused = [
      await post(form, { cookie }),
      await post({ ...form, csrf: `${csrf.slice(1)}x` }, { cookie }),
      await post({ ...form, csrf }),
      await post({ ...form, csrf }, { cookie, 'sec-fetch-site': 'cross-site' }),
      await post({ ...form, csrf }, { cookie, origin: 'http://evil.example' }),
    ];
    expect(refused.map((r) => r.status)).toEqual([403, 403, 403, 403, 403]);
    expect(await refused[1]!.text()).toMatch(/^refused: the form has expired/);
    expect(refused[0]!.headers.get('x-content-type-options')).toBe('nosniff');

    const bad = await post({ ...form, csrf, image: 'docker.io/library/nope:1' }, { cookie });
    expect(bad.status).toBe(400);
    expect(await bad.text()).toBe('image: "docker.io/library/nope:1" (docker) is not watched\n');
    const badFor = await post({ ...form, csrf, for: '30d' }, { cookie });
    expect(await badFor.text()).toBe('for: expected one of 1d, 7d, digest\n');
    const stranger = await post({ ...form, csrf }, { cookie, authorization: 'Bearer wrong' });
    expect(stranger.status).toBe(401);
    expect((await silences()).length).toBe(before);

    // The same token, cookie and Origin a browser sends: accepted, back to the page with 303.
    const ok = await post({ ...form, csrf }, { cookie, origin: exporter.url });
    expect(ok.status).toBe(303);
    expect(ok.headers.get('location')).toBe('/');
    expect((await silences()).length).toBe(before + 1);
  });
});
