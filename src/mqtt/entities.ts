// What Home Assistant sees over MQTT: one `update` entity per watched container, its discovery
// config and its state, computed from the same view the API and the status page show. Pure:
// the publisher compares what this returns with what it published, and sends the difference.
import { createHash } from 'node:crypto';
import { version } from '../build-info.js';
import type { MqttConfig } from '../config/schema.js';
import { type ImageView, imageView } from '../view/images.js';
import type { Snapshot } from '../watch/model.js';

type ContainerView = ImageView['containers'][number];

/** The retained messages of every entity: topic -> payload (JSON text). */
export type RetainedMessages = Map<string, string>;

/** Where availability (`online` / `offline`, the last will) is published. */
export function availabilityTopic(config: Pick<MqttConfig, 'topicPrefix'>): string {
  return `${config.topicPrefix}/availability`;
}

// Home Assistant's object ids: letters, digits, _ and -. A readable start, cut, and a hash of
// the whole key, so that two names that read alike stay apart and a long one stays bounded.
const READABLE_LENGTH = 40;

function slug(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, '_')
    .replace(/^_+|_+$/g, '');
}

function hash(...parts: string[]): string {
  return createHash('sha256').update(parts.join('\0')).digest('hex').slice(0, 12);
}

/**
 * The object id of a container's entity: the same for the same exporter (topic prefix),
 * provider, endpoint, group (Compose service, Kubernetes owner) and name, so it survives a
 * restart of the exporter and the recreation of the container; safe in a topic (no +, #, /).
 */
export function objectIdOf(
  topicPrefix: string,
  c: Pick<ContainerView, 'endpoint' | 'name' | 'place'>,
  provider: string,
): string {
  const readable = slug(`${c.endpoint}_${c.name}`).slice(0, READABLE_LENGTH);
  return `${readable}_${hash(topicPrefix, provider, c.endpoint, c.place.group, c.name)}`;
}

const shortDigest = (digest: string) =>
  (digest.split('@').pop() ?? '').replace(/^sha256:/, '').slice(0, 12);

/** The tag of a normalised reference, or '' when it is pinned by digest alone. */
function tagOf(image: string): string {
  const name = image.split('@')[0] ?? '';
  const colon = name.lastIndexOf(':');
  return colon > name.lastIndexOf('/') ? name.slice(colon + 1) : '';
}

/**
 * The state Home Assistant's update entity reads: versions as tags where known (a newer tag of
 * a watch_repo image), else the tag with the short digest it runs and the registry's, so the
 * two differ exactly when the container is outdated.
 */
export function entityState(image: ImageView, c: ContainerView): Record<string, string> {
  const tag = tagOf(image.image);
  const running = c.repoDigests[0] ?? c.pinnedDigest ?? image.localDigests[0];
  const withDigest = (digest: string | null | undefined) =>
    digest ? (tag ? `${tag} (${shortDigest(digest)})` : shortDigest(digest)) : tag;
  const installed = c.updateAvailable ? withDigest(running) : tag || withDigest(running);
  let latest = installed;
  if (image.version?.newer) latest = image.version.latest;
  else if (c.updateAvailable) latest = withDigest(image.remoteDigest);
  return {
    installed_version: installed || 'unknown',
    latest_version: latest || 'unknown',
    title: image.image,
    ...(image.releaseLink ? { release_url: image.releaseLink } : {}),
  };
}

/** The device an endpoint's entities belong to: one per Docker host, cluster or file provider. */
function deviceOf(config: MqttConfig, provider: string, endpoint: string) {
  return {
    identifiers: [`${slug(config.topicPrefix)}_${slug(provider)}_${hash(provider, endpoint)}`],
    name: `${endpoint} (${provider})`,
    manufacturer: 'diun-exporter',
    model: provider,
    sw_version: version,
  };
}

/** The discovery config of one container's update entity (Home Assistant's MQTT update schema). */
export function discoveryConfig(
  config: MqttConfig,
  objectId: string,
  provider: string,
  c: ContainerView,
): Record<string, unknown> {
  return {
    name: c.name,
    unique_id: `${slug(config.topicPrefix)}_${objectId}`,
    state_topic: stateTopic(config, objectId),
    availability: [
      {
        topic: availabilityTopic(config),
        payload_available: 'online',
        payload_not_available: 'offline',
      },
    ],
    device: deviceOf(config, provider, c.endpoint),
    // Who published it, which Home Assistant shows in its MQTT discovery log.
    origin: { name: 'diun-exporter', sw_version: version },
  };
}

export function configTopic(config: Pick<MqttConfig, 'discoveryPrefix'>, objectId: string): string {
  return `${config.discoveryPrefix}/update/${objectId}/config`;
}

export function stateTopic(config: Pick<MqttConfig, 'topicPrefix'>, objectId: string): string {
  return `${config.topicPrefix}/update/${objectId}/state`;
}

/**
 * Every retained message the snapshot calls for: each watched container's discovery config
 * and state. A container listed twice under one key (replicas of a Kubernetes workload) is one
 * entity, outdated while any of them is.
 */
export function retainedMessages(config: MqttConfig, snapshot: Snapshot): RetainedMessages {
  const messages: RetainedMessages = new Map();
  const outdated = new Set<string>();
  for (const state of snapshot.images) {
    const image = imageView(state);
    for (const c of image.containers) {
      const objectId = objectIdOf(config.topicPrefix, c, image.provider);
      const topic = stateTopic(config, objectId);
      if (messages.has(topic) && (outdated.has(objectId) || !c.updateAvailable)) continue;
      if (c.updateAvailable) outdated.add(objectId);
      messages.set(
        configTopic(config, objectId),
        JSON.stringify(discoveryConfig(config, objectId, image.provider, c)),
      );
      messages.set(topic, JSON.stringify(entityState(image, c)));
    }
  }
  return messages;
}
