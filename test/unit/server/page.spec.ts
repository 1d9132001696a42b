import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createExporter, createExporterApp } from '../../../src/exporter.js';
import { configureLog, stderrSink } from '../../../src/log.js';
import { config, container, digest, fakeProvider, fakeRegistry } from '../watch/fixtures.js';

const TOKEN = 'page-token-s3cret';
const PASSWORD = 'regopt-password-hunter2';
const EVIL = '<script>alert(1)</script>';
let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'page-'));
  configureLog({ sink: () => {} });
});
afterEach(async () => {
  configureLog({ sink: stderrSink });
  await rm(dir, { recursive: true, force: true });
});

/**
 * The app as `serve` wires it: nginx's tag moved (web and a hostile-named container are
 * outdated), postgres did not, one container has an image name that is not a reference.
 */
async function checkedApp(opts: { token?: string } = {}) {
  const defaults = config().defaults;
  const containers = [
    container({ name: 'web', composeProject: 'site', composeService: 'web' }),
    container({
      name: 'db',
      image: 'docker.io/library/postgres:16',
      repoDigests: [digest('c')],
      options: { ...defaults, regopt: 'private' },
    }),
    container({
      name: EVIL,
      image: 'docker.io/library/redis:7',
      composeProject: '"><img src=x onerror=alert(2)>',
      composeService: "a'b",
      options: { ...defaults, hubLink: 'javascript:alert(3)' },
    }),
    container({
      name: 'broken',
      image: 'evil/<b>bold</b>:1',
      repoDigests: [],
      skip: 'invalid reference',
      errors: ['invalid reference format: <i>evil/<b>bold</b>:1</i>'],
    }),
  ];
  const remote = fakeRegistry((image) => (image.includes('postgres') ? digest('c') : digest('b')));
  const cfg = config({
    regopts: [{ name: 'private', selector: 'name', username: 'bot', password: PASSWORD }],
    db: { path: join(dir, 'state.json') },
    metrics: { token: opts.token },
  });
  const exporter = createExporter(
    { config: cfg },
    { providers: [fakeProvider(() => containers)], registry: remote.registry },
  );
  // Twice: a first check reports every image `new`.
  await exporter.watcher.run();
  await exporter.watcher.run();
  return createExporterApp(exporter, cfg);
}

/** The rows of one table section, as `[data-status, first cell text]`. */
function rows(page: string, section: string): string[] {
  const part = new RegExp(`<section id="${section}">([\\s\\S]*?)</section>`).exec(page)?.[1];
  return [...(part ?? '').matchAll(/<tr data-status="([^"]+)">\s*<td[^>]*>([\s\S]*?)<\/td>/g)].map(
    (m) => `${m[1]} ${m[2]!.replace(/<[^>]+>/g, '')}`,
  );
}

