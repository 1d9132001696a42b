import { describe, expect, it } from 'vitest';
import { hubLinkFor } from '../../../src/watch/hub-link.js';

describe('hubLinkFor', () => {
  it.each([
    ['nginx', 'https://hub.docker.com/_/nginx'],
    ['docker.io/library/nginx:1.27', 'https://hub.docker.com/_/nginx'],
    ['grafana/grafana:latest', 'https://hub.docker.com/r/grafana/grafana'],
    [
      'ghcr.io/crazy-max/diun:4',
      'https://github.com/users/crazy-max/packages/container/package/diun',
    ],
    [
      'ghcr.io/linuxserver/baseimage/alpine:3.20',
      'https://github.com/users/linuxserver/packages/container/package/baseimage%2Falpine',
    ],
    [
      'registry.gitlab.com/gitlab-org/gitlab-runner:v17',
      'https://gitlab.com/gitlab-org/gitlab-runner/container_registry',
    ],
    ['quay.io/prometheus/node-exporter', 'https://quay.io/repository/prometheus/node-exporter'],
    ['gcr.io/distroless/static', 'https://gcr.io/distroless/static'],
  ])('links %s to %s', (image, link) => {
    expect(hubLinkFor(image)).toBe(link);
  });

  it('gives no link for a registry with no public page, or a reference that does not parse', () => {
    expect(hubLinkFor('registry.example.com/team/app:1')).toBe('');
    expect(hubLinkFor('localhost:5000/app')).toBe('');
    expect(hubLinkFor('Not A Reference')).toBe('');
    // A GitLab path longer than group/project may be a subgroup or an image below a project.
    expect(hubLinkFor('registry.gitlab.com/group/sub/project/image:1')).toBe('');
  });
});
