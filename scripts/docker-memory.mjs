// RSS and external memory of `serve` with one Docker provider on a unix socket, a few seconds
// after start, and which Docker client modules it loaded. Run after `npm run build`:
// `node scripts/docker-memory.mjs [docker|file] [dist dir] [runs]` (default docker ./dist 3).
// The engine is a stand-in on a unix socket answering an empty listing and holding the events
// stream open; `file` is one image in a file provider, for the floor. Samples are the
// exporter's own process_resident_memory_bytes and nodejs_external_memory_bytes, 4 s after spawn.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createServer as createTcpServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const [mode = 'docker', distArg = 'dist', runsArg = '3'] = process.argv.slice(2);
const cli = resolve(distArg, 'cli.js');
const SAMPLE_AFTER_MS = 4000;

// Records every CommonJS module the exporter loads (dockerode, docker-modem and ssh2 are CJS).
const tracer = `const Module = require('node:module');
const { appendFileSync } = require('node:fs');
const load = Module._load;
Module._load = function (request, parent, isMain) {
  if (/^(dockerode|docker-modem|ssh2|cpu-features)(\\/|$)/.test(request)) {
    appendFileSync(process.env.MODULE_TRACE, request + '\\n');
  }
  return load.call(this, request, parent, isMain);
};
`;

function standinEngine(socketPath) {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0].replace(/^\/v[\d.]+/, '');
    const json = (body) => res.writeHead(200, { 'content-type': 'application/json' }).end(body);
    if (path === '/_ping') return res.writeHead(200).end('OK');
    if (path === '/version') return json('{"Os":"linux","Arch":"amd64","ApiVersion":"1.43"}');
    if (path === '/containers/json') return json('[]');
    if (path === '/events') return res.writeHead(200).flushHeaders();
    res.writeHead(404, { 'content-type': 'application/json' }).end('{"message":"not found"}');
  });
  return new Promise((done) => server.listen(socketPath, () => done(server)));
}

function freePort() {
  return new Promise((done) => {
    const s = createTcpServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => done(port));
    });
  });
}

function metric(text, name) {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(' ')[1]) : Number.NaN;
}

async function once() {
  const dir = mkdtempSync(join(tmpdir(), 'docker-memory-'));
  const socket = join(dir, 'docker.sock');
  const engine = await standinEngine(socket);
  const port = await freePort();
  writeFileSync(join(dir, 'tracer.cjs'), tracer);
  writeFileSync(join(dir, 'images.yml'), '- name: docker.io/library/alpine:3.20\n');
  const providers =
    mode === 'file'
      ? `  file:\n    filename: ${join(dir, 'images.yml')}\n`
      : `  docker:\n    endpoint: unix://${socket}\n    watchByDefault: true\n`;
  writeFileSync(
    join(dir, 'diun.yml'),
    `watch:\n  schedule: ""\n  runOnStartup: false\nmetrics:\n  addr: 127.0.0.1:${port}\ndb:\n  path: ${join(dir, 'state.json')}\nproviders:\n${providers}`,
  );
  const trace = join(dir, 'modules.txt');
  writeFileSync(trace, '');
  const child = spawn(
    process.execPath,
    ['--require', join(dir, 'tracer.cjs'), cli, 'serve', '--config', join(dir, 'diun.yml')],
    { env: { ...process.env, MODULE_TRACE: trace, LOG_LEVEL: 'error' }, stdio: 'ignore' },
  );
  await sleep(SAMPLE_AFTER_MS);
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const listed = text.includes('diun_provider_up{');
  child.kill('SIGTERM');
  await new Promise((done) => child.once('exit', done));
  engine.close();
  const loaded = [...new Set(readFileSync(trace, 'utf8').split('\n').filter(Boolean))];
  rmSync(dir, { recursive: true, force: true });
  return {
    rssMiB: metric(text, 'process_resident_memory_bytes') / 2 ** 20,
    externalMiB: metric(text, 'nodejs_external_memory_bytes') / 2 ** 20,
    heapUsedMiB: metric(text, 'nodejs_heap_size_used_bytes') / 2 ** 20,
    listed,
    loaded,
  };
}

for (let i = 0; i < Number(runsArg); i++) {
  const r = await once();
  console.log(
    `${mode} ${distArg}: RSS ${r.rssMiB.toFixed(1)} MiB, external ${r.externalMiB.toFixed(1)} MiB, heap used ${r.heapUsedMiB.toFixed(1)} MiB, provider series ${r.listed}, Docker client modules loaded: ${r.loaded.join(' ') || 'none'}`,
  );
}
