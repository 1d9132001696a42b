/**
 * Registries people run at home and at work, against the real docker-registry: a plain-HTTP one
 * on a LAN name (reached with insecureTLS, as Diun does), one behind a private CA (regopt
 * caFile), and credentials from Docker's config.json and a credential helper, with the token
 * service stand-in rotating the helper's short-lived secret.
 *
 * Every server binds 127.0.0.1. The LAN names are pointed at it by the client's `lookup`
 * option alone: a name is all that makes a registry "not loopback" (127.0.0.0/8 counts as
 * loopback), and the connections, TLS and HTTP exchanges are the real ones.
 */
import { lookup as dnsLookup } from 'node:dns';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { LookupFunction } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { configureLog, stderrSink } from '../../src/log.js';
import { RegistryClient, type RegistryObserver } from '../../src/registry/client.js';
import { DockerCredentials } from '../../src/registry/docker-credentials.js';
import { parseReference } from '../../src/registry/reference.js';
import type { RequestOptions } from '../../src/registry/types.js';
import { writeCredentialHelper } from '../support/credential-helper.js';
import { requireBinary } from '../support/exec.js';
import { mediaTypes, putManifest, uploadBlob } from '../support/oci.js';
import { startRegistry } from '../support/registry.js';
import { rejection } from '../support/registry-error.js';
import { suiteTeardown } from '../support/teardown.js';
import { privateCaCertificate } from '../support/tls-certs.js';
import { startTokenRegistry, type TokenRegistry } from '../support/token-service.js';

requireBinary('docker-registry', 'docker-registry');
requireBinary('openssl', 'openssl');

const LAN_NAME = 'registry.home.lan';
const CORP_NAME = 'registry.corp.lan';
const defaults: RequestOptions = { timeoutMs: 5_000, insecureTLS: false };

// Resolves the test's LAN names to 127.0.0.1, everything else as the system does.
const lookup: LookupFunction = (hostname, options, callback) =>
  dnsLookup([LAN_NAME, CORP_NAME].includes(hostname) ? '127.0.0.1' : hostname, options, callback);

function newClient(opts: { observer?: RegistryObserver; dockerCredentials?: DockerCredentials }) {
  const client = new RegistryClient({ userAgent: 'diun-exporter/test', lookup, ...opts });
  onTestFinished(() => client.close());
  return client;
}

/** The log lines written while the test runs. */
function captureLog(): string[] {
  const lines: string[] = [];
  configureLog({ sink: (line) => lines.push(line) });
  onTestFinished(() => configureLog({ sink: stderrSink }));
  return lines;
}

describe('a plain-HTTP registry on a LAN name', () => {
  const stops = suiteTeardown();
  let port: string;
  let digest: string;

  beforeAll(async () => {
    const registry = stops.add(await startRegistry(), (r) => r.stop());
    port = registry.host.split(':')[1]!;
    const config = await uploadBlob(
      registry.url,
      'team/app',
      Buffer.from('{}'),
      mediaTypes.ociConfig,
    );
    const pushed = await putManifest(registry.url, 'team/app', '1.0', {
      schemaVersion: 2,
      mediaType: mediaTypes.ociManifest,
      config,
      layers: [],
    });
    digest = pushed.descriptor.digest;
  });

  it('is refused without insecureTLS, with a message that says what to set', async () => {
    const err = await rejection(
      newClient({}).headManifest(parseReference(`${LAN_NAME}:${port}/team/app:1.0`), defaults),
    );
    expect(err.reason).toBe('registry_error');
    expect(err.message).toContain(`GET ${LAN_NAME}:${port}/v2/`);
    expect(err.message).toContain('plain HTTP is used only with insecureTLS: true');
  });

  it('is reached over plain HTTP with insecureTLS, probed once and said once', async () => {
    const lines = captureLog();
    const requests: string[] = [];
    const client = newClient({
      observer: { request: (e) => requests.push(`${e.kind} ${e.code}`), rateLimit: () => {} },
    });
    const ref = parseReference(`${LAN_NAME}:${port}/team/app:1.0`);
    const insecure = { ...defaults, insecureTLS: true };
    expect((await client.headManifest(ref, insecure)).digest).toBe(digest);
    expect((await client.headManifest(ref, insecure)).digest).toBe(digest);
    // The HTTPS ping fails, the plain one answers, and both HEADs go straight to plain HTTP.
    expect(requests).toEqual(['ping error', 'ping 200', 'manifest_head 200', 'manifest_head 200']);
    const said = lines.filter((l) => l.includes('answered over plain HTTP'));
    expect(said).toHaveLength(1);
    expect(said[0]).toContain(
      `registry ${LAN_NAME}:${port} answered over plain HTTP: insecureTLS allows it`,
    );
  });
});

