// Pods as watched containers: one entry per owner, container and running digest, as Diun keeps
// one pod per owner (a Deployment's 10 replicas are one image to check, and one series).
import { isWatched, parseLabels } from '../config/labels.js';
import type { Config } from '../config/schema.js';
import { byCodeUnit } from '../order.js';
import { parseRepoDigest, repositoryKey } from '../registry/reference.js';
import { type Listed, readReference, shellWord } from './common.js';
import type { Pod } from './kube-api.js';
import type { Presentation, WatchedContainer } from './types.js';

/** The `endpoint` label of kubernetes series: the section names one cluster. */
export const KUBERNETES_ENDPOINT = 'kubernetes';

type Platform = WatchedContainer['platform'];

/** Which namespaces to list: the named ones, or all (undefined) but the `!excluded`. */
export function namespaceScopes(namespaces: string[]): {
  scopes: (string | undefined)[];
  excluded: Set<string>;
} {
  const excluded = new Set(namespaces.filter((n) => n.startsWith('!')).map((n) => n.slice(1)));
  const included = [...new Set(namespaces.filter((n) => !n.startsWith('!')))].filter(
    (n) => !excluded.has(n),
  );
  // Only exclusions (or nothing): every namespace but those.
  if (included.length === 0 && !namespaces.some((n) => !n.startsWith('!'))) {
    return { scopes: [undefined], excluded };
  }
  return { scopes: included, excluded };
}

/** Whether a pod can run anything: Succeeded and Failed pods (finished Jobs) never will again. */
export function isLive(pod: Pod): boolean {
  const phase = pod.status?.phase;
  return phase !== 'Succeeded' && phase !== 'Failed';
}

/**
 * What of a pod matters to us, as a string: a watch event that leaves it unchanged (a readiness
 * flip, a restart count) changes nothing we report, so it triggers no re-evaluation.
 */
export function podFingerprint(pod: Pod): string {
  const diun = Object.entries(pod.metadata.annotations ?? {}).filter(([k]) =>
    k.startsWith('diun.'),
  );
  return JSON.stringify([
    isLive(pod),
    diun,
    pod.metadata.ownerReferences?.map((o) => o.uid),
    pod.spec?.nodeName,
    pod.spec?.containers?.map((c) => [c.name, c.image]),
    pod.status?.containerStatuses?.map((s) => [s.name, s.imageID, Object.keys(s.state ?? {})[0]]),
  ]);
}

/** Only the fields the provider reads: what a cache of thousands of pods keeps. */
export function slimPod(pod: Pod): Pod {
  const m = pod.metadata;
  return {
    metadata: {
      name: m.name,
      namespace: m.namespace,
      uid: m.uid,
      creationTimestamp: m.creationTimestamp,
      annotations: Object.fromEntries(
        Object.entries(m.annotations ?? {}).filter(([k]) => k.startsWith('diun.')),
      ),
      labels: m.labels?.['pod-template-hash']
        ? { 'pod-template-hash': m.labels['pod-template-hash'] }
        : undefined,
      ownerReferences: m.ownerReferences?.map(({ kind, name, uid, controller }) => ({
        kind,
        name,
        uid,
        controller,
      })),
    },
    spec: {
      nodeName: pod.spec?.nodeName,
      containers: pod.spec?.containers?.map(({ name, image }) => ({ name, image })),
    },
    status: {
      phase: pod.status?.phase,
      containerStatuses: pod.status?.containerStatuses?.map(({ name, image, imageID, state }) => ({
        name,
        image,
        imageID,
        state: state ? Object.fromEntries(Object.keys(state).map((k) => [k, {}])) : undefined,
      })),
    },
  };
}

/** The controller of a pod (a ReplicaSet, StatefulSet, ...), else its first owner. */
function ownerOf(pod: Pod) {
  const refs = pod.metadata.ownerReferences ?? [];
  return refs.find((r) => r.controller) ?? refs[0];
}

/**
 * `kind/name` of what a person would restart: a ReplicaSet made by a Deployment (its pods carry
 * `pod-template-hash` and its name ends with it) is shown as that Deployment.
 */
export function ownerName(pod: Pod): string {
  const owner = ownerOf(pod);
  if (!owner) return `pod/${pod.metadata.name}`;
  const hash = pod.metadata.labels?.['pod-template-hash'];
  if (owner.kind === 'ReplicaSet' && hash && owner.name.endsWith(`-${hash}`)) {
    return `deployment/${owner.name.slice(0, -(hash.length + 1))}`;
  }
  return `${owner.kind.toLowerCase()}/${owner.name}`;
}

