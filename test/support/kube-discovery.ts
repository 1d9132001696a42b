// The discovery documents of the stand-in kube-apiserver: what kubectl reads before it can map a
// manifest's apiVersion and kind to a resource (even for --dry-run=client). Unaggregated
// discovery, as in "The Kubernetes API", section "Discovery API"
// (https://kubernetes.io/docs/concepts/overview/kubernetes-api/#discovery-api): GET /api
// (APIVersions), /apis (APIGroupList), /apis/<group> (APIGroup), /api/v1 and
// /apis/<group>/<version> (APIResourceList). Field names and order follow the meta/v1 types of the
// API reference (https://kubernetes.io/docs/reference/generated/kubernetes-api/v1.31/); the
// resources' names, kinds, scopes, verbs, short names and categories are v1.31's, for the groups
// the shipped manifest and the exporter use. A client asking for aggregated discovery
// (apidiscovery.k8s.io/v2) gets these plain documents, as from a server before v1.26, and falls
// back. `storageVersionHash` (opaque, optional) is left out.

/** meta/v1 APIResource: one entry of an APIResourceList. */
export interface ApiResource {
  name: string;
  singularName: string;
  namespaced: boolean;
  group?: string;
  version?: string;
  kind: string;
  verbs: string[];
  shortNames?: string[];
  categories?: string[];
}

interface GroupVersion {
  /** '' for the core (legacy) group under /api. */
  group: string;
  version: string;
  resources: ApiResource[];
}

const CRUD = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];
const STATUS = ['get', 'patch', 'update'];

function resource(
  name: string,
  kind: string,
  namespaced: boolean,
  more: { verbs?: string[]; shortNames?: string[]; categories?: string[] } = {},
): ApiResource {
  const { verbs = CRUD, shortNames, categories } = more;
  // Subresources (`pods/status`) have an empty singular name.
  const singularName = name.includes('/') ? '' : kind.toLowerCase();
  return {
    name,
    singularName,
    namespaced,
    kind,
    verbs,
    ...(shortNames && { shortNames }),
    ...(categories && { categories }),
  };
}

/** The subresource `scale` of apps/v1 workloads: an autoscaling/v1 Scale. */
function scale(of: string): ApiResource {
  return {
    name: `${of}/scale`,
    singularName: '',
    namespaced: true,
    group: 'autoscaling',
    version: 'v1',
    kind: 'Scale',
    verbs: STATUS,
  };
}

const all = ['all'];

/** The group versions the stand-in serves, resources sorted by name as the real server sorts them. */
export const SERVED_GROUP_VERSIONS: readonly GroupVersion[] = [
  {
    group: '',
    version: 'v1',
    resources: [
      resource('bindings', 'Binding', true, { verbs: ['create'] }),
      resource('configmaps', 'ConfigMap', true, { shortNames: ['cm'] }),
      resource('endpoints', 'Endpoints', true, { shortNames: ['ep'] }),
      resource('events', 'Event', true, { shortNames: ['ev'] }),
      resource('namespaces', 'Namespace', false, {
        verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
        shortNames: ['ns'],
      }),
      resource('namespaces/status', 'Namespace', false, { verbs: STATUS }),
      resource('nodes', 'Node', false, { shortNames: ['no'] }),
      resource('nodes/status', 'Node', false, { verbs: STATUS }),
      resource('persistentvolumeclaims', 'PersistentVolumeClaim', true, { shortNames: ['pvc'] }),
      resource('persistentvolumeclaims/status', 'PersistentVolumeClaim', true, { verbs: STATUS }),
      resource('persistentvolumes', 'PersistentVolume', false, { shortNames: ['pv'] }),
      resource('pods', 'Pod', true, { shortNames: ['po'], categories: all }),
      resource('pods/exec', 'PodExecOptions', true, { verbs: ['create', 'get'] }),
      resource('pods/log', 'Pod', true, { verbs: ['get'] }),
      resource('pods/status', 'Pod', true, { verbs: STATUS }),
      resource('secrets', 'Secret', true),
      resource('serviceaccounts', 'ServiceAccount', true, { shortNames: ['sa'] }),
      resource('services', 'Service', true, { shortNames: ['svc'], categories: all }),
      resource('services/status', 'Service', true, { verbs: STATUS }),
    ],
  },
  {
    group: 'apps',
    version: 'v1',
    resources: [
      resource('controllerrevisions', 'ControllerRevision', true),
      resource('daemonsets', 'DaemonSet', true, { shortNames: ['ds'], categories: all }),
      resource('daemonsets/status', 'DaemonSet', true, { verbs: STATUS }),
      resource('deployments', 'Deployment', true, { shortNames: ['deploy'], categories: all }),
      scale('deployments'),
      resource('deployments/status', 'Deployment', true, { verbs: STATUS }),
      resource('replicasets', 'ReplicaSet', true, { shortNames: ['rs'], categories: all }),
      scale('replicasets'),
      resource('replicasets/status', 'ReplicaSet', true, { verbs: STATUS }),
      resource('statefulsets', 'StatefulSet', true, { shortNames: ['sts'], categories: all }),
      scale('statefulsets'),
      resource('statefulsets/status', 'StatefulSet', true, { verbs: STATUS }),
    ],
  },
  {
    group: 'rbac.authorization.k8s.io',
    version: 'v1',
    resources: [
      resource('clusterrolebindings', 'ClusterRoleBinding', false),
      resource('clusterroles', 'ClusterRole', false),
      resource('rolebindings', 'RoleBinding', true),
      resource('roles', 'Role', true),
    ],
  },
];

function groupVersion({ group, version }: GroupVersion): string {
  return group ? `${group}/${version}` : version;
}

// meta/v1 APIGroup: one group and its versions, the preferred first.
function apiGroup(group: string) {
  const versions = SERVED_GROUP_VERSIONS.filter((gv) => gv.group === group).map((gv) => ({
    groupVersion: groupVersion(gv),
    version: gv.version,
  }));
  return { name: group, versions, preferredVersion: versions[0]! };
}

/**
 * The discovery document kube-apiserver serves at `path`, or undefined where it serves none (the
 * caller answers 404 NotFound). `serverAddress` (`host:port`) goes into APIVersions as the real
 * server puts its advertised address there.
 */
export function discoveryDocument(path: string, serverAddress: string): object | undefined {
  const groups = [...new Set(SERVED_GROUP_VERSIONS.map((gv) => gv.group))].filter(Boolean);
  if (path === '/api') {
    // The core group's versions; no apiVersion, as the real server writes it.
    return {
      kind: 'APIVersions',
      versions: SERVED_GROUP_VERSIONS.filter((gv) => gv.group === '').map((gv) => gv.version),
      serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
    };
  }
  if (path === '/apis') {
    return { kind: 'APIGroupList', apiVersion: 'v1', groups: groups.map(apiGroup) };
  }
  const group = /^\/apis\/([^/]+)$/.exec(path)?.[1];
  if (group !== undefined && groups.includes(group)) {
    return { kind: 'APIGroup', apiVersion: 'v1', ...apiGroup(group) };
  }
  const served = SERVED_GROUP_VERSIONS.find((gv) =>
    gv.group ? path === `/apis/${gv.group}/${gv.version}` : path === `/api/${gv.version}`,
  );
  if (!served) return undefined;
  return {
    kind: 'APIResourceList',
    // The core group's list carries no apiVersion; the named groups' lists do.
    ...(served.group !== '' && { apiVersion: 'v1' }),
    groupVersion: groupVersion(served),
    resources: served.resources,
  };
}
