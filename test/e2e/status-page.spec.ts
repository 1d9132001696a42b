import { randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileDockerd } from '../support/dockerd.js';
import { requireBinary, waitFor } from '../support/exec.js';
import { type ExporterProcess, startExporter } from '../support/exporter.js';
import { makeImage, publish, pushImage, runContainer } from '../support/images.js';
import { type Registry, startRegistry } from '../support/registry.js';

// The status page as a person sees it: Debian's chromium, headless, on the built exporter
// watching the real dockerd and registry. One compose container's tag moves to a new digest, one
// other container stays up to date. Screenshots go to reports/ (the test's artefacts).
const root = resolve(import.meta.dirname, '..', '..');
const reports = join(root, 'reports');

// A dockerd of this file's own: files run in parallel, and none sees another's containers.
const dockerd = fileDockerd();

describe('status page in a real browser', () => {
  const docker = dockerd.docker;
  const suffix = randomUUID().slice(0, 8);
  const names = { web: `shop-web-${suffix}`, cache: `cache-${suffix}` };
  const token = `page-${suffix}`;
  // Only these two are watched (diun.enable), whatever else runs in the file's dockerd.
  const watched = { 'diun.enable': 'true' };
  let registry: Registry;
  let exporter: ExporterProcess;
  let browser: Browser;
  let web: string;
  let cache: string;

  beforeAll(async () => {
    registry = await startRegistry();
    web = `${registry.host}/shop/web:1.0`;
    cache = `${registry.host}/team/cache:2`;
    await publish(docker, web, `v1 ${suffix}`);
    await publish(docker, cache, `cache ${suffix}`);
    await runContainer(docker, web, names.web, {
      ...watched,
      'com.docker.compose.project': 'shop',
      'com.docker.compose.service': 'web',
    });
    await runContainer(docker, cache, names.cache, watched);
    exporter = await startExporter(
      {
        watch: { schedule: '' },
        metrics: { token },
        providers: { docker: { endpoint: dockerd.host, watchByDefault: false } },
      },
      { token },
    );
    // The first check (at start) must be over, so the check below is a second one.
    await waitFor(async () => (await fetch(`${exporter.url}/-/ready`)).ok || undefined, {
      timeoutMs: 30_000,
      what: 'the exporter to be ready',
    });
    browser = await chromium.launch({
      executablePath: requireBinary('chromium', 'chromium'),
      args: ['--no-sandbox'],
    });
    await mkdir(reports, { recursive: true });
  });

  afterAll(async () => {
    await browser?.close();
    await exporter?.stop();
    await docker(['rm', '-f', names.web, names.cache]).catch(() => undefined);
    await registry?.stop();
  });

  /** A page whose requests carry the exporter's Bearer token, at the given viewport. */
  async function openPage(viewport = { width: 1280, height: 800 }): Promise<Page> {
    const context = await browser.newContext({
      viewport,
      extraHTTPHeaders: { authorization: `Bearer ${token}` },
    });
    return context.newPage();
  }

  const rowsOf = (page: Page) =>
    page.locator('tbody tr').evaluateAll((trs) =>
      trs.map((tr) => ({
        status: tr.getAttribute('data-status'),
        container: tr.querySelector('td')?.textContent?.trim() ?? '',
      })),
    );

  it('shows the container whose tag moved at the top, with the command to update it', async () => {
    await makeImage(docker, web, { variant: `v2 ${suffix}` });
    await pushImage(docker, web);
    const check = await fetch(`${exporter.url}/api/v1/check`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(check.status).toBe(200);
    expect(((await check.json()) as { outdated: string[] }).outdated).toEqual([web]);

    const page = await openPage();
    const res = await page.goto(`${exporter.url}/`);
    expect(res?.status()).toBe(200);
    expect(await page.locator('#outdated-count strong').textContent()).toBe('1');
    const rows = await rowsOf(page);
    expect(rows).toEqual([
      { status: 'outdated', container: `${names.web} local` },
      { status: 'unchange', container: `${names.cache} local` },
    ]);
    const outdated = page.locator('#outdated tbody tr');
    expect(await outdated.locator('td[data-label="Compose"]').textContent()).toBe('shop / web');
    expect(await outdated.locator('td[data-label="Image"] code').textContent()).toBe(web);
    expect(await outdated.locator('code.command').textContent()).toBe(
      'docker compose -p shop pull web && docker compose -p shop up -d web',
    );
    expect(await page.locator('#last-run').textContent()).toContain('1 update');
    await page.screenshot({ path: join(reports, 'status-page.png'), fullPage: true });
    await page.context().close();
  });

  it('filters by status through its links, with JavaScript off', async () => {
    const context = await browser.newContext({
      javaScriptEnabled: false,
      extraHTTPHeaders: { authorization: `Bearer ${token}` },
    });
    const page = await context.newPage();
    await page.goto(`${exporter.url}/`);
    await page.locator('nav.filters a', { hasText: /^outdated/ }).click();
    await page.waitForURL(/\?status=outdated$/);
    expect(await rowsOf(page)).toEqual([{ status: 'outdated', container: `${names.web} local` }]);
    expect(await page.locator('nav.filters a[aria-current="page"]').textContent()).toBe(
      'outdated 1',
    );

    await page.locator('nav.filters a', { hasText: /^unchange/ }).click();
    await page.waitForURL(/\?status=unchange$/);
    expect(await rowsOf(page)).toEqual([{ status: 'unchange', container: `${names.cache} local` }]);
    expect(await page.locator('#outdated').count()).toBe(0);

    await page.locator('nav.filters a', { hasText: /^all/ }).click();
    await page.waitForURL((url) => url.search === '');
    expect(await rowsOf(page)).toHaveLength(2);
    await context.close();
  });

  it('has no snooze without alertmanager.url: no form, and the form route answers 404', async () => {
    const page = await openPage();
    await page.goto(`${exporter.url}/`);
    expect(await page.locator('form').count()).toBe(0);
    expect(await page.locator('#snoozed').count()).toBe(0);
    await page.context().close();
    const post = await fetch(`${exporter.url}/snooze`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(post.status).toBe(404);
    expect(((await post.json()) as { error: string }).error).toBe(
      'alertmanager.url is not set in the configuration: snoozing from the status page is off',
    );
  });

  it('fits a phone screen, and refuses a browser without the token', async () => {
    const page = await openPage({ width: 390, height: 844 });
    await page.goto(`${exporter.url}/`);
    // A string: the tests compile without the DOM's types.
    const overflow = Number(
      await page.evaluate('document.documentElement.scrollWidth - window.innerWidth'),
    );
    expect(overflow).toBeLessThanOrEqual(0);
    await page.screenshot({ path: join(reports, 'status-page-phone.png'), fullPage: true });
    await page.context().close();

    const stranger = await browser.newPage();
    expect((await stranger.goto(`${exporter.url}/`))?.status()).toBe(401);
    await stranger.close();
  });
});