describe('GET / (status page)', () => {
  it('counts the outdated containers and lists them first, then everything else', async () => {
    const app = await checkedApp();
    const res = await request(app).get('/').expect(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.headers['content-security-policy']).toContain("default-src 'none'");
    const page = res.text;
    expect(page).toContain('<meta name="viewport" content="width=device-width, initial-scale=1">');
    expect(page).toMatch(/<strong>2<\/strong> containers outdated, of 4 watched/);
    expect(page.indexOf('id="outdated"')).toBeLessThan(page.indexOf('id="others"'));
    expect(rows(page, 'outdated')).toEqual([
      'outdated web local',
      `outdated ${EVIL.replaceAll('<', '&lt;').replaceAll('>', '&gt;')} local`,
    ]);
    expect(rows(page, 'others').sort()).toEqual(['error broken local', 'unchange db local']);
    // The outdated row: compose, digests (short), since, hub link and the command to copy.
    expect(page).toContain('site / web');
    expect(page).toContain(`<code class="digest" title="${digest('a')}">aaaaaaaaaaaa</code>`);
    expect(page).toContain(`<code class="digest" title="${digest('b')}">bbbbbbbbbbbb</code>`);
    expect(page).toContain('<a href="https://hub.docker.com/_/nginx" rel="noopener noreferrer">');
    expect(page).toContain(
      '<code class="command">docker compose -p site pull web &amp;&amp; docker compose -p site up -d web</code>',
    );
    expect(page).toMatch(/<td data-label="Since"><time datetime="\d{4}-.+Z">/);
    // The last run and the links.
    expect(page).toMatch(/<dt>Duration<\/dt><dd>(\d+ ms|\d+\.\d s)<\/dd>/);
    expect(page).toContain('0 new, 2 update, ');
    expect(page).toContain('<a href="/?status=error">1 container(s) in error</a>');
    expect(page).toContain('<a href="/metrics">/metrics</a>');
    expect(page).toContain('<a href="/api/v1/images">/api/v1/images</a>');
  });

  it('filters by status on the server, with links that need no JavaScript', async () => {
    const app = await checkedApp();
    const all = (await request(app).get('/')).text;
    expect(all).toContain('<a href="/?status=outdated">outdated <span>2</span></a>');
    expect(all).toContain('<a href="/" aria-current="page">all <span>4</span></a>');
    expect(all).not.toContain('<script');

    const outdated = (await request(app).get('/?status=outdated').expect(200)).text;
    expect(rows(outdated, 'outdated')).toHaveLength(2);
    expect(outdated).not.toContain('id="others"');
    expect(outdated).toContain('<a href="/?status=outdated" aria-current="page">');

    const unchanged = (await request(app).get('/?status=unchange').expect(200)).text;
    expect(unchanged).not.toContain('id="outdated"');
    expect(rows(unchanged, 'others')).toEqual(['unchange db local']);
    // The count at the top stays the whole picture's.
    expect(unchanged).toMatch(/<strong>2<\/strong> containers outdated/);

    const errors = (await request(app).get('/?status=error')).text;
    expect(rows(errors, 'others')).toEqual(['error broken local']);
  });

  it('answers 400 naming an unknown status', async () => {
    const app = await checkedApp();
    const res = await request(app).get('/?status=stale').expect(400);
    expect(res.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(res.text).toBe(
      'unknown status "stale": expected one of all, outdated, new, update, unchange, skip, error\n',
    );
    await request(app).get('/?status=update&status=new').expect(400);
  });

  it('escapes every value from labels and image names, and links only http(s) pages', async () => {
    const page = (await request(await checkedApp()).get('/')).text;
    expect(page).not.toMatch(/<script|<img|<b>|<i>|javascript:/i);
    expect(page).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(page).toContain('&quot;&gt;&lt;img src=x onerror=alert(2)&gt; / a&#39;b');
    expect(page).toContain('<code>evil/&lt;b&gt;bold&lt;/b&gt;:1</code>');
    expect(page).toContain(
      'invalid reference format: &lt;i&gt;evil/&lt;b&gt;bold&lt;/b&gt;:1&lt;/i&gt;',
    );
    // A compose name with shell characters is quoted in the command to copy.
    expect(page).toContain('pull &#39;a&#39;\\&#39;&#39;b&#39;');
  });

  it('asks for the Bearer token when one is set, and never shows a secret', async () => {
    const app = await checkedApp({ token: TOKEN });
    const refused = await request(app).get('/');
    expect(refused.status).toBe(401);
    expect(refused.headers['www-authenticate']).toBe('Bearer realm="diun-exporter"');
    await request(app).get('/?status=outdated').set('Authorization', 'Bearer wrong').expect(401);
    const page = (await request(app).get('/').set('Authorization', `Bearer ${TOKEN}`).expect(200))
      .text;
    expect(page).toContain('containers outdated');
    expect(page).not.toContain(TOKEN);
    expect(page).not.toContain(PASSWORD);
    expect(page).not.toContain('private');
    await request(app).post('/').expect(405);
  });
});
