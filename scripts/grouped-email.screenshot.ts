import { resolve } from 'node:path';
import { chromium } from 'playwright-core';
import { expect, it } from 'vitest';
import { requireBinary } from '../test/support/exec.js';
import { renderShippedTemplate } from '../test/support/templates.js';

// Writes docs/grouped-email.png: the email of one Alertmanager group (three outdated containers
// of two images, one updated since; test/fixtures/grouped-alert.json), rendered from the shipped
// diun.tmpl by amtool 0.25 as Alertmanager renders it, shown by chromium.
// Run with `npm run screenshot:email`.
const root = resolve(import.meta.dirname, '..');

it('writes docs/grouped-email.png', async () => {
  const fixture = resolve(root, 'test', 'fixtures', 'grouped-alert.json');
  const html = await renderShippedTemplate('diun.email.html', fixture, 'html');
  expect(html).toContain('registry.example.org/shop/web:1.4');
  const browser = await chromium.launch({
    executablePath: requireBinary('chromium', 'chromium'),
    args: ['--no-sandbox'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 900, height: 400 } });
    await page.setContent(html);
    await page.screenshot({ path: resolve(root, 'docs', 'grouped-email.png'), fullPage: true });
  } finally {
    await browser.close();
  }
});
