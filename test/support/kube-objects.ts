// The Kubernetes objects the stand-in API server serves, and the recorded pods and node of
// test/fixtures/kubernetes/ filled in for a test (see its README.md for where they come from).
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** Loose core/v1 ObjectMeta: the fields tests and the stand-in read. */
export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  creationTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: {
    apiVersion: string;
    kind: string;
    name: string;
    uid: string;
    controller?: boolean;
  }[];
  [field: string]: unknown;
}

export interface Container {
  name: string;
  image: string;
  [field: string]: unknown;
}

export interface ContainerStatus {
  name: string;
  image: string;
  /** containerd's `<repository>@sha256:<digest>`; "" until the image is pulled. */
  imageID: string;
  containerID?: string;
  ready: boolean;
  restartCount: number;
  started?: boolean;
  state: { running?: { startedAt: string }; waiting?: { reason: string }; terminated?: object };
  [field: string]: unknown;
}

/** A core/v1 Pod, loose beyond the fields a provider reads. */
export interface Pod {
  kind?: 'Pod';
  apiVersion?: 'v1';
  metadata: ObjectMeta & { namespace: string };
  spec: {
    containers: Container[];
    initContainers?: Container[];
    nodeName?: string;
    [field: string]: unknown;
  };
  status: {
    phase?: string;
    containerStatuses?: ContainerStatus[];
    initContainerStatuses?: ContainerStatus[];
    [field: string]: unknown;
  };
}

/** A core/v1 Node: what a provider reads to know the platform its images run on. */
export interface Node {
  kind?: 'Node';
  apiVersion?: 'v1';
  metadata: ObjectMeta;
  spec?: Record<string, unknown>;
  status: {
    nodeInfo: { operatingSystem: string; architecture: string; [field: string]: unknown };
    [field: string]: unknown;
  };
}

const FIXTURES = resolve(import.meta.dirname, '..', 'fixtures', 'kubernetes');

/** Reads a JSON file of test/fixtures/kubernetes/ (a recorded response shape). */
export function readKubeFixture<T>(file: string): T {
  return JSON.parse(readFileSync(join(FIXTURES, file), 'utf8')) as T;
}

export type PodFixture =
  | 'deployment'
  | 'statefulset'
  | 'daemonset'
  | 'bare'
  | 'job-succeeded'
  | 'pending';

export interface PodFixtureValues {
  /** The reference as the pod spec writes it, e.g. `127.0.0.1:5000/team/web:1.0`. */
  image: string;
  /** What containerd reports once pulled, `<repository>@sha256:<digest>` (the pending pod keeps ""). */
  imageId: string;
  /** The deployment pod's init container; defaults to `image` / `imageId`. */
  initImage?: string;
  initImageId?: string;
  /** Renames the pod (and gives it a fresh uid), so one template can make many pods. */
  name?: string;
  namespace?: string;
}

/** A pod of the recorded kind with its placeholders filled from a real registry's image. */
export function fixturePod(kind: PodFixture, values: PodFixtureValues): Pod {
  const text = readFileSync(join(FIXTURES, `pod-${kind}.json`), 'utf8')
    .replaceAll('"__INIT_IMAGE_ID__"', JSON.stringify(values.initImageId ?? values.imageId))
    .replaceAll('"__INIT_IMAGE__"', JSON.stringify(values.initImage ?? values.image))
    .replaceAll('"__IMAGE_ID__"', JSON.stringify(values.imageId))
    .replaceAll('"__IMAGE__"', JSON.stringify(values.image));
  const pod = JSON.parse(text) as Pod;
  if (values.name !== undefined || values.namespace !== undefined) pod.metadata.uid = randomUUID();
  if (values.name !== undefined) pod.metadata.name = values.name;
  if (values.namespace !== undefined) pod.metadata.namespace = values.namespace;
  return pod;
}

/** The recorded worker node, renamed or moved to another platform. */
export function fixtureNode(
  values: { name?: string; os?: string; architecture?: string } = {},
): Node {
  const node = readKubeFixture<Node>('node.json');
  const labels = node.metadata.labels ?? {};
  if (values.name !== undefined) {
    node.metadata.name = values.name;
    labels['kubernetes.io/hostname'] = values.name;
  }
  if (values.os !== undefined) {
    node.status.nodeInfo.operatingSystem = values.os;
    labels['kubernetes.io/os'] = labels['beta.kubernetes.io/os'] = values.os;
  }
  if (values.architecture !== undefined) {
    node.status.nodeInfo.architecture = values.architecture;
    labels['kubernetes.io/arch'] = labels['beta.kubernetes.io/arch'] = values.architecture;
  }
  return node;
}
