import express from 'express';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { CsrfGuard } from '../../../src/server/csrf.js';

/** A page that issues the token, and a form route that says why it refuses (or "ok"). */
function app(guard = new CsrfGuard()) {
  const a = express();
  a.get('/', (req, res) => {
    res.send(guard.issue(req, res));
  });
  a.post('/form', express.urlencoded({ extended: false }), (req, res) => {
    res.send(guard.refusal(req, (req.body as { csrf?: unknown }).csrf) ?? 'ok');
  });
  return a;
}

async function session(a: express.Express) {
  const page = await request(a).get('/');
  const cookie = String(page.headers['set-cookie']).split(';')[0]!;
  return { cookie, token: page.text };
}

describe('CSRF check of the status page forms', () => {
  it('sets a SameSite=Strict, HttpOnly session cookie once, and a token bound to it', async () => {
    const a = app();
    const page = await request(a).get('/');
    expect(String(page.headers['set-cookie'])).toMatch(
      /^diun_exporter_session=[\w-]{43}; Path=\/; HttpOnly; SameSite=Strict$/,
    );
    const { cookie, token } = await session(a);
    const again = await request(a).get('/').set('Cookie', cookie);
    expect(again.headers['set-cookie']).toBeUndefined();
    expect(again.text).toBe(token);
    const other = await session(a);
    expect(other.token).not.toBe(token);
  });

  it('accepts the token with its cookie, from the same origin', async () => {
    const a = app();
    const { cookie, token } = await session(a);
    const post = () => request(a).post('/form').set('Cookie', cookie).type('form');
    expect((await post().send({ csrf: token })).text).toBe('ok');
    const browser = post().set('Sec-Fetch-Site', 'same-origin').set('Origin', 'null');
    expect((await browser.send({ csrf: token })).text).toBe('ok');
  });

  it('refuses a missing, wrong or foreign token, no cookie, and another site', async () => {
    const a = app();
    const { cookie, token } = await session(a);
    const other = await session(a);
    const post = (fields: Record<string, string>, headers: Record<string, string> = {}) =>
      request(a)
        .post('/form')
        .set({ Cookie: cookie, ...headers })
        .type('form')
        .send(fields);
    const expired = /^refused: the form has expired or was not made by this page/;
    expect((await post({})).text).toMatch(expired);
    expect((await post({ csrf: 'x' })).text).toMatch(expired);
    expect((await post({ csrf: other.token })).text).toMatch(expired);
    // The token of a process started since (a new key) is refused too.
    expect(
      (await request(app()).post('/form').set('Cookie', cookie).type('form').send({ csrf: token }))
        .text,
    ).toMatch(expired);
    expect((await request(a).post('/form').type('form').send({ csrf: token })).text).toMatch(
      /^refused: no session cookie/,
    );
    expect((await post({ csrf: token }, { 'Sec-Fetch-Site': 'cross-site' })).text).toBe(
      'refused: the form was sent from another site (Sec-Fetch-Site: cross-site)',
    );
    expect((await post({ csrf: token }, { 'Sec-Fetch-Site': 'same-site' })).text).toMatch(
      /another site/,
    );
    expect((await post({ csrf: token }, { Origin: 'https://evil.example' })).text).toBe(
      'refused: the form was sent from another origin (Origin does not match Host)',
    );
  });
});
