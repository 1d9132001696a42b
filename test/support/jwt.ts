import { sign } from 'node:crypto';

const encode = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');

/**
 * A JWT carrying `claims`. Signed with `signing.privateKeyPem` (SHA-256) under `signing.header`
 * when given, as a token service issues them; else unsigned (`alg: none`, signature `sig`), for
 * a client that only reads the claims.
 */
export function jwt(claims: object, signing?: { header: object; privateKeyPem: string }): string {
  if (!signing) return `${encode({ alg: 'none' })}.${encode(claims)}.sig`;
  const input = `${encode(signing.header)}.${encode(claims)}`;
  const signature = sign('sha256', Buffer.from(input), signing.privateKeyPem).toString('base64url');
  return `${input}.${signature}`;
}
