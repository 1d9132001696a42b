// The MQTT output: keeps the broker's retained messages equal to what the snapshot calls for,
// sending only what changed. A check never waits for it: `update` only queues, a bounded
// queue of topics (the newest payload per topic wins, the oldest topic goes when it is full),
// and a broker that is down or refuses us is a log line and `diun_mqtt_up 0`, never an error.
import { readFileSync } from 'node:fs';
import type { IClientOptions, MqttClient } from 'mqtt';
import type { MqttConfig } from '../config/schema.js';
import { log } from '../log.js';
import type { MqttCounters } from '../metrics/exporter-metrics.js';
import type { Snapshot } from '../watch/model.js';
import { availabilityTopic, type RetainedMessages, retainedMessages } from './entities.js';

/**
 * Topics waiting to be sent beyond the whole picture (each wanted topic is queued at most once,
 * its newest payload): removals piled up while the broker is away. Beyond this many the oldest
 * is dropped, and counted as failed.
 */
const MAX_EXTRA_QUEUED = 10_000;
/** Messages handed to the client and not yet acknowledged, at most. */
const MAX_IN_FLIGHT = 100;
const RECONNECT_MS = 5_000;

// An empty retained message deletes the retained one: Home Assistant removes the entity.
const REMOVED = '';

/** Publishes Home Assistant update entities for a watcher's snapshots to one broker. */
export class MqttPublisher {
  // Set once the client library is loaded, which is before any 'connect': the library is
  // imported only by an exporter with an mqtt section, as it costs megabytes of heap and code.
  private client: MqttClient | undefined;
  private readonly loaded: Promise<void>;
  private desired: RetainedMessages = new Map();
  private readonly queue = new Map<string, string>();
  private inFlight = 0;
  // Acknowledgements of an earlier connection must not count against this one's in-flight.
  private connection = 0;
  private connected = false;
  private lastProblem: string | undefined;
  private dropped = 0;
  // Our entities the broker holds that no snapshot has called for (config topic -> state topic):
  // containers that went away while the exporter was not running, or before a state file was
  // lost. Removed once a complete snapshot shows they are not wanted.
  private readonly strays = new Map<string, string>();
  private complete = false;

  constructor(
    private readonly config: MqttConfig,
    private readonly counters: MqttCounters,
    /** How many removals may wait beyond the whole picture; smaller in tests. */
    private readonly maxExtraQueued = MAX_EXTRA_QUEUED,
  ) {
    const availability = availabilityTopic(config);
    const options: IClientOptions = {
      clientId: config.clientId,
      username: config.username,
      password: config.password,
      clean: true,
      reconnectPeriod: RECONNECT_MS,
      // A refused password may be fixed on the broker: keep trying, as after any other failure.
      reconnectOnConnackError: true,
      connectTimeout: 10_000,
      will: { topic: availability, payload: Buffer.from('offline'), qos: config.qos, retain: true },
      ...(config.caFile ? { ca: readFileSync(config.caFile) } : {}),
    };
    this.loaded = import('mqtt').then(
      ({ default: mqtt }) => this.listen(mqtt.connect(config.url, options)),
      (error) => this.problem(`cannot load the MQTT client: ${describeError(error)}`),
    );
  }

  private listen(client: MqttClient): void {
    this.client = client;
    client.on('connect', () => this.onConnect());
    client.on('close', () => this.onClose());
    client.on('error', (error) => this.problem(describeError(error)));
    client.on('message', (topic, payload, packet) => {
      // Only what the broker held when we subscribed: live messages are our own, echoed.
      if (packet.retain) this.found(topic, payload.toString());
    });
  }

  /**
   * Queues what changed since the last snapshot: new and changed entities, removed ones. With
   * a `complete` snapshot, also removes our entities the broker holds that it does not call for.
   */
  update(snapshot: Snapshot, complete = true): void {
    const previous = this.desired;
    this.desired = retainedMessages(this.config, snapshot);
    for (const [topic, payload] of this.desired) {
      if (previous.get(topic) !== payload) this.enqueue(topic, payload);
    }
    for (const topic of previous.keys()) {
      if (!this.desired.has(topic)) this.enqueue(topic, REMOVED);
    }
    this.complete ||= complete;
    this.sweep();
    this.pump();
  }

  /** Says `offline` (retained) and disconnects; what is still queued is not sent. */
  async close(): Promise<void> {
    await this.loaded;
    if (!this.client) return;
    if (this.connected) {
      await this.client
        .publishAsync(availabilityTopic(this.config), 'offline', {
          qos: this.config.qos,
          retain: true,
        })
        .catch(() => undefined);
    }
    // Not connected: nothing in flight to wait for, and no retry to let finish.
    await this.client.endAsync(!this.connected);
    this.counters.up(false);
  }

