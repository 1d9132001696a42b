import { connect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ExporterProcess, startExporter } from '../support/exporter.js';

// What one client can do to the built exporter: hold a connection with slow headers, send huge
// headers or bodies, use methods and paths that do not exist, make a route fail. Each gets a
// short answer (no stack trace) and the exporter keeps serving everybody else.

const METRICS_TOKEN = 'limits-metrics-token';
const WEBHOOK_TOKEN = 'limits-webhook-token';
const HEADERS_TIMEOUT_MS = 10_000;
const STACK = /\bat \S+ \(|\.js:\d+:\d+|<html|Error:/i;

/** Sends raw bytes on a fresh connection; resolves with everything received once it closes. */
function rawExchange(url: string, data: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.end(data));
    let out = '';
    socket.on('data', (b) => (out += b));
    socket.on('error', reject);
    socket.on('close', () => resolve(out));
  });
}

interface Slowloris {
  socket: Socket;
  /** Milliseconds from connecting to the server closing the connection, and what it sent. */
  closed: Promise<{ afterMs: number; answer: string }>;
}

/** A client that sends a request line, then one header byte per second, never finishing. */
function slowloris(url: string): Slowloris {
  const { hostname, port } = new URL(url);
  const start = Date.now();
  const socket = connect(Number(port), hostname);
  let answer = '';
  let timer: NodeJS.Timeout | undefined;
  socket.on('connect', () => {
    socket.write(`GET /metrics HTTP/1.1\r\nHost: ${hostname}\r\nX-Slow: `);
    timer = setInterval(() => socket.writable && socket.write('a'), 1_000);
  });
  socket.on('data', (b) => (answer += b));
  socket.on('error', () => {});
  const closed = new Promise<{ afterMs: number; answer: string }>((resolve) =>
    socket.on('close', () => {
      clearInterval(timer);
      resolve({ afterMs: Date.now() - start, answer });
    }),
  );
  return { socket, closed };
}

describe('server limits', () => {
  let exporter: ExporterProcess;
  const auth = { authorization: `Bearer ${METRICS_TOKEN}` };
  const hook = () => `${exporter.url}/api/v1/alertmanager/gotify`;
  const hookHeaders = {
    authorization: `Bearer ${WEBHOOK_TOKEN}`,
    'content-type': 'application/json',
  };

  const healthyWithin = async (ms: number) => {
    const start = Date.now();
    const res = await fetch(`${exporter.url}/-/healthy`, { signal: AbortSignal.timeout(ms) });
    expect(res.status).toBe(200);
    return Date.now() - start;
  };

  beforeAll(async () => {
    exporter = await startExporter(
      {
        watch: { schedule: '', runOnStartup: false },
        metrics: { token: METRICS_TOKEN },
        // Nothing is ever delivered here: every request is refused before.
        gotify: { endpoint: 'http://127.0.0.1:9', token: 'app', webhookToken: WEBHOOK_TOKEN },
      },
      { token: METRICS_TOKEN },
    );
  });

  afterAll(async () => {
    await exporter?.stop();
  });

  it(
    'cuts clients sending headers one byte a second within the headers timeout, serving others meanwhile',
    async () => {
      const clients = Array.from({ length: 20 }, () => slowloris(exporter.url));
      await sleep(2_000);
      // 20 connections held open do not slow anyone else down.
      expect(await healthyWithin(1_000)).toBeLessThan(1_000);
      await exporter.scrapeText();
      const ends = await Promise.all(clients.map((c) => c.closed));
      for (const { afterMs, answer } of ends) {
        expect(afterMs).toBeGreaterThanOrEqual(HEADERS_TIMEOUT_MS - 500);
        // The timeout plus Node's check interval (1 s) plus slack.
        expect(afterMs).toBeLessThan(HEADERS_TIMEOUT_MS + 3_000);
        expect(answer).toMatch(/^HTTP\/1\.1 408 /);
      }
      await healthyWithin(1_000);
    },
    HEADERS_TIMEOUT_MS + 20_000,
  );

  it('answers headers over 16 KiB with 431', async () => {
    const answer = await rawExchange(
      exporter.url,
      `GET /-/healthy HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20 * 1024)}\r\nConnection: close\r\n\r\n`,
    );
    expect(answer).toMatch(/^HTTP\/1\.1 431 /);
    await healthyWithin(1_000);
  });

  it('refuses a webhook body over 1 MB with 413 in JSON, with or without Content-Length', async () => {
    const big = JSON.stringify({ version: '4', padding: 'x'.repeat(2 * 1024 * 1024) });
    const sized = await fetch(hook(), { method: 'POST', headers: hookHeaders, body: big });
    expect(sized.status).toBe(413);
    expect(await sized.json()).toEqual({ error: 'body too large' });

    // Chunked: the size is only known while reading, and reading stops at the limit.
    const chunks = new ReadableStream<Uint8Array>({
      start(controller) {
        const chunk = new TextEncoder().encode('x'.repeat(64 * 1024));
        for (let i = 0; i < 32; i++) controller.enqueue(chunk);
        controller.close();
      },
    });
    const streamed = await fetch(hook(), {
      method: 'POST',
      headers: hookHeaders,
      body: chunks,
      duplex: 'half',
    } as RequestInit);
    expect(streamed.status).toBe(413);
    expect(await streamed.json()).toEqual({ error: 'body too large' });

    // Without the token the body is not even read.
    const anonymous = await fetch(hook(), { method: 'POST', body: big });
    expect(anonymous.status).toBe(401);
    await healthyWithin(1_000);
    expect(exporter.output()).not.toMatch(/PayloadTooLarge|at \S+ \(/);
  });

  it('answers unknown paths 404 and other methods 405, in JSON and without a stack trace', async () => {
    const cases: [string, string, number][] = [
      ['GET', '/nothing', 404],
      ['DELETE', '/api/v1/nothing', 404],
      ['POST', '/metrics', 405],
      ['PUT', '/api/v1/images', 405],
      ['GET', '/api/v1/check', 405],
      ['DELETE', '/api/v1/alertmanager/gotify', 405],
      ['OPTIONS', '/api/v1/check', 405],
      ['PATCH', '/-/healthy', 405],
    ];
    for (const [method, path, status] of cases) {
      const res = await fetch(`${exporter.url}${path}`, { method, headers: auth });
      expect(res.status, `${method} ${path}`).toBe(status);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      const text = await res.text();
      expect(text).not.toMatch(STACK);
      if (status === 405) expect(res.headers.get('allow')).toBeTruthy();
    }
  });

  it('answers a request the route cannot read with a short JSON error, never a stack trace', async () => {
    const cases: [Record<string, string>, string, number][] = [
      [{ 'content-encoding': 'bogus' }, '{}', 415],
      [{ 'content-type': 'application/json; charset=bogus' }, '{}', 415],
      [{ 'content-encoding': 'gzip' }, 'not gzip at all', 400],
      [{}, '{"alerts": [', 400],
    ];
    for (const [headers, body, status] of cases) {
      const res = await fetch(hook(), {
        method: 'POST',
        headers: { ...hookHeaders, ...headers },
        body,
      });
      expect(res.status, JSON.stringify(headers)).toBe(status);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      const answer = (await res.json()) as { error: string };
      expect(typeof answer.error).toBe('string');
      expect(JSON.stringify(answer)).not.toMatch(STACK);
    }
    const malformed = await rawExchange(exporter.url, 'GARBAGE\r\n\r\n');
    expect(malformed).toMatch(/^HTTP\/1\.1 400 /);
    await healthyWithin(1_000);
  });
});
