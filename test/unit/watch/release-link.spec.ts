// The release notes link of a moved tag, from the new image's own OCI labels or a label template.
import { describe, expect, it } from 'vitest';
import { hubLinkFromTemplate } from '../../../src/watch/hub-link.js';
import { releaseLinkFor } from '../../../src/watch/release-link.js';

const IMAGE = 'ghcr.io/acme/shop:1.4';
const OLD = '1a2b3c4d5e6f7081';
const NEW = '9f8e7d6c5b4a3021';

describe('releaseLinkFor', () => {
  it.each([
    ['https://github.com/acme/shop', 'https://github.com/acme/shop/releases'],
    ['git+https://github.com/acme/shop.git', 'https://github.com/acme/shop/releases'],
    ['git@github.com:acme/shop.git', 'https://github.com/acme/shop/releases'],
    ['https://github.com/acme/shop/tree/main/docker', 'https://github.com/acme/shop/releases'],
    ['https://gitlab.com/acme/tools/shop', 'https://gitlab.com/acme/tools/shop/-/releases'],
    ['https://gitlab.com/acme/shop/-/tree/main', 'https://gitlab.com/acme/shop/-/releases'],
    ['https://codeberg.org/acme/shop', 'https://codeberg.org/acme/shop/releases'],
    ['https://git.example.org/acme/shop', 'https://git.example.org/acme/shop'],
  ])('links a source %s to %s', (source, link) => {
    expect(releaseLinkFor(IMAGE, { source })).toBe(link);
  });

  it('gives the compare page when the running and the new revision are both known', () => {
    const origin = { source: 'https://github.com/acme/shop', revision: NEW };
    expect(releaseLinkFor(IMAGE, origin, { runningRevision: OLD })).toBe(
      `https://github.com/acme/shop/compare/${OLD}...${NEW}`,
    );
    const gitlab = { source: 'https://gitlab.com/acme/shop', revision: NEW };
    expect(releaseLinkFor(IMAGE, gitlab, { runningRevision: OLD })).toBe(
      `https://gitlab.com/acme/shop/-/compare/${OLD}...${NEW}`,
    );
    // The same revision, or one that is no commit id, gives the releases page.
    expect(releaseLinkFor(IMAGE, origin, { runningRevision: NEW })).toBe(
      'https://github.com/acme/shop/releases',
    );
    expect(releaseLinkFor(IMAGE, origin, { runningRevision: '../../evil' })).toBe(
      'https://github.com/acme/shop/releases',
    );
  });

  it('gives nothing rather than a link that is no web page', () => {
    expect(releaseLinkFor(IMAGE, undefined)).toBe('');
    expect(releaseLinkFor(IMAGE, { version: '1.4.2' })).toBe('');
    expect(releaseLinkFor(IMAGE, { source: 'javascript:alert(1)' })).toBe('');
    expect(releaseLinkFor(IMAGE, { source: 'ftp://example.org/shop' })).toBe('');
    expect(releaseLinkFor(IMAGE, { source: 'https://github.com/acme' })).toBe(
      'https://github.com/acme',
    );
  });

  it('renders a label template with the reference and the new image’s origin', () => {
    const template =
      'https://{{ .Domain }}/{{ .Path }}/v{{ .Version }}?tag={{.Tag}}&rev={{ .Revision }}&src={{ .Source }}';
    expect(
      releaseLinkFor(
        IMAGE,
        { version: '1.4.2', revision: NEW, source: 'https://github.com/acme/shop' },
        { template },
      ),
    ).toBe(`https://ghcr.io/acme/shop/v1.4.2?tag=1.4&rev=${NEW}&src=https://github.com/acme/shop`);
    // No origin known yet: the version is the tag, the rest empty.
    expect(releaseLinkFor(IMAGE, undefined, { template })).toBe(
      'https://ghcr.io/acme/shop/v1.4?tag=1.4&rev=&src=',
    );
  });
});

describe('hubLinkFromTemplate', () => {
  it('renders Diun’s hub template of the domain and path', () => {
    expect(
      hubLinkFromTemplate(
        'myregistry.example.com/an/image:latest',
        'https://{{ .Domain }}/ui/repos/{{ .Path }}',
      ),
    ).toBe('https://myregistry.example.com/ui/repos/an/image');
  });
});