/**
 * The repository digest in a container status's imageID: `docker.io/library/nginx@sha256:…`
 * (containerd, CRI-O) or `docker-pullable://nginx@sha256:…` (dockershim). A bare image id
 * (`sha256:…`, an image loaded onto the node) has none.
 */
export function imageIdDigest(imageId: string): { repository: string; digest: string } | undefined {
  return parseRepoDigest(imageId.replace(/^[a-z-]+:\/\//, ''));
}

const byAge = (a: Pod, b: Pod) =>
  byCodeUnit(a.metadata.creationTimestamp ?? '', b.metadata.creationTimestamp ?? '') ||
  byCodeUnit(a.metadata.name, b.metadata.name);

/**
 * The watched containers of a set of pods. Pods of one owner running the same digest of a
 * container are one entry, shown as their oldest pod; a rollout half done is two entries.
 * Init and ephemeral containers are not in `spec.containers` and are never watched; a container
 * that has not started (no imageID yet) is left out until it runs.
 */
export function podsToWatched(
  pods: Pod[],
  opts: {
    watchByDefault: boolean;
    defaults: Config['defaults'];
    platformOf: (pod: Pod) => Platform;
  },
): WatchedContainer[] {
  const groups = new Map<string, { pod: Pod; name: string }>();
  for (const pod of [...pods].sort(byAge)) {
    if (!isLive(pod) || !isWatched(pod.metadata.annotations ?? {}, opts.watchByDefault)) continue;
    const owner = ownerOf(pod)?.uid ?? pod.metadata.uid;
    for (const status of pod.status?.containerStatuses ?? []) {
      if (!status.imageID) continue;
      const key = `${pod.metadata.namespace}\n${owner}\n${status.name}\n${status.imageID}`;
      if (!groups.has(key)) groups.set(key, { pod, name: status.name });
    }
  }
  return [...groups.values()].map(({ pod, name }) => toWatched(pod, name, opts));
}

function toWatched(
  pod: Pod,
  containerName: string,
  opts: { defaults: Config['defaults']; platformOf: (pod: Pod) => Platform },
): WatchedContainer {
  const status = pod.status!.containerStatuses!.find((s) => s.name === containerName)!;
  const spec = pod.spec?.containers?.find((c) => c.name === containerName);
  // The spec names the tag that was asked for; the status may show what the runtime resolved.
  const raw = spec?.image || status.image || '';
  const { options, errors } = parseLabels(pod.metadata.annotations ?? {}, opts.defaults);
  const watched: Listed = {
    provider: 'kubernetes',
    endpoint: KUBERNETES_ENDPOINT,
    id: `${pod.metadata.uid}/${containerName}`,
    name: containerName,
    image: raw,
    imageId: status.imageID ?? '',
    repoDigests: [],
    platform: { ...opts.platformOf(pod) },
    state: Object.keys(status.state ?? {})[0] ?? 'unknown',
    kind: 'container',
    options,
    errors,
  };
  readReference(watched, raw, (ref) => {
    const running = imageIdDigest(status.imageID ?? '');
    if (ref.digest) watched.skip = 'pinned by digest';
    else if (running === undefined) watched.skip = 'locally built (no repository digest)';
    else if (running.repository !== repositoryKey(ref)) {
      watched.skip = `runs ${running.repository}, not this repository`;
    } else watched.repoDigests = [running.digest];
  });
  const place = {
    namespace: pod.metadata.namespace,
    pod: pod.metadata.name,
    owner: ownerName(pod),
  };
  return { ...watched, ...podPresentation(containerName, place) };
}

/** The labels only Kubernetes series have. */
export const POD_LABELS = ['k8s_namespace', 'pod', 'k8s_owner'] as const;

/**
 * How a pod's container is shown: its namespace, pod (the one standing for its owner's replicas)
 * and owner as series labels (`k8s_namespace`, not `namespace`, which Prometheus's Kubernetes
 * discovery sets on the target and would rename), named as kubectl finds it, and updated by a rollout restart of its workload (a bare pod is deleted,
 * to be made again by whoever made it).
 */
export function podPresentation(
  container: string,
  { namespace, pod, owner }: { namespace: string; pod: string; owner: string },
): Presentation {
  const ns = shellWord(namespace);
  return {
    seriesLabels: { k8s_namespace: namespace, pod, k8s_owner: owner },
    place: {
      host: pod,
      group: `${namespace} / ${owner}`,
      path: `${namespace}/${pod}/${container}`,
    },
    updateCommand: /^(deployment|statefulset|daemonset)\//.test(owner)
      ? `kubectl -n ${ns} rollout restart ${shellWord(owner)}`
      : `kubectl -n ${ns} delete pod ${shellWord(pod)}`,
  };
}
