// State files of the first layout (version 1) kept Docker Compose fields, a Kubernetes `k8s` bag
// and a file `entry` flag on each container; later ones keep what the provider says of how the
// container is shown. A version 1 file is read by rebuilding that from the old fields, with the
// providers' own functions, so an upgrade keeps the containers last seen.
import { composePresentation } from '../providers/common.js';
import { podPresentation } from '../providers/kubernetes-pods.js';
import type { WatchedContainer } from '../providers/types.js';

interface ContainerV1
  extends Omit<WatchedContainer, 'kind' | 'seriesLabels' | 'place' | 'updateCommand'> {
  composeProject?: string;
  composeService?: string;
  k8s?: { namespace: string; pod: string; owner: string };
  entry?: boolean;
}

/** A version 1 container as the current layout has it. */
export function containerFromV1(old: ContainerV1): WatchedContainer {
  const { composeProject = '', composeService = '', k8s, entry, ...rest } = old;
  const kind = entry ? 'entry' : 'container';
  const shown = k8s
    ? podPresentation(rest.name, k8s)
    : composePresentation(rest, composeProject, composeService);
  return { ...rest, kind, ...shown };
}
