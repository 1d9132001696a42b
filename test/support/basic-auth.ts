import type { IncomingMessage } from 'node:http';

/** Whether `req` carries HTTP Basic credentials for `user` with `password`. */
export function hasBasicCredentials(req: IncomingMessage, user: string, password: string): boolean {
  const encoded = /^Basic (.+)$/i.exec(req.headers.authorization ?? '')?.[1] ?? '';
  const [given, ...rest] = Buffer.from(encoded, 'base64').toString().split(':');
  return given === user && rest.join(':') === password;
}
