import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { fileDockerd } from '../support/dockerd.js';
import { waitFor } from '../support/exec.js';
import { type ExporterProcess, startExporter } from '../support/exporter.js';
import { publish, runContainer } from '../support/images.js';
import { value } from '../support/metrics-text.js';
import {
  type Mosquitto,
  type Subscriber,
  startMosquitto,
  subscribe,
} from '../support/mosquitto.js';
import { pushPlatformImage, tagManifest } from '../support/oci.js';
import { type Registry, startRegistry } from '../support/registry.js';
import { suiteTeardown } from '../support/teardown.js';

// Home Assistant update entities on a real Mosquitto (password file, no anonymous access, no
// persistence), fed by the built exporter from the real registry, Docker and the file provider.
// The test subscribes as Home Assistant does: discovery configs and states, retained.

interface Discovery {
  name: string;
  unique_id: string;
  state_topic: string;
  availability: Array<{ topic: string; payload_available: string; payload_not_available: string }>;
  device: { identifiers: string[]; name: string };
  [key: string]: unknown;
}

interface EntityState {
  installed_version: string;
  latest_version: string;
  title: string;
  release_url?: string;
}

const PREFIX = 'homeassistant';

/** The discovery configs seen so far (the last payload of each config topic), by topic. */
function discoveries(sub: Subscriber): Map<string, string> {
  const configs = new Map<string, string>();
  for (const m of sub.messages) if (m.topic.endsWith('/config')) configs.set(m.topic, m.payload);
  return configs;
}

/** The live discovery config of the entity named `name`, and its topic. */
function entityNamed(
  sub: Subscriber,
  name: string,
): { topic: string; config: Discovery } | undefined {
  for (const [topic, payload] of discoveries(sub)) {
    if (payload === '') continue;
    const config = JSON.parse(payload) as Discovery;
    if (config.name === name) return { topic, config };
  }
  return undefined;
}

const stateOf = (sub: Subscriber, config: Discovery): EntityState | undefined => {
  const payload = sub.last(config.state_topic);
  return payload ? (JSON.parse(payload) as EntityState) : undefined;
};

// A dockerd of this file's own: files run in parallel, and none sees another's containers.
const dockerd = fileDockerd();

