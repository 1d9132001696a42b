import express from 'express';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { requireBearer, tokenMatches } from '../../../src/server/auth.js';

function appWith(token: string | undefined) {
  const app = express();
  app.get('/secret', requireBearer(token), (_req, res) => {
    res.json({ ok: true });
  });
  return app;
}

describe('tokenMatches', () => {
  it('compares whole tokens, of any length, without throwing on a length mismatch', () => {
    expect(tokenMatches('s3cret-token', 's3cret-token')).toBe(true);
    expect(tokenMatches('s3cret-tokeN', 's3cret-token')).toBe(false);
    expect(tokenMatches('s3cret', 's3cret-token')).toBe(false);
    expect(tokenMatches('', 's3cret-token')).toBe(false);
    expect(tokenMatches('s3cret-token-and-more', 's3cret-token')).toBe(false);
  });
});

describe('requireBearer', () => {
  it('lets every request through when no token is configured', async () => {
    await request(appWith(undefined)).get('/secret').expect(200, { ok: true });
  });

  it('takes "Authorization: Bearer <token>", the scheme in any case', async () => {
    const app = appWith('s3cret');
    await request(app).get('/secret').set('Authorization', 'Bearer s3cret').expect(200);
    await request(app).get('/secret').set('Authorization', 'bearer   s3cret ').expect(200);
  });

  it.each([
    ['no header', undefined],
    ['a wrong token', 'Bearer nope'],
    ['a prefix of the token', 'Bearer s3cr'],
    ['Basic credentials', `Basic ${Buffer.from('user:s3cret').toString('base64')}`],
    ['the bare token', 's3cret'],
    ['an empty Bearer', 'Bearer '],
  ])('answers 401 with a Bearer challenge for %s', async (_what, header) => {
    const req = request(appWith('s3cret')).get('/secret');
    if (header !== undefined) req.set('Authorization', header);
    const res = await req;
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer realm="diun-exporter"');
    expect(res.body).toEqual({ error: 'unauthorized' });
    expect(res.text).not.toContain('s3cret');
  });
});

describe('tokenMatches on lengths far apart', () => {
  it('returns false, never throws, for a token of a very different length or encoding', () => {
    const expected = 's3cret-token';
    for (const given of ['x', 'x'.repeat(100_000), 'é'.repeat(12), '\u0000', `${expected}\n`]) {
      expect(() => tokenMatches(given, expected)).not.toThrow();
      expect(tokenMatches(given, expected)).toBe(false);
    }
  });
});