  // A broker restarted without persistence has lost every retained message: send them all.
  private onConnect(): void {
    this.connected = true;
    this.connection += 1;
    this.inFlight = 0;
    this.lastProblem = undefined;
    this.counters.up(true);
    log('info', 'mqtt: connected', {
      broker: brokerOf(this.config.url),
      topics: this.desired.size,
    });
    this.enqueue(availabilityTopic(this.config), 'online');
    for (const [topic, payload] of this.desired) this.enqueue(topic, payload);
    this.pump();
    // Home Assistant's update configs the broker holds, to find our strays among them.
    this.client?.subscribe(`${this.config.discoveryPrefix}/update/+/config`, { qos: 0 });
  }

  // A retained update config: one of ours (its state topic under our prefix) that is not wanted.
  private found(topic: string, payload: string): void {
    if (payload === REMOVED || this.desired.has(topic)) return;
    const stateTopic = ourStateTopic(payload, this.config.topicPrefix);
    if (stateTopic === undefined) return;
    this.strays.set(topic, stateTopic);
    this.sweep();
    this.pump();
  }

  private sweep(): void {
    if (!this.complete) return;
    for (const [configTopic, stateTopic] of this.strays) {
      if (this.desired.has(configTopic)) continue;
      log('info', 'mqtt: removing an entity whose container is gone', { topic: configTopic });
      this.enqueue(configTopic, REMOVED);
      this.enqueue(stateTopic, REMOVED);
    }
    this.strays.clear();
  }

  private onClose(): void {
    if (this.connected) log('warn', 'mqtt: disconnected', { broker: brokerOf(this.config.url) });
    this.connected = false;
    this.counters.up(false);
  }

  // Said once until it changes or the connection comes back, not at every retry.
  private problem(message: string): void {
    if (message === this.lastProblem) return;
    this.lastProblem = message;
    log('error', `mqtt: ${message}`, { broker: brokerOf(this.config.url) });
  }

  private enqueue(topic: string, payload: string): void {
    // The newest payload of a topic replaces a queued one, and goes to the back of the line.
    this.queue.delete(topic);
    this.queue.set(topic, payload);
    const limit = this.desired.size + this.maxExtraQueued;
    if (this.queue.size <= limit) return;
    const oldest = this.queue.keys().next().value as string;
    this.queue.delete(oldest);
    this.counters.failed();
    this.dropped += 1;
    if (this.dropped === 1 || this.dropped % 1000 === 0) {
      log('warn', 'mqtt: queue full, dropping the oldest messages', {
        dropped: this.dropped,
        limit,
      });
    }
  }

  private pump(): void {
    while (this.connected && this.inFlight < MAX_IN_FLIGHT && this.queue.size > 0) {
      const [topic, payload] = this.queue.entries().next().value as [string, string];
      this.queue.delete(topic);
      this.send(topic, payload);
    }
  }

  private send(topic: string, payload: string): void {
    const connection = this.connection;
    this.inFlight += 1;
    this.client?.publish(topic, payload, { qos: this.config.qos, retain: true }, (error) => {
      if (connection !== this.connection) return;
      this.inFlight -= 1;
      if (error) {
        this.counters.failed();
        this.problem(`publishing to ${topic} failed: ${describeError(error)}`);
        // A removal is remembered nowhere else: try it again. The rest comes back on reconnect.
        if (payload === REMOVED && !this.queue.has(topic)) this.enqueue(topic, payload);
      } else {
        this.counters.published();
        this.dropped = 0;
      }
      this.pump();
    });
  }
}

/** The state topic of a discovery config this exporter (`topicPrefix`) published, else undefined. */
function ourStateTopic(payload: string, topicPrefix: string): string | undefined {
  try {
    const stateTopic = (JSON.parse(payload) as { state_topic?: unknown }).state_topic;
    return typeof stateTopic === 'string' && stateTopic.startsWith(`${topicPrefix}/update/`)
      ? stateTopic
      : undefined;
  } catch {
    return undefined;
  }
}

/** The broker's address without credentials, for log lines. */
function brokerOf(url: string): string {
  const u = new URL(url);
  return `${u.protocol}//${u.host}`;
}

function describeError(error: Error & { code?: unknown }): string {
  // MQTT 3.1.1 refusals 4 and 5: the credentials, which the config names.
  if (error.code === 4 || error.code === 5) {
    return `${error.message}: check mqtt.username and mqtt.password (or mqtt.passwordFile)`;
  }
  return error.message;
}
