import { describe, expect, it } from 'vitest';
import {
  pinnedDigest,
  snoozeChoice,
  snoozeSilence,
  UNTIL_DIGEST_MAX_DAYS,
} from '../../../src/snooze/silence.js';

const NOW = Date.parse('2026-12-05T10:00:00Z');
const DIGEST = `sha256:${'ab'.repeat(32)}`;
const target = { provider: 'docker', image: 'ghcr.io/acme/api:2', remoteDigest: DIGEST };

describe('the silence of a snooze', () => {
  it('matches the update alerts of exactly that image and provider, for 7 days', () => {
    expect(snoozeSilence(target, snoozeChoice('7d')!, NOW)).toEqual({
      matchers: [
        {
          name: 'alertname',
          value: 'DiunContainerUpdateAvailable|DiunUpdatePendingTooLong',
          isRegex: true,
          isEqual: true,
        },
        { name: 'provider', value: 'docker', isRegex: false, isEqual: true },
        { name: 'image', value: 'ghcr.io/acme/api:2', isRegex: false, isEqual: true },
      ],
      startsAt: '2026-12-05T10:00:00.000Z',
      endsAt: '2026-12-12T10:00:00.000Z',
      createdBy: 'diun-exporter',
      comment: 'Snoozed from the diun-exporter status page: ghcr.io/acme/api:2, for 7 days',
    });
    expect(snoozeSilence(target, snoozeChoice('1d')!, NOW).endsAt).toBe('2026-12-06T10:00:00.000Z');
  });

  it('until a newer digest: names the digest it waits on, which reads back', () => {
    const silence = snoozeSilence(target, snoozeChoice('digest')!, NOW);
    expect(silence.comment).toBe(
      `Snoozed from the diun-exporter status page: ghcr.io/acme/api:2, until the registry has a newer digest than ${DIGEST} (at most ${UNTIL_DIGEST_MAX_DAYS} days)`,
    );
    expect(silence.endsAt).toBe('2027-03-05T10:00:00.000Z');
    expect(pinnedDigest(silence)).toBe(DIGEST);
    // Only a silence of ours is ended by the exporter, whatever its comment says.
    expect(pinnedDigest({ ...silence, createdBy: 'alice' })).toBeUndefined();
    expect(pinnedDigest(snoozeSilence(target, snoozeChoice('7d')!, NOW))).toBeUndefined();
  });

  it('offers only its three choices', () => {
    expect(['1d', '7d', 'digest'].map((v) => snoozeChoice(v)?.days)).toEqual([1, 7, 90]);
    expect(snoozeChoice('30d')).toBeUndefined();
    expect(snoozeChoice(['7d'])).toBeUndefined();
  });
});
