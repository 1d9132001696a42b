import { describe, expect, it } from 'vitest';
import {
  formatReference,
  isLoopbackRegistry,
  parseReference,
  parseRepoDigest,
  ReferenceParseError,
  registryApiHost,
  registryApiUrl,
  repositoryKey,
} from '../../../src/registry/reference.js';

const D = `sha256:${'a'.repeat(64)}`;

describe('parseReference normalises as Docker does', () => {
  it.each([
    ['nginx', 'docker.io/library/nginx:latest'],
    ['nginx:1.25', 'docker.io/library/nginx:1.25'],
    ['library/nginx', 'docker.io/library/nginx:latest'],
    ['docker.io/nginx', 'docker.io/library/nginx:latest'],
    ['index.docker.io/nginx:1', 'docker.io/library/nginx:1'],
    ['registry-1.docker.io/library/nginx', 'docker.io/library/nginx:latest'],
    ['user/app', 'docker.io/user/app:latest'],
    ['docker.io/user/app:v2', 'docker.io/user/app:v2'],
    ['user/team/app', 'docker.io/user/team/app:latest'],
    ['localhost/app', 'localhost/app:latest'],
    ['localhost:5000/app', 'localhost:5000/app:latest'],
    ['127.0.0.1:5000/team/app:1.0', '127.0.0.1:5000/team/app:1.0'],
    ['[::1]:5000/app:2', '[::1]:5000/app:2'],
    ['registry.example.com/a/b/c:tag', 'registry.example.com/a/b/c:tag'],
    ['ghcr.io/owner/repo', 'ghcr.io/owner/repo:latest'],
    ['quay.io/org/my_app.v2--x', 'quay.io/org/my_app.v2--x:latest'],
    ['my-registry:5000/app', 'my-registry:5000/app:latest'],
    // A bare `host:port` is a name with a tag, exactly as `docker pull localhost:5000` reads it.
    ['localhost:5000', 'docker.io/library/localhost:5000'],
    ['nginx:Latest_1.0-rc', 'docker.io/library/nginx:Latest_1.0-rc'],
    [`nginx@${D}`, `docker.io/library/nginx@${D}`],
    [`nginx:1.25@${D}`, `docker.io/library/nginx:1.25@${D}`],
    [`127.0.0.1:5000/team/app:1.0@${D}`, `127.0.0.1:5000/team/app:1.0@${D}`],
    [`nginx@sha512:${'b'.repeat(128)}`, `docker.io/library/nginx@sha512:${'b'.repeat(128)}`],
  ])('%s -> %s', (input, expected) => {
    expect(formatReference(parseReference(input))).toBe(expected);
  });

  it('splits into registry, repository, tag and digest', () => {
    expect(parseReference('nginx')).toEqual({
      registry: 'docker.io',
      repository: 'library/nginx',
      tag: 'latest',
    });
    expect(parseReference(`127.0.0.1:5000/team/app:1.0@${D}`)).toEqual({
      registry: '127.0.0.1:5000',
      repository: 'team/app',
      tag: '1.0',
      digest: D,
    });
    // Pinned by digest only: no `latest` is made up.
    expect(parseReference(`nginx@${D}`)).toEqual({
      registry: 'docker.io',
      repository: 'library/nginx',
      digest: D,
    });
  });

  it.each([
    ['', 'empty'],
    ['NGINX', 'lowercase'],
    ['user/App', 'lowercase'],
    ['docker.io/Library/nginx', 'lowercase'],
    ['localhost:5000/Team/app', 'lowercase'],
    ['nginx:-bad', 'bad tag'],
    ['nginx:.bad', 'bad tag'],
    ['nginx:bad/tag', 'bad registry'],
    [`nginx:${'a'.repeat(129)}`, 'bad tag'],
    ['nginx:', 'bad tag'],
    ['nginx@sha256:abc', 'sha256 digest must be 64'],
    [`nginx@sha256:${'A'.repeat(64)}`, 'sha256 digest must be 64'],
    [`nginx@md5:${'a'.repeat(32)}`, 'unsupported digest algorithm'],
    ['nginx@latest', 'bad digest'],
    ['nginx@', 'bad digest'],
    ['-nginx', 'bad repository'],
    ['nginx-', 'bad repository'],
    ['a//b', 'bad repository'],
    ['a/b/', 'bad repository'],
    ['nginx:1.0:2', 'bad repository'],
    ['-host.io/app', 'bad registry'],
    ['a'.repeat(64), 'image ID'],
    [`example.com/${'a'.repeat(250)}`, 'longer than 255'],
  ])('rejects %j (%s)', (input, why) => {
    expect(() => parseReference(input)).toThrow(ReferenceParseError);
    expect(() => parseReference(input)).toThrow(why);
  });

  it('names the input in the error', () => {
    expect(() => parseReference('Foo:bar')).toThrow('"Foo:bar"');
  });
});

describe('repositoryKey and formatReference', () => {
  it('keys by registry/repository, ignoring tag and digest', () => {
    expect(repositoryKey(parseReference(`nginx:1@${D}`))).toBe('docker.io/library/nginx');
  });
});

describe('parseRepoDigest reads Docker RepoDigests entries', () => {
  it.each([
    [`nginx@${D}`, { repository: 'docker.io/library/nginx', digest: D }],
    [`user/app@${D}`, { repository: 'docker.io/user/app', digest: D }],
    [`127.0.0.1:5000/team/app@${D}`, { repository: '127.0.0.1:5000/team/app', digest: D }],
    [`localhost:5000/app@${D}`, { repository: 'localhost:5000/app', digest: D }],
  ])('%s', (input, expected) => {
    expect(parseRepoDigest(input)).toEqual(expected);
  });

  it.each(['<none>@<none>', 'nginx', 'nginx:1.25', 'nginx@sha256:short', ''])(
    'ignores %j',
    (input) => {
      expect(parseRepoDigest(input)).toBeUndefined();
    },
  );
});

describe('registry hosts', () => {
  it('talks to Docker Hub on registry-1.docker.io', () => {
    expect(registryApiHost('docker.io')).toBe('registry-1.docker.io');
    expect(registryApiHost('ghcr.io')).toBe('ghcr.io');
    expect(registryApiUrl('docker.io', '/v2/').href).toBe('https://registry-1.docker.io/v2/');
  });

  it.each([
    ['localhost', true],
    ['localhost:5000', true],
    ['127.0.0.1', true],
    ['127.0.0.1:5000', true],
    ['127.45.6.7:80', true],
    ['[::1]', true],
    ['[::1]:5000', true],
    ['128.0.0.1:5000', false],
    ['127.0.0.1.example.com', false],
    ['localhost.example.com:5000', false],
    ['docker.io', false],
    ['[::2]:5000', false],
  ])('%s is loopback: %s', (registry, loopback) => {
    expect(isLoopbackRegistry(registry)).toBe(loopback);
    const scheme = loopback ? 'http:' : 'https:';
    expect(registryApiUrl(registry, '/v2/').protocol).toBe(scheme);
  });
});
