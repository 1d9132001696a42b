import { describe, expect, it } from 'vitest';
import { parseWwwAuthenticate, pickChallenge, tokenExpiresAt } from '../../../src/registry/auth.js';

describe('parseWwwAuthenticate', () => {
  it("reads Docker Hub's Bearer challenge", () => {
    const header =
      'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull"';
    expect(parseWwwAuthenticate(header)).toEqual([
      {
        scheme: 'bearer',
        params: {
          realm: 'https://auth.docker.io/token',
          service: 'registry.docker.io',
          scope: 'repository:library/nginx:pull',
        },
      },
    ]);
  });

  it('reads Basic, and lower-cases scheme and parameter names', () => {
    expect(parseWwwAuthenticate('BASIC Realm="Registry Realm"')).toEqual([
      { scheme: 'basic', params: { realm: 'Registry Realm' } },
    ]);
    expect(parseWwwAuthenticate('Basic')).toEqual([{ scheme: 'basic', params: {} }]);
  });

  it('reads several challenges in one header or in several headers', () => {
    const one = 'Basic realm="a, b", Bearer realm="https://t.example/token", service=reg';
    const expected = [
      { scheme: 'basic', params: { realm: 'a, b' } },
      { scheme: 'bearer', params: { realm: 'https://t.example/token', service: 'reg' } },
    ];
    expect(parseWwwAuthenticate(one)).toEqual(expected);
    expect(
      parseWwwAuthenticate([
        'Basic realm="a, b"',
        'Bearer realm="https://t.example/token",service=reg',
      ]),
    ).toEqual(expected);
  });

  it('keeps escaped quotes, spaces around "=" and bare values with slashes', () => {
    expect(
      parseWwwAuthenticate(
        'Bearer realm = "say \\"hi\\"" , service=a/b:1,error="insufficient_scope"',
      ),
    ).toEqual([
      {
        scheme: 'bearer',
        params: { realm: 'say "hi"', service: 'a/b:1', error: 'insufficient_scope' },
      },
    ]);
  });

  it('gives nothing for an empty or missing header and survives garbage', () => {
    expect(parseWwwAuthenticate(undefined)).toEqual([]);
    expect(parseWwwAuthenticate('')).toEqual([]);
    expect(() => parseWwwAuthenticate('=,,"unterminated')).not.toThrow();
    expect(parseWwwAuthenticate('Bearer realm="unterminated')).toEqual([
      { scheme: 'bearer', params: { realm: 'unterminated' } },
    ]);
  });
});

describe('pickChallenge', () => {
  it('prefers Bearer with a realm, then Basic', () => {
    expect(
      pickChallenge(
        parseWwwAuthenticate('Basic realm="x", Bearer realm="https://t/token",service="s"'),
      ),
    ).toEqual({ scheme: 'bearer', realm: 'https://t/token', service: 's' });
    expect(pickChallenge(parseWwwAuthenticate('Bearer realm="https://t/token"'))).toEqual({
      scheme: 'bearer',
      realm: 'https://t/token',
    });
    expect(pickChallenge(parseWwwAuthenticate('Bearer service="s", Basic realm="x"'))).toEqual({
      scheme: 'basic',
    });
  });

  it('gives undefined for schemes Docker cannot answer', () => {
    expect(pickChallenge(parseWwwAuthenticate('Negotiate abc=='))).toBeUndefined();
    expect(pickChallenge([])).toBeUndefined();
  });
});

describe('tokenExpiresAt', () => {
  const now = Date.parse('2025-01-01T00:00:00Z');

  it('keeps a token until shortly before expires_in runs out', () => {
    expect(tokenExpiresAt(300, undefined, now)).toBe(now + 290_000);
    expect(tokenExpiresAt(2, undefined, now)).toBe(now + 1_800);
  });

  it('defaults expires_in to 60 seconds', () => {
    expect(tokenExpiresAt(undefined, undefined, now)).toBe(now + 54_000);
    expect(tokenExpiresAt('300', undefined, now)).toBe(now + 54_000);
  });

  it('counts from issued_at when it is a recent past time, else from now', () => {
    const issued = new Date(now - 5_000).toISOString();
    expect(tokenExpiresAt(300, issued, now)).toBe(now - 5_000 + 290_000);
    const skewedPast = new Date(now - 3_600_000).toISOString();
    expect(tokenExpiresAt(300, skewedPast, now)).toBe(now + 290_000);
    const future = new Date(now + 60_000).toISOString();
    expect(tokenExpiresAt(300, future, now)).toBe(now + 290_000);
    expect(tokenExpiresAt(300, 'not a date', now)).toBe(now + 290_000);
  });
});
