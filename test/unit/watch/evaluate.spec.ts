import { describe, expect, it } from 'vitest';
import { evaluate, isOutdated } from '../../../src/watch/evaluate.js';
import type { Snapshot } from '../../../src/watch/model.js';
import { recordsOf } from '../../support/records.js';
import { container, digest, record } from './fixtures.js';

const NGINX = 'docker.io/library/nginx:latest';
const PINNED = `docker.io/library/redis@${digest('d')}`;
const AT = 1_800_000_000;

const records = recordsOf;

/** image -> [status, updateAvailable, per container "name status"], as the outputs show it. */
function picture(s: Snapshot) {
  return s.images.map((i) => [
    i.record.image,
    i.record.status,
    i.record.updateAvailable,
    i.containers.map(
      (c) => `${c.container.name} ${c.status}${c.updateAvailable ? ' outdated' : ''}`,
    ),
  ]);
}

describe('evaluate: a container is outdated while the tag points at another digest', () => {
  it('is up to date when the remote digest is any of the RepoDigests of its repository', () => {
    const web = container({ repoDigests: [digest('0'), digest('b')] });
    const snapshot = evaluate([web], records(record({ remoteDigest: digest('b') })), AT);
    expect(picture(snapshot)).toEqual([[NGINX, 'unchange', false, ['web unchange']]]);
    expect(snapshot.at).toBe(AT);
  });

  it('is outdated when it is not, and the image with it', () => {
    const snapshot = evaluate(
      [container({ name: 'old' }), container({ name: 'fresh', repoDigests: [digest('b')] })],
      records(record({ remoteDigest: digest('b') })),
      AT,
    );
    expect(picture(snapshot)).toEqual([
      [NGINX, 'update', true, ['old update outdated', 'fresh unchange']],
    ]);
  });

  it('stays outdated at every evaluation until the container runs the new digest', () => {
    const known = records(record({ remoteDigest: digest('b') }));
    const old = [container({ name: 'web' })];
    expect(picture(evaluate(old, known, AT))[0]![2]).toBe(true);
    expect(picture(evaluate(old, known, AT + 3600))[0]![2]).toBe(true);
    // Recreated on the new image: cleared with no new registry answer.
    const recreated = [container({ name: 'web', id: 'new-id', repoDigests: [digest('b')] })];
    expect(picture(evaluate(recreated, known, AT + 3601))).toEqual([
      [NGINX, 'unchange', false, ['web unchange']],
    ]);
  });

  it('never marks local builds or digest pins as outdated; they are skip', () => {
    const built = container({
      name: 'built',
      image: 'docker.io/me/app:dev',
      repoDigests: [],
      skip: 'locally built (no RepoDigests)',
    });
    const pinned = container({
      name: 'pinned',
      image: PINNED,
      repoDigests: [digest('d')],
      skip: 'pinned by digest',
    });
    // Even with a record whose digest differs, and with no check ever made.
    const snapshot = evaluate(
      [built, pinned],
      records(record({ image: 'docker.io/me/app:dev', remoteDigest: digest('e') })),
      AT,
    );
    expect(picture(snapshot)).toEqual([
      [PINNED, 'skip', false, ['pinned skip']],
      ['docker.io/me/app:dev', 'skip', false, ['built skip']],
    ]);
    expect(isOutdated(built, record({ remoteDigest: digest('e') }))).toBe(false);
  });

  it('shows a container whose reference does not parse as error, not skip, and its image too', () => {
    const broken = container({
      name: 'broken',
      image: 'Not A Reference',
      repoDigests: [],
      skip: 'invalid reference',
      errors: ['invalid reference format: repository name must be lowercase'],
    });
    expect(picture(evaluate([broken], records(), AT))).toEqual([
      ['Not A Reference', 'error', false, ['broken error']],
    ]);
    // Still error after a run, which records the skipped image as checked (status skip).
    const afterRun = record({ image: 'Not A Reference', status: 'skip', remoteDigest: undefined });
    expect(picture(evaluate([broken], records(afterRun), AT))).toEqual([
      ['Not A Reference', 'error', false, ['broken error']],
    ]);
  });

  it('leaves out images not checked yet, and says new after the first check', () => {
    const web = [container()];
    expect(evaluate(web, new Map(), AT).images).toEqual([]);
    expect(evaluate(web, records(record({ lastCheck: undefined })), AT).images).toEqual([]);
    expect(picture(evaluate(web, records(record({ status: 'new' })), AT))).toEqual([
      [NGINX, 'new', false, ['web new']],
    ]);
  });

  it('shows a failed check as error, still outdated on the last good digest', () => {
    const failed = record({
      remoteDigest: digest('b'),
      status: 'error',
      error: 'timeout',
      reason: 'timeout',
    });
    const [image] = evaluate([container()], records(failed), AT).images;
    expect(image!.record).toMatchObject({
      status: 'error',
      updateAvailable: true,
      error: 'timeout',
      reason: 'timeout',
    });
    expect(image!.containers[0]).toMatchObject({ status: 'error', updateAvailable: true });
  });

  it('shows a container with a bad label as error, the image keeping its own status', () => {
    const bad = container({ name: 'bad', errors: ['label diun.max_tags: expected integer'] });
    expect(picture(evaluate([bad, container()], records(record()), AT))).toEqual([
      [NGINX, 'unchange', false, ['bad error', 'web unchange']],
    ]);
  });

  it('keeps providers apart and sorts images by reference', () => {
    const snapshot = evaluate(
      [
        container({ name: 'z', image: 'docker.io/library/redis:7' }),
        container({ name: 'd' }),
        container({ name: 'f', provider: 'file' }),
      ],
      records(
        record({ image: 'docker.io/library/redis:7' }),
        record(),
        record({ provider: 'file', remoteDigest: digest('b') }),
      ),
      AT,
    );
    expect(
      snapshot.images.map((i) => [i.record.provider, i.record.image, i.record.status]),
    ).toEqual([
      ['docker', NGINX, 'unchange'],
      ['file', NGINX, 'update'],
      ['docker', 'docker.io/library/redis:7', 'unchange'],
    ]);
  });

  it('gives the local digests of every container once, and the hub link a label sets', () => {
    const [image] = evaluate(
      [
        container({ name: 'a', repoDigests: [digest('b'), digest('a')] }),
        container({
          name: 'b',
          options: { ...container().options, hubLink: 'https://example.com/nginx' },
        }),
      ],
      records(record()),
      AT,
    ).images;
    expect(image!.localDigests).toEqual([digest('a'), digest('b')]);
    expect(image!.hubLink).toBe('https://example.com/nginx');
    const [plain] = evaluate([container()], records(record()), AT).images;
    expect(plain!.hubLink).toBe('https://hub.docker.com/_/nginx');
  });
});
