// Where to read what changed when a tag moves: a container label's template, else a page of the
// forge the new image names as its source (GitHub, GitLab, Codeberg), else that source itself.
import { renderTemplate } from '../config/link-template.js';
import { parseReference } from '../registry/reference.js';
import type { ImageOrigin } from '../state/records.js';

interface Forge {
  /** `https://github.com/owner/repo` */
  base: string;
  releases: string;
  compare: (from: string, to: string) => string;
}

/**
 * The forge repository a source URL names (`https://github.com/o/r`, `git+https://...r.git`,
 * `git@github.com:o/r.git`, a link into its tree), or undefined for any other host.
 */
function forgeOf(source: string): Forge | undefined {
  const text = source
    .trim()
    .replace(/^git\+/, '')
    .replace(/^git@([^:/]+):/, 'https://$1/');
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return undefined;
  const segments = url.pathname
    .replace(/\.git$/, '')
    .split('/')
    .filter(Boolean);
  const host = url.hostname.toLowerCase();
  if (host === 'github.com' || host === 'codeberg.org') {
    if (segments.length < 2) return undefined;
    const base = `https://${host}/${segments.slice(0, 2).join('/')}`;
    return {
      base,
      releases: `${base}/releases`,
      compare: (from, to) => `${base}/compare/${from}...${to}`,
    };
  }
  if (host === 'gitlab.com') {
    // Groups nest; the project path ends where GitLab's own pages (`/-/`) begin.
    const end = segments.indexOf('-');
    const path = segments.slice(0, end < 0 ? undefined : end);
    if (path.length < 2) return undefined;
    const base = `https://gitlab.com/${path.join('/')}`;
    return {
      base,
      releases: `${base}/-/releases`,
      compare: (from, to) => `${base}/-/compare/${from}...${to}`,
    };
  }
  return undefined;
}

const REVISION = /^[0-9a-f]{7,64}$/i;

/**
 * The release notes link of `image`'s newest digest: `template` when a label gives one; else,
 * when the new image names a known forge as its source, the compare page from the revision a
 * container runs to the new one (both known and different) or the releases page; else the
 * source URL. Empty when nothing is known.
 */
export function releaseLinkFor(
  image: string,
  origin: ImageOrigin | undefined,
  opts: { template?: string; runningRevision?: string } = {},
): string {
  if (opts.template !== undefined) {
    let ref: ReturnType<typeof parseReference> | undefined;
    try {
      ref = parseReference(image);
    } catch {
      ref = undefined;
    }
    return renderTemplate(opts.template, {
      Domain: ref?.registry,
      Path: ref?.repository,
      Tag: ref?.tag,
      Version: origin?.version ?? ref?.tag,
      Revision: origin?.revision,
      Source: origin?.source,
    });
  }
  if (!origin?.source) return '';
  const forge = forgeOf(origin.source);
  if (!forge) return /^https?:\/\//i.test(origin.source) ? origin.source : '';
  const from = opts.runningRevision;
  const to = origin.revision;
  if (from && to && from !== to && REVISION.test(from) && REVISION.test(to)) {
    return forge.compare(from, to);
  }
  return forge.releases;
}