describe('Home Assistant update entities over MQTT', () => {
  const teardown = suiteTeardown();
  const docker = dockerd.docker;
  const suffix = randomUUID().slice(0, 8);
  const names = {
    app: `ha-app-${suffix}`,
    gone: `ha-gone-${suffix}`,
    meanwhile: `ha-meanwhile-${suffix}`,
  };
  let broker: Mosquitto;
  let registry: Registry;
  let exporter: ExporterProcess;
  let sub: Subscriber;
  let image: string;
  let dir: string;
  const origin = (revision: string) => ({
    'org.opencontainers.image.source': 'https://github.com/acme/shop',
    'org.opencontainers.image.revision': revision,
  });

  const check = async (target = exporter) => {
    const res = await fetch(`${target.url}/api/v1/check`, { method: 'POST' });
    expect(res.status).toBe(200);
  };
  const until = <T>(fn: () => T | undefined, what: string) =>
    waitFor(() => fn(), { timeoutMs: 20_000, intervalMs: 50, what });

  beforeAll(async () => {
    broker = teardown.add(await startMosquitto(), (b) => b.stop());
    registry = teardown.add(await startRegistry(), (r) => r.stop());
    dir = teardown.add(await mkdtemp(join(tmpdir(), 'mqtt-spec-')), (d) =>
      rm(d, { recursive: true, force: true }),
    );
    await writeFile(join(dir, 'mqtt-password'), `${broker.password}\n`);
    image = `${registry.host}/ha/app:1.0`;
    await publish(docker, image, `v1 ${suffix}`, origin('1111111111111111'));
    teardown.add(null, () => docker(['rm', '-f', ...Object.values(names)]).catch(() => undefined));
    await runContainer(docker, image, names.app);
    await runContainer(docker, image, names.gone);
    sub = teardown.add(await subscribe(broker, [`${PREFIX}/#`, 'diun-exporter/#']), (s) =>
      s.close(),
    );
    exporter = teardown.add(
      await startExporter({
        watch: { schedule: '', workers: 2 },
        providers: { docker: { endpoint: dockerd.host, watchByDefault: true } },
        mqtt: {
          url: broker.url,
          username: broker.user,
          passwordFile: join(dir, 'mqtt-password'),
          clientId: `exporter-${suffix}`,
        },
      }),
      (e) => e.stop(),
    );
  });

  it('announces one update entity per container, as Home Assistant documents the schema', async () => {
    const { topic, config } = await until(
      () => entityNamed(sub, names.app),
      'the discovery config',
    );
    expect(topic).toMatch(new RegExp(`^${PREFIX}/update/[a-zA-Z0-9_-]{1,64}/config$`));
    const objectId = topic.split('/')[2]!;
    expect(config).toMatchObject({
      name: names.app,
      state_topic: `diun-exporter/update/${objectId}/state`,
      availability: [
        {
          topic: 'diun-exporter/availability',
          payload_available: 'online',
          payload_not_available: 'offline',
        },
      ],
      device: { name: 'local (docker)' },
    });
    expect(config.unique_id).toContain(objectId);
    expect(config.device.identifiers).toHaveLength(1);
    // Both containers are on one Docker endpoint: one device.
    const other = await until(() => entityNamed(sub, names.gone), 'the second discovery config');
    expect(other.config.device).toEqual(config.device);
    expect(other.config.unique_id).not.toBe(config.unique_id);
    // Read-only: nothing Home Assistant could send back, no picture.
    expect(config).not.toHaveProperty('command_topic');
    expect(config).not.toHaveProperty('entity_picture');
    // Retained: a subscriber that comes later (Home Assistant starting) gets it from the broker.
    const late = await subscribe(broker, [topic]);
    try {
      const retained = await until(() => late.messages.find((m) => m.topic === topic), 'retained');
      expect(retained.retain).toBe(true);
    } finally {
      await late.close();
    }

    const state = await until(() => stateOf(sub, config), 'the state');
    expect(state.installed_version).toBe('1.0');
    expect(state.latest_version).toBe(state.installed_version);
    expect(state.title).toBe(image);
    expect(sub.last('diun-exporter/availability')).toBe('online');
    const s = await exporter.scrape();
    expect(value(s, 'diun_mqtt_up', {})).toBe(1);
    expect(value(s, 'diun_mqtt_messages_published_total', {})).toBeGreaterThanOrEqual(5);
    expect(value(s, 'diun_mqtt_messages_failed_total', {})).toBe(0);
    expect(exporter.output()).not.toContain(broker.password);
  });

  it('changes the state within one check when the tag moves, with the release link', async () => {
    const { config } = entityNamed(sub, names.app)!;
    await publish(docker, image, `v2 ${suffix}`, origin('2222222222222222'));
    await check();
    const state = await until(() => {
      const st = stateOf(sub, config);
      return st && st.installed_version !== st.latest_version ? st : undefined;
    }, 'the state to show the update');
    expect(state.installed_version).toMatch(/^1\.0 \([0-9a-f]{12}\)$/);
    expect(state.latest_version).toMatch(/^1\.0 \([0-9a-f]{12}\)$/);
    expect(state.release_url).toBe(
      'https://github.com/acme/shop/compare/1111111111111111...2222222222222222',
    );
  });

  it('clears the update when the container is recreated on the new image', async () => {
    const { config } = entityNamed(sub, names.app)!;
    await docker(['rm', '-f', names.app]);
    await runContainer(docker, image, names.app);
    const state = await until(() => {
      const st = stateOf(sub, config);
      return st && st.installed_version === st.latest_version ? st : undefined;
    }, 'the state to show no update (Docker events)');
    expect(state.installed_version).toBe('1.0');
    // Same name, same entity: no second discovery config.
    expect(entityNamed(sub, names.app)?.config.unique_id).toBe(config.unique_id);
  });

  it('removes the entity of a container that is gone (empty retained config and state)', async () => {
    const { topic, config } = entityNamed(sub, names.gone)!;
    await docker(['rm', '-f', names.gone]);
    await until(() => (sub.last(topic) === '' ? true : undefined), 'the empty discovery config');
    await until(() => (sub.last(config.state_topic) === '' ? true : undefined), 'the empty state');
    // A subscriber that comes now (Home Assistant restarting) finds nothing retained for it.
    const late = await subscribe(broker, [topic, config.state_topic, `${PREFIX}/#`]);
    try {
      await until(() => (entityNamed(late, names.app) ? true : undefined), 'the retained configs');
      expect(
        late.messages.filter((m) => m.topic === topic || m.topic === config.state_topic),
      ).toEqual([]);
    } finally {
      await late.close();
    }
  });

  it('publishes every retained message again when the broker restarts empty', async () => {
    const { topic, config } = entityNamed(sub, names.app)!;
    const before = stateOf(sub, config);
    await broker.restart();
    const late = await subscribe(broker, [`${PREFIX}/#`, 'diun-exporter/#']);
    try {
      const again = await until(() => entityNamed(late, names.app), 'the config published again');
      expect(again.topic).toBe(topic);
      expect(await until(() => stateOf(late, config), 'the state published again')).toEqual(before);
      expect(late.last('diun-exporter/availability')).toBe('online');
    } finally {
      await late.close();
    }
    const s = await exporter.until((s) => value(s, 'diun_mqtt_up', {}) === 1, 'diun_mqtt_up 1');
    expect(value(s, 'diun_mqtt_up', {})).toBe(1);
    // The test's first subscriber lost its connection with the broker: connect it again.
    await sub.close();
    sub = await subscribe(broker, [`${PREFIX}/#`, 'diun-exporter/#']);
  });

  it('checks as usual while the broker is down, and publishes what changed once it is back', async () => {
    const { config } = await until(() => entityNamed(sub, names.app), 'the retained config');
    await sub.close();
    await broker.halt();
    await exporter.until((s) => value(s, 'diun_mqtt_up', {}) === 0, 'diun_mqtt_up 0');
    await publish(docker, image, `v3 ${suffix}`, origin('3333333333333333'));
    await check();
    const s = await exporter.scrape();
    expect(value(s, 'diun_container_update_available', { container: names.app })).toBe(1);
    await broker.start();
    sub = await subscribe(broker, [`${PREFIX}/#`, 'diun-exporter/#']);
    const state = await until(() => {
      const st = stateOf(sub, config);
      return st && st.installed_version !== st.latest_version ? st : undefined;
    }, 'the changed state after the broker came back');
    expect(state.release_url).toBe(
      'https://github.com/acme/shop/compare/2222222222222222...3333333333333333',
    );
    expect(exporter.output()).toMatch(/level=warn msg="mqtt: disconnected"/);
  });

  it('removes, after a restart with no state file, the entity of a container gone meanwhile', async () => {
    await runContainer(docker, image, names.meanwhile);
    const { topic, config } = await until(() => entityNamed(sub, names.meanwhile), 'its entity');
    await exporter.kill();
    await docker(['rm', '-f', names.meanwhile]);
    await rm(exporter.statePath, { force: true });
    const before = sub.messages.length;
    await exporter.restart();
    await until(() => (sub.last(topic) === '' ? true : undefined), 'the empty discovery config');
    expect(sub.last(config.state_topic)).toBe('');
    // The containers still there keep their entities.
    const kept = sub.messages
      .slice(before)
      .filter((m) => m.payload === '')
      .map((m) => m.topic);
    expect(kept.sort()).toEqual([topic, config.state_topic].sort());
    expect(entityNamed(sub, names.app)).toBeDefined();
    expect(exporter.output()).toContain('mqtt: removing an entity whose container is gone');
  });

  it('says a wrong password in the log and diun_mqtt_up 0, and keeps serving', async () => {
    const wrong = await startExporter({
      watch: { schedule: '', runOnStartup: false },
      mqtt: { url: broker.url, username: broker.user, password: 'not-the-password' },
    });
    try {
      await until(
        () => (wrong.output().includes('Not authorized') ? true : undefined),
        'the refusal in the log',
      );
      const line = wrong
        .output()
        .split('\n')
        .find((l) => l.includes('Not authorized'))!;
      expect(line).toContain('level=error');
      expect(line).toContain('mqtt.username');
      expect(line).not.toContain('not-the-password');
      const s = await wrong.scrape();
      expect(value(s, 'diun_mqtt_up', {})).toBe(0);
      expect((await fetch(`${wrong.url}/-/healthy`)).status).toBe(200);
    } finally {
      await wrong.stop();
    }
  });

  it('publishes one state message for 50 entries of which 1 changed, and none when nothing did', async () => {
    const repo = 'ha/many';
    const first = await pushPlatformImage(registry.url, repo, {
      os: 'linux',
      architecture: 'amd64',
    });
    const tags = Array.from({ length: 50 }, (_, i) => `t${i}`);
    for (const tag of tags) await tagManifest(registry.url, repo, tag, first);
    const file = join(dir, 'images.yml');
    await writeFile(
      file,
      stringify(tags.map((tag) => ({ name: `${registry.host}/${repo}:${tag}` }))),
    );
    const many = await startExporter({
      watch: { schedule: '', workers: 4 },
      providers: { file: { filename: file } },
      mqtt: {
        url: broker.url,
        username: broker.user,
        password: broker.password,
        topicPrefix: `many-${suffix}`,
      },
    });
    const watcher = await subscribe(broker, [`${PREFIX}/#`, `many-${suffix}/#`]);
    try {
      const states = () =>
        watcher.messages.filter((m) => m.topic.startsWith(`many-${suffix}/update/`));
      await until(() => (states().length === 50 ? true : undefined), '50 states');
      const configs = () =>
        watcher.messages.filter(
          (m) => m.topic.endsWith('/config') && m.payload.includes(`many-${suffix}/`),
        );
      expect(configs()).toHaveLength(50);

      const mark = watcher.messages.length;
      const published = async () =>
        value(await many.scrape(), 'diun_mqtt_messages_published_total', {});
      const before = await published();
      const second = await pushPlatformImage(registry.url, repo, {
        os: 'linux',
        architecture: 'amd64',
      });
      await tagManifest(registry.url, repo, 't7', second);
      await check(many);
      await until(() => (watcher.messages.length > mark ? true : undefined), 'the changed state');
      // Nothing more comes: a second check with no change publishes nothing either. What a
      // check publishes is handed to the broker before the check answers, so a message the
      // test sends after it arrives after them.
      await check(many);
      await waitFor(async () => (await published()) === (before ?? 0) + 1, {
        timeoutMs: 10_000,
        what: 'the broker to acknowledge the message',
      });
      await watcher.publish(`many-${suffix}/test-marker`, 'after the checks');
      await until(() => watcher.last(`many-${suffix}/test-marker`), 'the marker');
      const after = watcher.messages
        .slice(mark)
        .filter((m) => m.topic !== `many-${suffix}/test-marker`);
      expect(after.map((m) => m.topic)).toEqual([expect.stringMatching(/\/state$/)]);
      const changed = JSON.parse(after[0]!.payload) as EntityState;
      expect(changed.title).toBe(`${registry.host}/${repo}:t7`);
      expect(changed.installed_version).not.toBe(changed.latest_version);
      console.log(`mqtt: 50 entries, 1 moved tag: ${after.length} message(s) after the check`);
    } finally {
      await watcher.close();
      await many.stop();
    }
  });
});
