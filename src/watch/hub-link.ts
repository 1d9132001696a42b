import { renderTemplate } from '../config/link-template.js';
import { parseReference } from '../registry/reference.js';

/**
 * The page where people read about an image, for the registries whose page can be told from the
 * reference alone; '' otherwise, rather than a guess that leads nowhere.
 */
export function hubLinkFor(image: string): string {
  let ref: ReturnType<typeof parseReference>;
  try {
    ref = parseReference(image);
  } catch {
    return '';
  }
  const repo = ref.repository;
  // Each link joined into one flat string, not a template's cons string: every snapshot holds a
  // link per image, and a cons string kept its parts (the reference's slices) besides the copy
  // its first write flattened it into.
  switch (ref.registry) {
    case 'docker.io':
      return repo.startsWith('library/')
        ? ['https://hub.docker.com/_/', repo.slice('library/'.length)].join('')
        : ['https://hub.docker.com/r/', repo].join('');
    case 'ghcr.io': {
      // GitHub's package page, as Diun links it: the owner, then the rest of the path as one
      // package name (`a/b` is the package `a%2Fb`).
      const [owner, ...name] = repo.split('/');
      if (name.length === 0) return '';
      return [
        'https://github.com/users/',
        owner,
        '/packages/container/package/',
        encodeURIComponent(name.join('/')),
      ].join('');
    }
    case 'quay.io':
      return ['https://quay.io/repository/', repo].join('');
    case 'gcr.io':
      return ['https://gcr.io/', repo].join('');
    case 'registry.gitlab.com': {
      // A project's registry page: known only when the image is the project's own (group/project);
      // a longer path may be a subgroup or an image below the project, which the path cannot tell.
      const parts = repo.split('/');
      return parts.length === 2
        ? ['https://gitlab.com/', repo, '/container_registry'].join('')
        : '';
    }
    default:
      return '';
  }
}

/** A `diun.hub_tpl` template rendered for `image`, as Diun renders it (`{{ .Domain }}/{{ .Path }}`). */
export function hubLinkFromTemplate(image: string, template: string): string {
  try {
    const ref = parseReference(image);
    return renderTemplate(template, { Domain: ref.registry, Path: ref.repository, Tag: ref.tag });
  } catch {
    return '';
  }
}
