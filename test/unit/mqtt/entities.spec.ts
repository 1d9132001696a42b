import { describe, expect, it } from 'vitest';
import type { MqttConfig } from '../../../src/config/schema.js';
import { objectIdOf, retainedMessages } from '../../../src/mqtt/entities.js';
import type { ImageState, Snapshot } from '../../../src/watch/model.js';
import { container, digest, record } from '../watch/fixtures.js';

const config: MqttConfig = {
  url: 'mqtt://broker:1883',
  discoveryPrefix: 'homeassistant',
  topicPrefix: 'diun-exporter',
  qos: 1,
};

const IMAGE = 'registry.example.org/shop/web:1.4.2';

function image(
  containers: Array<{ name: string; updateAvailable: boolean; endpoint?: string }>,
  overrides: Partial<ImageState> = {},
): ImageState {
  return {
    record: record({ image: IMAGE, remoteDigest: digest('b') }),
    hubLink: '',
    releaseLink: '',
    updatesDetected: 0,
    localDigests: [digest('a')],
    containers: containers.map(({ name, updateAvailable, endpoint = 'local' }) => ({
      container: container({ name, endpoint, image: IMAGE, repoDigests: [digest('a')] }),
      updateAvailable,
      status: updateAvailable ? 'update' : 'unchange',
    })),
    ...overrides,
  };
}

const snapshot = (...images: ImageState[]): Snapshot => ({ images, at: 1_700_000_000 });

/** The entities of a snapshot: each config and state, parsed, by container name. */
function entities(s: Snapshot) {
  const messages = retainedMessages(config, s);
  const byName = new Map<
    string,
    { configTopic: string; config: Record<string, unknown>; state: Record<string, string> }
  >();
  for (const [topic, payload] of messages) {
    if (!topic.endsWith('/config')) continue;
    const parsed = JSON.parse(payload) as Record<string, unknown>;
    const state = JSON.parse(messages.get(parsed.state_topic as string)!) as Record<string, string>;
    byName.set(parsed.name as string, { configTopic: topic, config: parsed, state });
  }
  return byName;
}

describe('Home Assistant update entities', () => {
  it('shows the tag when the container runs what it points at', () => {
    const web = entities(snapshot(image([{ name: 'web', updateAvailable: false }]))).get('web')!;
    expect(web.state).toEqual({
      installed_version: '1.4.2',
      latest_version: '1.4.2',
      title: IMAGE,
    });
  });

  it('shows the tag with each side’s short digest when the tag moved, and the release link', () => {
    const s = snapshot(
      image([{ name: 'web', updateAvailable: true }], {
        releaseLink: 'https://github.com/acme/shop/releases/tag/v1.4.2',
      }),
    );
    expect(entities(s).get('web')!.state).toEqual({
      installed_version: '1.4.2 (aaaaaaaaaaaa)',
      latest_version: '1.4.2 (bbbbbbbbbbbb)',
      title: IMAGE,
      release_url: 'https://github.com/acme/shop/releases/tag/v1.4.2',
    });
  });

  it('shows a newer tag of a watch_repo image as the latest version', () => {
    const s = snapshot(
      image([{ name: 'web', updateAvailable: false }], {
        record: record({
          image: IMAGE,
          version: { current: '1.4.2', latest: '1.6.0', newer: true, diff: 'minor' },
        }),
      }),
    );
    expect(entities(s).get('web')!.state).toMatchObject({
      installed_version: '1.4.2',
      latest_version: '1.6.0',
    });
  });

  it('groups the containers of one endpoint into one device, and each endpoint into its own', () => {
    const s = snapshot(
      image([
        { name: 'web', updateAvailable: false },
        { name: 'worker', updateAvailable: false },
        { name: 'web', updateAvailable: false, endpoint: 'nas' },
      ]),
    );
    const configs = [...retainedMessages(config, s)]
      .filter(([topic]) => topic.endsWith('/config'))
      .map(([, payload]) => JSON.parse(payload) as { device: { name: string } });
    expect(configs).toHaveLength(3);
    expect(configs.map((c) => c.device.name)).toEqual([
      'local (docker)',
      'local (docker)',
      'nas (docker)',
    ]);
    expect(configs[0]!.device).toEqual(configs[1]!.device);
    expect(configs[2]!.device).not.toEqual(configs[0]!.device);
  });

  it('is one entity, outdated while any is, for replicas listed under one key', () => {
    const s = snapshot(
      image([
        { name: 'web', updateAvailable: false },
        { name: 'web', updateAvailable: true },
        { name: 'web', updateAvailable: false },
      ]),
    );
    const messages = retainedMessages(config, s);
    expect(messages.size).toBe(2);
    const web = entities(s).get('web')!;
    expect(web.state.installed_version).not.toBe(web.state.latest_version);
  });

  it('announces a read-only entity with availability, device and origin', () => {
    const web = entities(snapshot(image([{ name: 'web', updateAvailable: false }]))).get('web')!;
    const objectId = web.configTopic.split('/')[2]!;
    expect(web.configTopic).toBe(`homeassistant/update/${objectId}/config`);
    expect(web.config).toEqual({
      name: 'web',
      unique_id: `diun-exporter_${objectId}`,
      state_topic: `diun-exporter/update/${objectId}/state`,
      availability: [
        {
          topic: 'diun-exporter/availability',
          payload_available: 'online',
          payload_not_available: 'offline',
        },
      ],
      device: {
        identifiers: [expect.stringMatching(/^diun-exporter_docker_[0-9a-f]{12}$/)],
        name: 'local (docker)',
        manufacturer: 'diun-exporter',
        model: 'docker',
        sw_version: expect.any(String),
      },
      origin: { name: 'diun-exporter', sw_version: expect.any(String) },
    });
  });
});

describe('objectIdOf', () => {
  const place = { host: '', group: '', path: '' };

  it('is safe in a topic and bounded, whatever the names', () => {
    for (const name of ['web', 'a/b+c#d', 'x'.repeat(500), 'ünïcödé space', '']) {
      const id = objectIdOf(
        'diun-exporter',
        { endpoint: 'tcp://host:2375/#', name, place },
        'docker',
      );
      expect(id).toMatch(/^[a-z0-9_-]{1,53}$/);
    }
  });

  it('is the same for the same container, and differs by endpoint, group, name and prefix', () => {
    const web = { endpoint: 'local', name: 'web', place };
    const id = objectIdOf('diun-exporter', web, 'docker');
    expect(objectIdOf('diun-exporter', { ...web }, 'docker')).toBe(id);
    expect(objectIdOf('diun-exporter', { ...web, endpoint: 'nas' }, 'docker')).not.toBe(id);
    expect(objectIdOf('diun-exporter', { ...web, name: 'Web' }, 'docker')).not.toBe(id);
    expect(objectIdOf('other', web, 'docker')).not.toBe(id);
    expect(
      objectIdOf('diun-exporter', { ...web, place: { ...place, group: 'shop / web' } }, 'docker'),
    ).not.toBe(id);
    // Names that read alike once made safe stay apart.
    expect(objectIdOf('diun-exporter', { ...web, name: 'a/b' }, 'docker')).not.toBe(
      objectIdOf('diun-exporter', { ...web, name: 'a_b' }, 'docker'),
    );
  });
});
