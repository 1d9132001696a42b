import { parseReference } from '../registry/reference.js';

/** The page where people read about an image, for the registries that have one; '' otherwise. */
export function hubLinkFor(image: string): string {
  let ref: ReturnType<typeof parseReference>;
  try {
    ref = parseReference(image);
  } catch {
    return '';
  }
  const repo = ref.repository;
  switch (ref.registry) {
    case 'docker.io':
      return repo.startsWith('library/')
        ? `https://hub.docker.com/_/${repo.slice('library/'.length)}`
        : `https://hub.docker.com/r/${repo}`;
    case 'ghcr.io':
      return `https://ghcr.io/${repo}`;
    case 'quay.io':
      return `https://quay.io/repository/${repo}`;
    case 'gcr.io':
      return `https://gcr.io/${repo}`;
    default:
      return '';
  }
}
