import { describe, expect, it } from 'vitest';
import { byCodeUnit, byNaturalOrder } from '../../src/order.js';

describe('byCodeUnit', () => {
  it('orders image references and timestamps as the strings compare', () => {
    const images = [
      'ghcr.io/org/app:2',
      'docker.io/library/nginx:latest',
      'docker.io/library/nginx:1.27',
      'docker.io/library/alpine:3',
      'ghcr.io/org/app:10',
    ];
    expect([...images].sort(byCodeUnit)).toEqual([
      'docker.io/library/alpine:3',
      'docker.io/library/nginx:1.27',
      'docker.io/library/nginx:latest',
      'ghcr.io/org/app:10',
      'ghcr.io/org/app:2',
    ]);
    const times = ['2026-12-05T18:21:16Z', '2026-01-31T23:59:59Z', '2026-12-05T09:00:00Z'];
    expect([...times].sort(byCodeUnit)).toEqual([
      '2026-01-31T23:59:59Z',
      '2026-12-05T09:00:00Z',
      '2026-12-05T18:21:16Z',
    ]);
  });

  it('sorts upper case before lower case and a prefix before what extends it', () => {
    expect(['b', 'B', 'a', 'A', 'ab', ''].sort(byCodeUnit)).toEqual(['', 'A', 'B', 'a', 'ab', 'b']);
  });

  it('is zero only for equal strings', () => {
    expect(byCodeUnit('nginx', 'nginx')).toBe(0);
    expect(byCodeUnit('nginx', 'nginx:1')).toBeLessThan(0);
    expect(byCodeUnit('nginx:1', 'nginx')).toBeGreaterThan(0);
  });
});

describe('byNaturalOrder', () => {
  it('puts DIUN_REGOPTS_2_NAME before DIUN_REGOPTS_10_NAME', () => {
    expect(byNaturalOrder('DIUN_REGOPTS_2_NAME', 'DIUN_REGOPTS_10_NAME')).toBeLessThan(0);
    expect(byNaturalOrder('DIUN_REGOPTS_10_NAME', 'DIUN_REGOPTS_2_NAME')).toBeGreaterThan(0);
    expect(byCodeUnit('DIUN_REGOPTS_2_NAME', 'DIUN_REGOPTS_10_NAME')).toBeGreaterThan(0);
  });

  it('orders list variables by index, then the rest by code unit', () => {
    const names = [
      'DIUN_REGOPTS_10_NAME',
      'DIUN_WATCH_WORKERS',
      'DIUN_REGOPTS_1_USERNAME',
      'DIUN_REGOPTS_2_NAME',
      'DIUN_REGOPTS_1_NAME',
      'DIUN_REGOPTS_0_NAME',
      'DIUN_PROVIDERS_DOCKER',
      'DIUN_PROVIDERS_DOCKER_ENDPOINT',
    ];
    expect(names.sort(byNaturalOrder)).toEqual([
      'DIUN_PROVIDERS_DOCKER',
      'DIUN_PROVIDERS_DOCKER_ENDPOINT',
      'DIUN_REGOPTS_0_NAME',
      'DIUN_REGOPTS_1_NAME',
      'DIUN_REGOPTS_1_USERNAME',
      'DIUN_REGOPTS_2_NAME',
      'DIUN_REGOPTS_10_NAME',
      'DIUN_WATCH_WORKERS',
    ]);
  });

  it('compares digit runs longer than a double holds, and tells 1 from 01', () => {
    expect(byNaturalOrder('x_99999999999999999999', 'x_100000000000000000000')).toBeLessThan(0);
    expect(byNaturalOrder('x_01', 'x_1')).toBeLessThan(0);
    expect(byNaturalOrder('x_1', 'x_01')).toBeGreaterThan(0);
    expect(byNaturalOrder('x_1', 'x_1')).toBe(0);
  });

  it('sorts a prefix first and digits before letters', () => {
    expect(['a1b', 'a1', 'a', 'ab', 'a10'].sort(byNaturalOrder)).toEqual([
      'a',
      'a1',
      'a1b',
      'a10',
      'ab',
    ]);
  });
});
