import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createExporter, createExporterApp } from '../../../src/exporter.js';
import { configureLog, stderrSink } from '../../../src/log.js';
import { renderStatusPage } from '../../../src/server/page.js';
import { snoozeChoice, snoozeSilence } from '../../../src/snooze/silence.js';
import { imagesView } from '../../../src/view/images.js';
import { freePort } from '../../support/exec.js';
import { config, container, digest, fakeProvider, fakeRegistry } from '../watch/fixtures.js';

const NGINX = 'docker.io/library/nginx:latest';
const API = 'ghcr.io/acme/api:2';
const NOW = Date.parse('2026-12-05T10:00:00Z');
let dir: string;
const lines: string[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'page-snooze-'));
  lines.length = 0;
  configureLog({ sink: (line) => lines.push(line) });
});
afterEach(async () => {
  configureLog({ sink: stderrSink });
  await rm(dir, { recursive: true, force: true });
});

/** An exporter whose nginx and api images are outdated, snoozing at `alertmanager`. */
async function checkedExporter(alertmanager?: Record<string, unknown>) {
  const containers = [
    container({ name: 'web', image: NGINX }),
    container({ name: 'api', image: API }),
  ];
  const remote = fakeRegistry(() => digest('b'));
  const cfg = config({ db: { path: join(dir, 'state.json') }, alertmanager });
  const exporter = createExporter(
    { config: cfg },
    { providers: [fakeProvider(() => containers)], registry: remote.registry },
  );
  await exporter.watcher.run();
  await exporter.watcher.run();
  return { exporter, cfg };
}

const forms = (page: string) =>
  [...page.matchAll(/<form method="post" action="([^"]+)"/g)].map((m) => m[1]);

describe('the snooze parts of the status page', () => {
  it('renders a form per outdated row: token, provider, image and the three choices', async () => {
    const { exporter } = await checkedExporter();
    const view = imagesView(exporter.watcher);
    const page = renderStatusPage(view, 'all', '/metrics', NOW, {
      csrf: 'T0KEN',
      list: { silences: [] },
    });
    expect(forms(page)).toEqual(['/snooze', '/snooze']);
    const form = /<form method="post" action="\/snooze" class="snooze">([\s\S]*?)<\/form>/.exec(
      page,
    )![1]!;
    expect(form).toContain('<input type="hidden" name="csrf" value="T0KEN">');
    expect(form).toContain('<input type="hidden" name="provider" value="docker">');
    expect(form).toContain(`<input type="hidden" name="image" value="${NGINX}">`);
    expect(
      [...form.matchAll(/<button type="submit" name="for" value="([^"]+)"[^>]*>([^<]+)</g)].map(
        (m) => `${m[1]}=${m[2]}`,
      ),
    ).toEqual(['1d=1 day', '7d=7 days', 'digest=until a newer digest']);
    expect(page).toContain('<th scope="col">Snooze</th>');
    expect(page).toContain('<p class="empty">Nothing is snoozed.</p>');
    expect(page).not.toContain('<script');

    const plain = renderStatusPage(view, 'all', '/metrics', NOW);
    expect(forms(plain)).toEqual([]);
    expect(plain).not.toContain('Snooze');
  });

  it('lists the snoozes in force with their end and an expire form, and marks the row', async () => {
    const { exporter } = await checkedExporter();
    const target = { provider: 'docker', image: NGINX, remoteDigest: digest('b') };
    const silence = {
      ...snoozeSilence(target, snoozeChoice('7d')!, NOW - 3_600_000),
      id: '0b6a0a4e-9a1b-4c1e-8a57-2b7f5f1c3d9e',
      status: { state: 'active' as const },
    };
    // Someone else's silence of a watched image is shown too, its comment as text.
    const theirs = {
      ...silence,
      id: '1c7b1b5f-0b2c-4d2f-9b68-3c8060d24eaf',
      createdBy: 'alice',
      comment: '<script>alert(1)</script>',
    };
    const page = renderStatusPage(imagesView(exporter.watcher), 'all', '/metrics', NOW, {
      csrf: 'T0KEN',
      list: { silences: [silence, theirs] },
    });
    expect(page).toContain('&lt;script&gt;alert(1)&lt;/script&gt; <small>by alice</small>');
    expect(page).not.toContain('<script');
    const section = /<section id="snoozed">([\s\S]*?)<\/section>/.exec(page)![1]!;
    expect(section).toContain(`<td data-label="Image"><code>${NGINX}</code></td>`);
    expect(section).toContain(
      '<time datetime="2026-12-12T09:00:00.000Z">2026-12-12 09:00 UTC</time> <small>(in 7 days)</small>',
    );
    expect(section).toContain(`for 7 days <small>by diun-exporter</small>`);
    expect(section).toContain(
      `<form method="post" action="/snooze/expire"><input type="hidden" name="csrf" value="T0KEN">`,
    );
    expect(section).toContain(`<input type="hidden" name="id" value="${silence.id}">`);
    expect(page.match(/<p class="snoozed">snoozed until /g)).toHaveLength(1);
  });

  it('still serves the page when Alertmanager is down, saying so without its credentials', async () => {
    const port = await freePort();
    const { exporter, cfg } = await checkedExporter({
      url: `http://exporter:hunter2@127.0.0.1:${port}/`,
    });
    const app = createExporterApp(exporter, cfg);
    const res = await request(app).get('/').expect(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers['content-security-policy']).toContain("form-action 'self'");
    expect(res.text).toContain(
      `<p class="error">Snoozes unknown: Alertmanager at http://127.0.0.1:${port} is unreachable (ECONNREFUSED)</p>`,
    );
    expect(forms(res.text)).toEqual(['/snooze', '/snooze']);
    // A form post that passes the CSRF check reaches Alertmanager, and says it could not.
    const cookie = String(res.headers['set-cookie']).split(';')[0]!;
    const csrf = /name="csrf" value="([^"]+)"/.exec(res.text)![1]!;
    const post = await request(app)
      .post('/snooze')
      .set('Cookie', cookie)
      .type('form')
      .send({ csrf, provider: 'docker', image: NGINX, for: '1d' });
    expect(post.status).toBe(502);
    expect(post.text).toBe(
      `could not reach the snoozes: Alertmanager at http://127.0.0.1:${port} is unreachable (ECONNREFUSED)\n`,
    );
    await request(app).get('/snooze').expect(405);
    expect(`${res.text}${post.text}${lines.join('\n')}`).not.toContain('hunter2');
  });
});
