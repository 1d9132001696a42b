import { createHash, randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from './exec.js';
import { expectStatus } from './http-status.js';

// Multi-platform images cannot come out of `docker import` or `docker push`: they are written
// here through the registry's HTTP API, blob by blob and manifest by manifest, as BuildKit does.
// `headers` (a push token's Authorization, where the registry asks for one) go with every request.

export const mediaTypes = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar+gzip',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayer: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  inToto: 'application/vnd.in-toto+json',
} as const;

/** The manifest family: OCI, or Docker's schema 2 (manifest list and v2 manifests). */
export type ManifestFormat = 'oci' | 'docker';

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: Platform;
  annotations?: Record<string, string>;
}

/** A manifest pushed to a repository: its descriptor and the exact bytes the registry holds. */
export interface PushedManifest {
  descriptor: Descriptor;
  body: Buffer;
}

/** `sha256:<hex>` of `bytes`, as registries name content. */
export function digestOf(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** Parses `os/arch[/variant]`, the form of `docker --platform` and of the `diun.platform` label. */
export function parsePlatform(text: string): Platform {
  const [os, architecture, variant] = text.split('/');
  if (!os || !architecture) throw new Error(`not a platform: ${text}`);
  return variant ? { os, architecture, variant } : { os, architecture };
}

/** Uploads `bytes` to `repo` in one request after opening the upload; returns its descriptor. */
export async function uploadBlob(
  registryUrl: string,
  repo: string,
  bytes: Buffer,
  mediaType: string,
  headers: Record<string, string> = {},
): Promise<Descriptor> {
  const digest = digestOf(bytes);
  const start = await fetch(`${registryUrl}/v2/${repo}/blobs/uploads/`, {
    method: 'POST',
    headers,
  });
  await expectStatus(start, 202, `POST blob upload to ${repo}`);
  const location = new URL(start.headers.get('location') ?? '', registryUrl);
  location.searchParams.set('digest', digest);
  const put = await fetch(location, {
    method: 'PUT',
    headers: { ...headers, 'content-type': 'application/octet-stream' },
    body: bytes,
  });
  await expectStatus(put, 201, `PUT blob ${digest} to ${repo}`);
  return { mediaType, digest, size: bytes.length };
}

/** PUTs `manifest` to `repo` under `reference` (a tag or its own digest) with its media type. */
export async function putManifest(
  registryUrl: string,
  repo: string,
  reference: string,
  manifest: { mediaType: string } & Record<string, unknown>,
  headers: Record<string, string> = {},
): Promise<PushedManifest> {
  const body = Buffer.from(JSON.stringify(manifest, null, 2));
  const res = await fetch(`${registryUrl}/v2/${repo}/manifests/${reference}`, {
    method: 'PUT',
    headers: { ...headers, 'content-type': manifest.mediaType },
    body,
  });
  await expectStatus(res, 201, `PUT manifest ${repo}:${reference}`);
  const digest = digestOf(body);
  const answered = res.headers.get('docker-content-digest');
  if (answered && answered !== digest) {
    throw new Error(`registry stored ${repo}:${reference} as ${answered}, expected ${digest}`);
  }
  return { descriptor: { mediaType: manifest.mediaType, digest, size: body.length }, body };
}

/** PUTs an already pushed manifest under another tag (same bytes, so the same digest). */
export async function tagManifest(
  registryUrl: string,
  repo: string,
  tag: string,
  manifest: PushedManifest,
): Promise<void> {
  const res = await fetch(`${registryUrl}/v2/${repo}/manifests/${tag}`, {
    method: 'PUT',
    headers: { 'content-type': manifest.descriptor.mediaType },
    body: manifest.body,
  });
  await expectStatus(res, 201, `PUT manifest ${repo}:${tag}`);
}

/**
 * Builds and pushes (by digest) a runnable single-platform image: a config for `platform` with
 * CMD /bin/sleep 3600 and one layer holding /bin/sleep, its libs and a marker unique to this
 * build, so every call gives a new digest even for the same platform.
 */
export async function pushPlatformImage(
  registryUrl: string,
  repo: string,
  platform: Platform,
  format: ManifestFormat = 'oci',
): Promise<PushedManifest> {
  const layer = await buildLayer(`${repo} ${platform.os}/${platform.architecture} ${randomUUID()}`);
  const types =
    format === 'oci'
      ? {
          manifest: mediaTypes.ociManifest,
          config: mediaTypes.ociConfig,
          layer: mediaTypes.ociLayer,
        }
      : {
          manifest: mediaTypes.dockerManifest,
          config: mediaTypes.dockerConfig,
          layer: mediaTypes.dockerLayer,
        };
  const layerDescriptor = await uploadBlob(registryUrl, repo, layer.gzipped, types.layer);
  const config = {
    ...platform,
    created: new Date().toISOString(),
    config: { Cmd: ['/bin/sleep', '3600'] },
    rootfs: { type: 'layers', diff_ids: [layer.diffId] },
    history: [{ created: new Date().toISOString(), created_by: 'test/support/oci.ts' }],
  };
  const configDescriptor = await uploadBlob(
    registryUrl,
    repo,
    Buffer.from(JSON.stringify(config)),
    types.config,
  );
  const pushed = await putManifestByDigest(registryUrl, repo, {
    schemaVersion: 2,
    mediaType: types.manifest,
    config: configDescriptor,
    layers: [layerDescriptor],
  });
  return { ...pushed, descriptor: { ...pushed.descriptor, platform } };
}

/**
 * Builds and pushes (by digest) an attestation manifest as BuildKit attaches to an index: an OCI
 * manifest with an in-toto layer, listed as `unknown/unknown` and pointing at `subject`.
 */
export async function pushAttestation(
  registryUrl: string,
  repo: string,
  subject: Descriptor,
): Promise<PushedManifest> {
  const statement = {
    _type: 'https://in-toto.io/Statement/v0.1',
    predicateType: 'https://spdx.dev/Document',
    subject: [{ name: repo, digest: { sha256: subject.digest.slice('sha256:'.length) } }],
    predicate: { spdxVersion: 'SPDX-2.3', name: `sbom ${randomUUID()}` },
  };
  const layer = await uploadBlob(
    registryUrl,
    repo,
    Buffer.from(JSON.stringify(statement)),
    mediaTypes.inToto,
  );
  const config = {
    architecture: 'unknown',
    os: 'unknown',
    config: {},
    rootfs: { type: 'layers', diff_ids: [layer.digest] },
  };
  const configDescriptor = await uploadBlob(
    registryUrl,
    repo,
    Buffer.from(JSON.stringify(config)),
    mediaTypes.ociConfig,
  );
  const pushed = await putManifestByDigest(registryUrl, repo, {
    schemaVersion: 2,
    mediaType: mediaTypes.ociManifest,
    config: configDescriptor,
    layers: [
      { ...layer, annotations: { 'in-toto.io/predicate-type': 'https://spdx.dev/Document' } },
    ],
  });
  return {
    ...pushed,
    descriptor: {
      ...pushed.descriptor,
      platform: { os: 'unknown', architecture: 'unknown' },
      annotations: {
        'vnd.docker.reference.type': 'attestation-manifest',
        'vnd.docker.reference.digest': subject.digest,
      },
    },
  };
}

/** PUTs an index (OCI image index, or Docker manifest list) over `manifests` as `repo:tag`. */
export async function pushIndex(
  registryUrl: string,
  repo: string,
  tag: string,
  manifests: PushedManifest[],
  format: ManifestFormat = 'oci',
): Promise<PushedManifest> {
  return putManifest(registryUrl, repo, tag, {
    schemaVersion: 2,
    mediaType: format === 'oci' ? mediaTypes.ociIndex : mediaTypes.dockerList,
    manifests: manifests.map((m) => m.descriptor),
  });
}

/** PUTs `manifest` to `repo` under its own digest, as the manifests an index lists are pushed. */
export async function putManifestByDigest(
  registryUrl: string,
  repo: string,
  manifest: { mediaType: string } & Record<string, unknown>,
  headers: Record<string, string> = {},
): Promise<PushedManifest> {
  const digest = digestOf(Buffer.from(JSON.stringify(manifest, null, 2)));
  return putManifest(registryUrl, repo, digest, manifest, headers);
}

let files: Promise<string[]> | undefined;

/** /bin/sleep with its libc and loader, found once per process. */
function sleepFiles(): Promise<string[]> {
  files ??= run('ldd', ['/bin/sleep']).then(({ stdout }) => [
    '/bin/sleep',
    // `libc.so.6 => /lib/.../libc.so.6 (0x...)` and `/lib64/ld-linux-x86-64.so.2 (0x...)`
    ...[...stdout.matchAll(/(\/\S+) \(0x/g)].map((m) => m[1]!),
  ]);
  return files;
}

/** A gzipped layer tarball and the digest of its uncompressed form (the config's diff_id). */
async function buildLayer(marker: string): Promise<{ gzipped: Buffer; diffId: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'oci-layer-'));
  try {
    await writeFile(join(dir, 'build-marker'), marker);
    const tar = join(dir, 'layer.tar');
    // -h stores the files behind symlinks (usrmerge makes /bin and /lib64 links).
    await run('tar', ['-chf', tar, ...(await sleepFiles())]);
    await run('tar', ['-rf', tar, '-C', dir, 'build-marker']);
    const diffId = digestOf(await readFile(tar));
    await run('gzip', ['-n', tar]);
    return { gzipped: await readFile(`${tar}.gz`), diffId };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
