/**
 * A minimal SMTP server standing in for a mail relay (no SMTP server is packaged for the tests):
 * EHLO/HELO, STARTTLS with a throwaway self-signed certificate made by `openssl`, AUTH PLAIN and
 * LOGIN, MAIL, RCPT, DATA, RSET, NOOP, QUIT. It records each message with its envelope, the
 * credentials used, and its subject and bodies with MIME transfer encodings decoded.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSecureContext, TLSSocket } from 'node:tls';
import { waitFor } from './exec.js';
import { selfSignedCertificate } from './tls-certs.js';

export interface SmtpMessage {
  from: string;
  to: string[];
  /** Whether the session was inside STARTTLS when the message was sent. */
  tls: boolean;
  auth?: { mechanism: string; username: string; password: string };
  /** The message as received (dot-stuffing removed), CRLF line ends. */
  raw: string;
  /** Header names in lower case; a repeated header keeps its first value. */
  headers: Record<string, string>;
  subject: string;
  text?: string;
  html?: string;
}

export interface SmtpServerOptions {
  /** When set, AUTH must give these credentials and MAIL needs a successful AUTH. */
  username?: string;
  password?: string;
  /** Mechanisms offered after STARTTLS, in order. Default PLAIN, LOGIN. */
  mechanisms?: Array<'PLAIN' | 'LOGIN'>;
  /** Where to listen; default 127.0.0.1 on a free port. */
  host?: string;
  port?: number;
  /** A certificate to serve instead of a fresh self-signed one for 127.0.0.1. */
  tls?: { keyFile: string; certFile: string };
  /** Called with each message as it is accepted. */
  onMessage?: (message: SmtpMessage) => void;
}

export interface SmtpServer {
  /** `127.0.0.1:PORT`, for a `smtp_smarthost`. */
  smarthost: string;
  port: number;
  /** The PEM certificate clients must trust (e.g. through SSL_CERT_FILE). */
  certFile: string;
  messages(): SmtpMessage[];
  /** Waits until at least `count` messages arrived and returns all of them. */
  waitForMessages(count: number, timeoutMs?: number): Promise<SmtpMessage[]>;
  close(): Promise<void>;
}

/** Starts the server (127.0.0.1 and a fresh certificate for 127.0.0.1 and localhost unless told). */
export async function startSmtpServer(opts: SmtpServerOptions = {}): Promise<SmtpServer> {
  const dir = await mkdtemp(join(tmpdir(), 'smtp-'));
  const { keyFile, certFile } =
    opts.tls ?? (await selfSignedCertificate(dir, '127.0.0.1', ['IP:127.0.0.1', 'DNS:localhost']));
  const secureContext = createSecureContext({
    key: readFileSync(keyFile),
    cert: readFileSync(certFile),
  });
  const messages: SmtpMessage[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    serveSession(socket, {
      ...opts,
      secureContext,
      record: (m) => {
        messages.push(m);
        opts.onMessage?.(m);
      },
    });
  });
  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, resolve);
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    smarthost: `${host}:${port}`,
    port,
    certFile,
    messages: () => [...messages],
    waitForMessages: (count, timeoutMs = 45_000) =>
      waitFor(() => messages.length >= count && [...messages], {
        timeoutMs,
        intervalMs: 200,
        what: `${count} email(s) (got ${messages.length})`,
      }),
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

interface SessionOptions extends SmtpServerOptions {
  secureContext: ReturnType<typeof createSecureContext>;
  record(message: SmtpMessage): void;
}