describe('a registry behind a private CA', () => {
  const stops = suiteTeardown();
  let dir: string;
  let caFile: string;
  let port: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'private-ca-'));
    stops.add(dir, (d) => rm(d, { recursive: true, force: true }));
    const certs = await privateCaCertificate(dir, [`DNS:${CORP_NAME}`]);
    caFile = certs.caFile;
    const registry = stops.add(await startRegistry({ tls: certs }), (r) => r.stop());
    port = registry.host.split(':')[1]!;
  });

  // The registry's own 404 for a tag it does not have shows the TLS conversation worked.
  const ref = () => parseReference(`${CORP_NAME}:${port}/team/none:1.0`);

  it('fails without the CA, naming the registry and the regopt key that fixes it', async () => {
    const err = await rejection(newClient({}).headManifest(ref(), defaults));
    expect(err.reason).toBe('registry_error');
    expect(err.message).toContain(`GET ${CORP_NAME}:${port}/v2/`);
    expect(err.message).toContain("the registry's TLS certificate is not signed by a trusted CA");
    expect(err.message).toContain('caFile');
  });

  it('is trusted with caFile', async () => {
    const err = await rejection(newClient({}).headManifest(ref(), { ...defaults, caFile }));
    expect(err).toMatchObject({ reason: 'not_found', status: 404 });
  });

  it('fails as invalid, naming the file, when caFile is no certificate', async () => {
    const notPem = join(dir, 'not-a-ca.txt');
    await writeFile(notPem, 'hello');
    const err = await rejection(newClient({}).headManifest(ref(), { ...defaults, caFile: notPem }));
    expect(err.reason).toBe('invalid');
    expect(err.message).toContain(`caFile "${notPem}" holds no PEM certificate`);
  });
});

describe("credentials from Docker's config.json and its credential helpers", () => {
  const stops = suiteTeardown();
  let hub: TokenRegistry;
  let dir: string;
  const USERS = { ecr: { password: 'first-secret' } };

  beforeAll(async () => {
    hub = stops.add(
      await startTokenRegistry({ users: USERS, anonymous: false, expiresInSeconds: 1 }),
      (t) => t.stop(),
    );
    dir = await mkdtemp(join(tmpdir(), 'docker-config-'));
    stops.add(dir, (d) => rm(d, { recursive: true, force: true }));
  });

  // A tag the registry does not have: not_found means the token was granted, auth that not.
  const ref = () => parseReference(`${hub.registry.host}/private/app:1.0`);

  async function dockerConfig(name: string, config: object) {
    const folder = join(dir, name);
    await mkdir(folder, { recursive: true });
    await writeFile(join(folder, 'config.json'), JSON.stringify(config));
    return folder;
  }

  it('uses auths, and a regopt username wins over it', async () => {
    const auth = Buffer.from(`ecr:${USERS.ecr.password}`).toString('base64');
    const folder = await dockerConfig('auths', {
      auths: { [`http://${hub.registry.host}`]: { auth } },
    });
    const creds = new DockerCredentials({ env: { DOCKER_CONFIG: folder } });
    const client = newClient({ dockerCredentials: creds });
    expect((await rejection(client.headManifest(ref(), defaults))).reason).toBe('not_found');
    const wrong = {
      ...defaults,
      credentials: { username: 'regopt-user', password: 'regopt-wrong' },
    };
    const err = await rejection(client.headManifest(ref(), wrong));
    expect(err.reason).toBe('auth');
    expect(err.message).not.toContain('regopt-wrong');
  });

  it('asks the helper again once when its token expired, and fails clearly when still refused', async () => {
    const helper = writeCredentialHelper(dir, 'test');
    const folder = await dockerConfig('helper', { credHelpers: { [hub.registry.host]: 'test' } });
    const env = { DOCKER_CONFIG: folder, PATH: `${helper.dir}:${process.env.PATH ?? ''}` };
    const client = newClient({ dockerCredentials: new DockerCredentials({ env }) });
    const lines = captureLog();
    helper.set(hub.registry.host, { username: 'ecr', secret: 'first-secret' });
    hub.tokens.setPassword('ecr', 'first-secret');
    expect((await rejection(client.headManifest(ref(), defaults))).reason).toBe('not_found');
    expect(helper.calls()).toEqual([hub.registry.host]);

    // The helper's secret expires and it hands out a new one; the pull token runs out too.
    hub.tokens.setPassword('ecr', 'second-secret');
    helper.set(hub.registry.host, { username: 'ecr', secret: 'second-secret' });
    await sleep(1_100);
    expect((await rejection(client.headManifest(ref(), defaults))).reason).toBe('not_found');
    expect(helper.calls()).toHaveLength(2);

    // Refused again with what the helper gives: asked once more, then a clear failure.
    hub.tokens.setPassword('ecr', 'third-secret');
    helper.set(hub.registry.host, { username: 'ecr', secret: 'stale-secret' });
    await sleep(1_100);
    const err = await rejection(client.headManifest(ref(), defaults));
    expect(err.reason).toBe('auth');
    expect(err.message).toContain('(credentials from docker-credential-test)');
    expect(helper.calls()).toHaveLength(3);
    for (const secret of ['first-secret', 'second-secret', 'stale-secret']) {
      expect(err.message).not.toContain(secret);
      expect(lines.join('\n')).not.toContain(secret);
    }
  });

  it('asks credsStore about the registry, and is anonymous when the helper has nothing', async () => {
    const helper = writeCredentialHelper(dir, 'store');
    const folder = await dockerConfig('store', { credsStore: 'store' });
    const env = { DOCKER_CONFIG: folder, PATH: `${helper.dir}:${process.env.PATH ?? ''}` };
    const client = newClient({ dockerCredentials: new DockerCredentials({ env }) });
    hub.tokens.setPassword('ecr', 'store-secret');
    const err = await rejection(client.headManifest(ref(), defaults));
    // Nothing stored: anonymous, which this token service refuses.
    expect(err.reason).toBe('auth');
    expect(helper.calls()).toEqual([hub.registry.host]);
    helper.set(hub.registry.host, { username: 'ecr', secret: 'store-secret' });
    const fresh = newClient({ dockerCredentials: new DockerCredentials({ env }) });
    expect((await rejection(fresh.headManifest(ref(), defaults))).reason).toBe('not_found');
  });
});
