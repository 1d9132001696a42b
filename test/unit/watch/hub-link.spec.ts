import { describe, expect, it } from 'vitest';
import { hubLinkFor } from '../../../src/watch/hub-link.js';

describe('hubLinkFor', () => {
  it.each([
    ['nginx', 'https://hub.docker.com/_/nginx'],
    ['docker.io/library/nginx:1.27', 'https://hub.docker.com/_/nginx'],
    ['grafana/grafana:latest', 'https://hub.docker.com/r/grafana/grafana'],
    ['ghcr.io/crazy-max/diun:4', 'https://ghcr.io/crazy-max/diun'],
    ['quay.io/prometheus/node-exporter', 'https://quay.io/repository/prometheus/node-exporter'],
    ['gcr.io/distroless/static', 'https://gcr.io/distroless/static'],
  ])('links %s to %s', (image, link) => {
    expect(hubLinkFor(image)).toBe(link);
  });

  it('gives no link for a registry with no public page, or a reference that does not parse', () => {
    expect(hubLinkFor('registry.example.com/team/app:1')).toBe('');
    expect(hubLinkFor('localhost:5000/app')).toBe('');
    expect(hubLinkFor('Not A Reference')).toBe('');
  });
});