/** One client connection: reads CRLF lines (or DATA) and answers as a relay would. */
function serveSession(plain: Socket, opts: SessionOptions): void {
  const mechanisms = opts.mechanisms ?? ['PLAIN', 'LOGIN'];
  const needAuth = opts.username !== undefined;
  let socket: Socket = plain;
  let tls = false;
  let buffer = '';
  let auth: SmtpMessage['auth'];
  let envelope: { from: string; to: string[] } | undefined;
  let data: string[] | undefined;
  // A multi-step exchange (AUTH LOGIN, AUTH PLAIN without initial response) takes the next line.
  let pending: ((line: string) => void) | undefined;

  const reply = (text: string) => socket.write(`${text}\r\n`);
  const checkAuth = (mechanism: string, username: string, password: string) => {
    if (needAuth && (username !== opts.username || password !== opts.password)) {
      return reply('535 5.7.8 Authentication credentials invalid');
    }
    auth = { mechanism, username, password };
    reply('235 2.7.0 Authentication successful');
  };
  const authPlain = (base64: string) => {
    const [, username = '', password = ''] = decodeBase64(base64).split('\0');
    checkAuth('PLAIN', username, password);
  };

  const command = (line: string) => {
    if (pending) {
      const next = pending;
      pending = undefined;
      return next(line);
    }
    const [verb = '', ...rest] = line.split(' ');
    const arg = rest.join(' ');
    switch (verb.toUpperCase()) {
      case 'EHLO': {
        envelope = undefined;
        const extensions = tls
          ? [`AUTH ${mechanisms.join(' ')}`, '8BITMIME']
          : ['STARTTLS', '8BITMIME'];
        const lines = ['127.0.0.1 greets you', ...extensions];
        return reply(
          lines.map((l, i) => `250${i === lines.length - 1 ? ' ' : '-'}${l}`).join('\r\n'),
        );
      }
      case 'HELO':
        return reply('250 127.0.0.1');
      case 'STARTTLS':
        if (tls) return reply('503 5.5.1 TLS already active');
        return startTls();
      case 'AUTH': {
        const [mechanism = '', initial] = arg.split(' ');
        if (!tls) return reply('538 5.7.11 Encryption required for requested authentication');
        if (!mechanisms.includes(mechanism.toUpperCase() as 'PLAIN' | 'LOGIN')) {
          return reply('504 5.5.4 Unrecognized authentication type');
        }
        if (mechanism.toUpperCase() === 'PLAIN') {
          if (initial) return authPlain(initial);
          pending = authPlain;
          return reply('334 ');
        }
        const askPassword = (user: string) => {
          pending = (pass) => checkAuth('LOGIN', decodeBase64(user), decodeBase64(pass));
          reply(`334 ${Buffer.from('Password:').toString('base64')}`);
        };
        // Some clients send the user name with the command (RFC 4954 initial response).
        if (initial) return askPassword(initial);
        pending = askPassword;
        return reply(`334 ${Buffer.from('Username:').toString('base64')}`);
      }
      case 'MAIL':
        if (needAuth && !auth) return reply('530 5.7.0 Authentication required');
        envelope = { from: address(arg), to: [] };
        return reply('250 2.1.0 OK');
      case 'RCPT':
        if (!envelope) return reply('503 5.5.1 MAIL first');
        envelope.to.push(address(arg));
        return reply('250 2.1.5 OK');
      case 'DATA':
        if (!envelope || envelope.to.length === 0) return reply('503 5.5.1 RCPT first');
        data = [];
        return reply('354 End data with <CR><LF>.<CR><LF>');
      case 'RSET':
        envelope = undefined;
        return reply('250 2.0.0 OK');
      case 'NOOP':
        return reply('250 2.0.0 OK');
      case 'QUIT':
        reply('221 2.0.0 Bye');
        return socket.end();
      default:
        return reply('500 5.5.2 Command not recognized');
    }
  };

  const dataLine = (line: string) => {
    if (line === '.') {
      const raw = Buffer.from(data!.join('\r\n'), 'latin1').toString('utf8');
      data = undefined;
      opts.record({ ...envelope!, tls, auth, raw, ...parseMessage(raw) });
      envelope = undefined;
      return reply('250 2.0.0 Queued');
    }
    data!.push(line.startsWith('.') ? line.slice(1) : line);
  };

  const onData = (chunk: Buffer) => {
    // latin1 keeps one char per byte, so a UTF-8 character split across chunks survives.
    buffer += chunk.toString('latin1');
    for (let end = buffer.indexOf('\r\n'); end >= 0; end = buffer.indexOf('\r\n')) {
      const line = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      if (data) dataLine(line);
      else command(line);
      // STARTTLS hands the connection to the TLS socket; nothing more is read in clear.
      if (socket !== plain && !tls) return;
    }
  };

  const startTls = () => {
    plain.removeListener('data', onData);
    buffer = '';
    reply('220 2.0.0 Ready to start TLS');
    const secure = new TLSSocket(plain, { isServer: true, secureContext: opts.secureContext });
    socket = secure;
    secure.on('secure', () => {
      tls = true;
      // RFC 3207: the client starts over with EHLO; nothing said before counts.
      auth = undefined;
      envelope = undefined;
    });
    secure.on('data', onData);
    secure.on('error', () => plain.destroy());
  };

  plain.on('data', onData);
  plain.on('error', () => plain.destroy());
  reply('220 127.0.0.1 ESMTP test relay');
}

