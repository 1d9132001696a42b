import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { MqttConfig } from '../../../src/config/schema.js';
import { configureLog, stderrSink } from '../../../src/log.js';
import { createMetrics } from '../../../src/metrics/exporter-metrics.js';
import { MqttPublisher } from '../../../src/mqtt/publisher.js';
import type { Snapshot } from '../../../src/watch/model.js';
import { freePort } from '../../support/exec.js';
import { container, record } from '../watch/fixtures.js';

// A broker nobody listens for: the publisher keeps what it cannot send in its bounded queue.
describe('MQTT publisher with no broker', () => {
  const lines: string[] = [];
  beforeEach(() => configureLog({ sink: (line) => lines.push(line) }));
  afterEach(() => configureLog({ sink: stderrSink }));

  /** One image run by `count` containers: 2 retained messages (config, state) each. */
  const snapshot = (count: number): Snapshot => ({
    at: 1_700_000_000,
    images: [
      {
        record: record(),
        hubLink: '',
        releaseLink: '',
        localDigests: [],
        updatesDetected: 0,
        containers: Array.from({ length: count }, (_, i) => ({
          container: container({ name: `web-${i}` }),
          updateAvailable: false,
          status: 'unchange' as const,
        })),
      },
    ],
  });

  it('never throws, says diun_mqtt_up 0, and drops the oldest removals past its bound', async () => {
    const config: MqttConfig = {
      url: `mqtt://127.0.0.1:${await freePort()}`,
      discoveryPrefix: 'homeassistant',
      topicPrefix: 'diun-exporter',
      qos: 1,
    };
    const metrics = createMetrics(
      {
        snapshot: () => snapshot(0),
        providerStatus: () => [],
        lastRun: () => undefined,
        lastSuccess: () => undefined,
      },
      ['docker'],
      [],
      { mqtt: true },
    );
    // A bound of 10 removals beyond the picture (10,000 in production) keeps the test small.
    const publisher = new MqttPublisher(config, metrics.mqtt!, 10);
    try {
      // The whole picture waits for the broker, however large.
      publisher.update(snapshot(60));
      publisher.update(snapshot(60));
      expect(await metrics.register.metrics()).toContain('\ndiun_mqtt_messages_failed_total 0\n');
      // 6 containers go: 12 removals queued beside the 108 topics of the 54 left,
      // 2 more than the picture and 10: the 2 oldest go.
      publisher.update(snapshot(54));
      const text = await metrics.register.metrics();
      expect(text).toContain('\ndiun_mqtt_up 0\n');
      expect(text).toContain('\ndiun_mqtt_messages_failed_total 2\n');
      expect(text).toContain('\ndiun_mqtt_messages_published_total 0\n');
      expect(lines.filter((l) => l.includes('queue full'))).toEqual([
        expect.stringMatching(
          /level=warn msg="mqtt: queue full, dropping the oldest messages" dropped=1 limit=118/,
        ),
      ]);
    } finally {
      await publisher.close();
    }
  });
});
