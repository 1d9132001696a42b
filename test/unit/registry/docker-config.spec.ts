import { describe, expect, it } from 'vitest';
import {
  DOCKER_HUB_SERVER,
  dockerConfigPath,
  keyHost,
  parseDockerConfig,
  storedAuthSource,
} from '../../../src/registry/docker-config.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('Docker config.json', () => {
  it('is found in DOCKER_CONFIG, else in ~/.docker', () => {
    expect(dockerConfigPath({ DOCKER_CONFIG: '/etc/docker-creds' }, '/root')).toBe(
      '/etc/docker-creds/config.json',
    );
    expect(dockerConfigPath({ HOME: '/home/me' }, '/root')).toBe('/home/me/.docker/config.json');
    expect(dockerConfigPath({}, '/root')).toBe('/root/.docker/config.json');
  });

  it('reads auths as docker login writes them: base64 auth, or username and password', () => {
    const config = parseDockerConfig(
      JSON.stringify({
        auths: {
          'https://index.docker.io/v1/': { auth: b64('hubuser:hub:pass') },
          'registry.example.com': { username: 'me', password: 'pw' },
          'https://ghcr.io/v2/': { auth: b64('bot:ghp_x') },
        },
      }),
    );
    expect(storedAuthSource(config, 'docker.io')).toEqual({
      kind: 'auths',
      username: 'hubuser',
      password: 'hub:pass',
    });
    expect(storedAuthSource(config, 'registry.example.com')).toMatchObject({ username: 'me' });
    expect(storedAuthSource(config, 'ghcr.io')).toMatchObject({
      username: 'bot',
      password: 'ghp_x',
    });
    expect(storedAuthSource(config, 'quay.io')).toBeUndefined();
  });

  it('asks the registry’s credHelpers entry first, then credsStore, keeping auths to fall back on', () => {
    const config = parseDockerConfig(
      JSON.stringify({
        auths: { 'registry.example.com': { auth: b64('me:pw') }, 'quay.io': {} },
        credHelpers: { '123.dkr.ecr.eu-west-1.amazonaws.com': 'ecr-login' },
        credsStore: 'pass',
      }),
    );
    expect(storedAuthSource(config, '123.dkr.ecr.eu-west-1.amazonaws.com')).toEqual({
      kind: 'helper',
      helper: 'ecr-login',
      serverUrl: '123.dkr.ecr.eu-west-1.amazonaws.com',
    });
    expect(storedAuthSource(config, 'registry.example.com')).toEqual({
      kind: 'helper',
      helper: 'pass',
      serverUrl: 'registry.example.com',
      fallback: { kind: 'auths', username: 'me', password: 'pw' },
    });
    // Docker Hub is asked about under the key Docker keeps it by.
    expect(storedAuthSource(config, 'docker.io')).toMatchObject({ serverUrl: DOCKER_HUB_SERVER });
  });

  it('marks identity tokens, which need an OAuth2 exchange, rather than sending them as passwords', () => {
    const config = parseDockerConfig(
      JSON.stringify({
        auths: { 'myacr.azurecr.io': { auth: b64('<token>:'), identitytoken: 'x' } },
      }),
    );
    expect(storedAuthSource(config, 'myacr.azurecr.io')).toEqual({ kind: 'identity-token' });
  });

  it('matches keys by host, whatever their scheme and path', () => {
    expect(keyHost('https://Registry.Example.com:5000/v2/')).toBe('registry.example.com:5000');
    expect(keyHost('registry.example.com')).toBe('registry.example.com');
    expect(keyHost('http://localhost:5000')).toBe('localhost:5000');
  });

  it('says what is wrong with a file that is not a JSON object, without echoing it', () => {
    expect(() => parseDockerConfig('{"auths": {"x": {"auth": "c2VjcmV0')).toThrow('not valid JSON');
    expect(() => parseDockerConfig('[]')).toThrow('not a JSON object');
    expect(parseDockerConfig('{}')).toEqual({ auths: {}, credHelpers: {} });
  });
});