function address(arg: string): string {
  return /<([^>]*)>/.exec(arg)?.[1] ?? arg.replace(/^(FROM|TO):/i, '').trim();
}

function decodeBase64(text: string): string {
  return Buffer.from(text, 'base64').toString('utf8');
}

interface ParsedMessage {
  headers: Record<string, string>;
  subject: string;
  text?: string;
  html?: string;
}

/** Headers, subject and the first text/plain and text/html bodies, transfer encodings decoded. */
function parseMessage(raw: string): ParsedMessage {
  const parsed: ParsedMessage = { headers: {}, subject: '' };
  const visit = (entity: string, top: boolean) => {
    const split = entity.indexOf('\r\n\r\n');
    const head = split < 0 ? entity : entity.slice(0, split);
    const body = split < 0 ? '' : entity.slice(split + 4);
    const headers = parseHeaders(head);
    if (top) parsed.headers = headers;
    const [type = 'text/plain', ...params] = (headers['content-type'] ?? 'text/plain').split(';');
    const boundary = params
      .map((p) => /^\s*boundary="?([^"]+)"?\s*$/i.exec(p)?.[1])
      .find((b) => b !== undefined);
    const mediaType = type.trim().toLowerCase();
    if (mediaType.startsWith('multipart/') && boundary) {
      const parts = body.split(`--${boundary}`).slice(1);
      for (const part of parts) {
        if (part.startsWith('--')) break;
        visit(part.replace(/^\r\n/, ''), false);
      }
      return;
    }
    const decoded = decodeBody(body, headers['content-transfer-encoding'] ?? '7bit');
    if (mediaType === 'text/html') parsed.html ??= decoded;
    else if (mediaType === 'text/plain') parsed.text ??= decoded;
  };
  visit(raw, true);
  parsed.subject = decodeWords(parsed.headers.subject ?? '');
  return parsed;
}

function parseHeaders(head: string): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const line of head.replace(/\r\n[ \t]+/g, ' ').split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    headers[name] ??= line.slice(colon + 1).trim();
  }
  return headers;
}

function decodeBody(body: string, encoding: string): string {
  switch (encoding.trim().toLowerCase()) {
    case 'base64':
      return decodeBase64(body.replace(/\s+/g, ''));
    case 'quoted-printable':
      return decodeQuotedPrintable(body.replace(/=\r\n/g, ''));
    default:
      return body;
  }
}

function decodeQuotedPrintable(text: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const hex = text.slice(i + 1, i + 3);
    if (text[i] === '=' && /^[0-9A-Fa-f]{2}$/.test(hex)) {
      bytes.push(Number.parseInt(hex, 16));
      i += 2;
    } else {
      bytes.push(...Buffer.from(text[i]!, 'utf8'));
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

/** RFC 2047 encoded words (`=?utf-8?q?...?=`, `=?utf-8?b?...?=`) as text. */
function decodeWords(value: string): string {
  return value
    .replace(/(\?=)\s+(=\?)/g, '$1$2')
    .replace(/=\?([^?]+)\?([bBqQ])\?([^?]*)\?=/g, (_, _charset, kind: string, word: string) =>
      kind.toLowerCase() === 'b'
        ? decodeBase64(word)
        : decodeQuotedPrintable(word.replaceAll('_', ' ')),
    );
}

/** What a person reads in an HTML body: tags dropped, entities decoded, spaces collapsed. */
export function visibleText(html: string): string {
  return html
    .replace(/<(style|title)[^>]*>[\s\S]*?<\/\1>/g, ' ')
    .replace(/<[^>]+>/g, ' ')
    .replace(/&#(\d+);/g, (_, n: string) => String.fromCodePoint(Number(n)))
    .replaceAll('&lt;', '<')
    .replaceAll('&gt;', '>')
    .replaceAll('&quot;', '"')
    .replaceAll('&amp;', '&')
    .replace(/\s+/g, ' ');
}
