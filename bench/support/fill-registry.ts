import { gzipSync } from 'node:zlib';
import { expectStatus } from '../../test/support/http-status.js';
import { type Descriptor, digestOf, mediaTypes, uploadBlob } from '../../test/support/oci.js';
import { requestToken } from '../../test/support/token-service.js';
import { pool } from './requests.js';

// Read each answer to the end, so undici can reuse the connection.
const drained = { drain: true };

/** Where to push: the registry itself (not the proxy) and a token service user with push. */
export interface PushTarget {
  registryUrl: string;
  realm: string;
  service: string;
  user: string;
  password: string;
}

/** The one image every benchmark repository holds: its blobs and manifest bytes. */
export interface BaseImage {
  repo: string;
  blobs: Descriptor[];
  manifest: Buffer;
  digest: string;
}

// Repositories per token request while filling: keeps the query string near 2 KB.
const SCOPES_PER_TOKEN = 25;

/** Pushes a tiny single-layer image to `repo:tag` once, blob by blob. */
export async function pushBase(t: PushTarget, repo: string, tag: string): Promise<BaseImage> {
  const bearer = {
    authorization: `Bearer ${await requestToken(t, [`repository:${repo}:pull,push`], t)}`,
  };
  const layer = gzipSync(Buffer.from(`diun-exporter bench ${Date.now()}`));
  const config = Buffer.from(
    JSON.stringify({
      os: 'linux',
      architecture: 'amd64',
      created: new Date().toISOString(),
      config: {},
      rootfs: { type: 'layers', diff_ids: [digestOf(layer)] },
    }),
  );
  const blobs: Descriptor[] = [
    await uploadBlob(t.registryUrl, repo, config, mediaTypes.ociConfig, bearer),
    await uploadBlob(t.registryUrl, repo, layer, mediaTypes.ociLayer, bearer),
  ];
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: mediaTypes.ociManifest,
      config: blobs[0],
      layers: [blobs[1]],
    }),
  );
  const base = { repo, blobs, manifest, digest: digestOf(manifest) };
  await putTags(t, base, bearer.authorization, repo, [tag]);
  return base;
}

async function putTags(
  t: PushTarget,
  base: BaseImage,
  authorization: string,
  repo: string,
  tags: string[],
): Promise<void> {
  for (const tag of tags) {
    const res = await fetch(`${t.registryUrl}/v2/${repo}/manifests/${tag}`, {
      method: 'PUT',
      headers: { authorization, 'content-type': mediaTypes.ociManifest },
      body: base.manifest,
    });
    await expectStatus(res, 201, `PUT manifest ${repo}:${tag}`, drained);
  }
}

/**
 * Makes `base` available as `repo:tag` for every repo in `repos`: the blobs cross-repository
 * mounted from the base repository (no upload), then the manifest PUT under each tag.
 */
export async function spreadBase(
  t: PushTarget,
  base: BaseImage,
  repos: string[],
  tags: string[],
): Promise<void> {
  const batches: string[][] = [];
  for (let i = 0; i < repos.length; i += SCOPES_PER_TOKEN) {
    batches.push(repos.slice(i, i + SCOPES_PER_TOKEN));
  }
  await pool(batches, 4, async (batch) => {
    const scopes = [
      `repository:${base.repo}:pull`,
      ...batch.map((r) => `repository:${r}:pull,push`),
    ];
    const authorization = `Bearer ${await requestToken(t, scopes, t)}`;
    await pool(batch, 4, async (repo) => {
      for (const blob of base.blobs) {
        const mount = new URL(`${t.registryUrl}/v2/${repo}/blobs/uploads/`);
        mount.searchParams.set('mount', blob.digest);
        mount.searchParams.set('from', base.repo);
        const res = await fetch(mount, { method: 'POST', headers: { authorization } });
        await expectStatus(res, 201, `mount ${blob.digest} into ${repo}`, drained);
      }
      await putTags(t, base, authorization, repo, tags);
    });
  });
}
