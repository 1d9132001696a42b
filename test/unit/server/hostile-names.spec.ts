// One file entry with a name of a megabyte (an invalid reference) next to a good one: what the
// exporter shows of it stays small everywhere, cut with its length, and the good one is whole.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createExporter, createExporterApp } from '../../../src/exporter.js';
import { configureLog, stderrSink } from '../../../src/log.js';
import { config, digest, fakeRegistry } from '../watch/fixtures.js';

const HUGE = 'a'.repeat(1 << 20);
const GOOD = 'docker.io/library/nginx:1.27';
let dir: string;
let lines: string[];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'hostile-'));
  lines = [];
  configureLog({ sink: (line) => lines.push(line) });
});
afterEach(async () => {
  configureLog({ sink: stderrSink });
  await rm(dir, { recursive: true, force: true });
});

describe('a file entry with a name of a megabyte', () => {
  it('is shown cut, with its length, in the metrics, the API, the page, the state and the log', async () => {
    const file = join(dir, 'images.yml');
    writeFileSync(file, `- name: ${HUGE}\n- name: ${GOOD}\n`);
    const statePath = join(dir, 'state.json');
    const cfg = config({ db: { path: statePath }, providers: { file: { filename: file } } });
    const exporter = createExporter(
      { config: cfg },
      { registry: fakeRegistry(() => digest('b')).registry },
    );
    await exporter.watcher.run();
    const app = createExporterApp(exporter, cfg);
    const metrics = (await request(app).get('/metrics').expect(200)).text;
    const api = (await request(app).get('/api/v1/images').expect(200)).text;
    const page = (await request(app).get('/').expect(200)).text;
    const state = readFileSync(statePath, 'utf8');

    const cut = /a{200}… \[cut: 1048576 characters, sha256 [0-9a-f]{12}\]/;
    for (const [what, text] of Object.entries({ metrics, api, page, state })) {
      expect(text.length, what).toBeLessThan(64 * 1024);
      expect(text, what).toMatch(cut);
      expect(text, what).toContain(GOOD);
    }
    expect(metrics).toMatch(
      /^diun_image_last_check_status\{provider="file",image="a{200}… \[cut: 1048576 characters, sha256 [0-9a-f]{12}\]",status="error"\} 1$/m,
    );
    expect(Math.max(...lines.map((l) => l.length))).toBeLessThan(4096);
    // The log names the entry's problem with the value cut (the line's own head before it).
    expect(lines.join('\n')).toMatch(/a{100}… \[cut: 10\d{5} characters, sha256 [0-9a-f]{12}\]/);
  });
});
