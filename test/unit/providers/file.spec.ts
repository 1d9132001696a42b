import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ImageDefaultsSchema } from '../../../src/config/schema.js';
import { FileProvider } from '../../../src/providers/file.js';
import { waitFor } from '../../support/exec.js';

const digestA = `sha256:${'a'.repeat(64)}`;
const defaults = ImageDefaultsSchema.parse({});
const subscriberCalled = { timeoutMs: 5_000, intervalMs: 20, what: 'the subscriber to be called' };
const arch = { x64: 'amd64', arm64: 'arm64', arm: 'arm' }[process.arch as string] ?? process.arch;

// Diun's documented example (docs/providers/file.md), lightly trimmed.
const diunExample = String.raw`
# Watch latest tag of crazymax/nextcloud image on docker.io
- name: docker.io/crazymax/nextcloud:latest

- name: jfrog-docker-reg2.bintray.io/jfrog/artifactory-oss:4.0.0
  regopt: myregistry

- name: quay.io/coreos/hyperkube
  metadata:
    foo: bar

- name: crazymax/swarm-cronjob
  watch_repo: true
  notify_on:
    - new
  include_tags:
    - ^1\.2\..*

- name: docker.io/portainer/portainer
  watch_repo: true
  max_tags: 10
  include_tags:
    - ^\d+\.\d+\..*

- name: alpine
  watch_repo: true
  platform:
    os: linux
    arch: arm64
    variant: v8
`;

describe('file provider', () => {
  let dir: string;
  let providers: FileProvider[];

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'file-provider-'));
    providers = [];
  });
  afterEach(async () => {
    await Promise.all(providers.map((p) => p.close()));
    await rm(dir, { recursive: true, force: true });
  });

  const provider = (config: { filename?: string; directory?: string }, d = defaults) => {
    const p = new FileProvider(config, d);
    providers.push(p);
    return p;
  };
  // As an editor saves: a new file renamed over the old one.
  const save = async (path: string, text: string) => {
    await writeFile(`${path}.tmp`, text);
    await rename(`${path}.tmp`, path);
  };

  it("loads Diun's example file into one watched entry per image", async () => {
    const file = join(dir, 'images.yml');
    await save(file, diunExample);
    const p = provider({ filename: file });
    const list = await p.list();
    expect(p.status()).toEqual([{ provider: 'file', endpoint: 'file', up: true }]);
    expect(list.map((c) => c.image)).toEqual([
      'docker.io/crazymax/nextcloud:latest',
      'jfrog-docker-reg2.bintray.io/jfrog/artifactory-oss:4.0.0',
      'quay.io/coreos/hyperkube:latest',
      'docker.io/crazymax/swarm-cronjob:latest',
      'docker.io/portainer/portainer:latest',
      'docker.io/library/alpine:latest',
    ]);
    expect(list[0]).toEqual({
      provider: 'file',
      endpoint: 'file',
      id: 'images.yml#0',
      name: 'docker.io/crazymax/nextcloud:latest',
      image: 'docker.io/crazymax/nextcloud:latest',
      imageId: '',
      repoDigests: [],
      platform: { os: 'linux', architecture: arch },
      state: 'file',
      kind: 'entry',
      options: { ...defaults },
      errors: [],
      seriesLabels: { compose_project: '', compose_service: '' },
      place: { host: 'file', group: '', path: 'docker.io/crazymax/nextcloud:latest' },
      updateCommand: 'docker pull docker.io/crazymax/nextcloud:latest',
    });
    expect(list[1]!.options.regopt).toBe('myregistry');
    expect(list[2]!.options.metadata).toEqual({ foo: 'bar' });
    expect(list[3]!.options).toMatchObject({
      watchRepo: true,
      notifyOn: ['new'],
      includeTags: ['^1\\.2\\..*'],
    });
    expect(list[4]!.options).toMatchObject({ maxTags: 10, includeTags: ['^\\d+\\.\\d+\\..*'] });
    expect(list[5]!.options.platform).toBe('linux/arm64/v8');
    expect(list[5]!.platform).toEqual({ os: 'linux', architecture: 'arm64', variant: 'v8' });
    expect(list.every((c) => c.errors.length === 0 && c.skip === undefined)).toBe(true);
  });

  it('reads every *.yml and *.yaml of a directory, in name order, and nothing else', async () => {
    await save(join(dir, 'b.yaml'), '- name: b\n');
    await save(join(dir, 'a.yml'), '- name: a1\n- name: a2\n');
    await save(join(dir, 'c.txt'), '- name: c\n');
    await save(join(dir, 'd.yml.bak'), '- name: d\n');
    await mkdir(join(dir, 'e.yml'));
    const list = await provider({ directory: dir }).list();
    expect(list.map((c) => [c.id, c.name])).toEqual([
      ['a.yml#0', 'a1'],
      ['a.yml#1', 'a2'],
      ['b.yaml#0', 'b'],
    ]);
  });

  it('keeps a digest pinned with a tag, and skips a name pinned by digest alone', async () => {
    const file = join(dir, 'images.yml');
    await save(file, `- name: nginx:1.27@${digestA}\n- name: nginx@${digestA}\n`);
    const [tagged, bare] = await provider({ filename: file }).list();
    expect(tagged).toMatchObject({
      name: `nginx:1.27@${digestA}`,
      image: 'docker.io/library/nginx:1.27',
      pinnedDigest: digestA,
      errors: [],
    });
    expect(tagged!.skip).toBeUndefined();
    expect(bare).toMatchObject({ image: 'docker.io/library/nginx', skip: 'pinned by digest' });
    expect(bare!.pinnedDigest).toBeUndefined();
  });

  it('reports a bad value in its entry only, naming the file and key', async () => {
    const file = join(dir, 'images.yml');
    await save(
      file,
      [
        '- name: nginx',
        '- name: redis',
        '  max_tags: -1',
        '  include_tags: ["ok", "(unclosed"]',
        '  metadata: {"bad-key": x}',
        '- name: Bad/Name',
      ].join('\n'),
    );
    const p = provider({ filename: file });
    const [good, bad, invalid] = await p.list();
    expect(p.status()[0]!.up).toBe(true);
    expect(good!.errors).toEqual([]);
    expect(bad!.errors).toEqual([
      'images.yml: [1].max_tags: expected integer >= 0',
      'images.yml: [1].metadata.bad-key: metadata keys may only contain letters, digits and _',
      expect.stringMatching(/^images\.yml: \[1\]\.include_tags\[1\]: invalid regular expression/),
    ]);
    expect(bad!.options.maxTags).toBe(0);
    expect(invalid!.skip).toBe('invalid reference');
    expect(invalid!.errors[0]).toMatch(/^images\.yml: \[2\]\.name: invalid image reference/);
  });

  it('is down on bad YAML or an unknown key, and up again at the next good write', async () => {
    const file = join(dir, 'images.yml');
    await save(file, '- name: nginx\n');
    const p = provider({ filename: file });
    expect(await p.list()).toHaveLength(1);

    await save(file, '- name: nginx\n  max_tag: 3\n  platform: {os: linux, cpu: arm}\n');
    expect(await p.list()).toEqual([]);
    expect(p.status()).toEqual([
      {
        provider: 'file',
        endpoint: 'file',
        up: false,
        error: 'images.yml: [0].max_tag: unknown key; images.yml: [0].platform.cpu: unknown key',
      },
    ]);

    await save(file, '- name: [unclosed\n');
    expect(await p.list()).toEqual([]);
    expect(p.status()[0]!.error).toMatch(/^images\.yml: .* at line \d+, column \d+$/);

    await save(file, 'name: nginx\n');
    await p.list();
    expect(p.status()[0]!.error).toBe('images.yml: expected a list of images');

    await save(file, '- name: redis\n');
    expect((await p.list()).map((c) => c.name)).toEqual(['redis']);
    expect(p.status()[0]).toEqual({ provider: 'file', endpoint: 'file', up: true });
  });

  it('is down when the file is missing', async () => {
    const p = provider({ filename: join(dir, 'missing.yml') });
    expect(await p.list()).toEqual([]);
    expect(p.status()[0]!.error).toBe('missing.yml: no such file (ENOENT)');
  });

  it('is down while the directory is missing, and up once it exists', async () => {
    const sub = join(dir, 'images.d');
    const p = provider({ directory: sub });
    expect(await p.list()).toEqual([]);
    expect(p.status()[0]!.error).toBe('images.d: no such file (ENOENT)');
    await mkdir(sub);
    await save(join(sub, 'a.yml'), '- name: nginx\n');
    expect((await p.list()).map((c) => c.id)).toEqual(['a.yml#0']);
    expect(p.status()[0]!.up).toBe(true);
  });

  it('calls the subscriber when the file changes, not when a neighbour does', async () => {
    const file = join(dir, 'images.yml');
    await save(file, '- name: nginx\n');
    const p = provider({ filename: file });
    await p.list();
    let calls = 0;
    p.subscribe(() => {
      calls += 1;
    });
    await save(join(dir, 'state.json'), '{}');
    await save(file, '- name: nginx\n- name: redis\n');
    await waitFor(() => calls > 0, subscriberCalled);
    expect((await p.list()).map((c) => c.name)).toEqual(['nginx', 'redis']);

    // A write to another file of the folder (such as the state file) is no change.
    calls = 0;
    await save(join(dir, 'state.json'), '{"v":2}');
    await new Promise((r) => setTimeout(r, 400));
    expect(calls).toBe(0);
  });

  it('calls the subscriber when a file is added to the directory', async () => {
    const p = provider({ directory: dir });
    expect(await p.list()).toEqual([]);
    let calls = 0;
    p.subscribe(() => {
      calls += 1;
    });
    await save(join(dir, 'more.yaml'), '- name: nginx\n');
    await waitFor(() => calls > 0, subscriberCalled);
    expect((await p.list()).map((c) => c.id)).toEqual(['more.yaml#0']);
  });

  it('starts every entry from the configured defaults', async () => {
    const file = join(dir, 'images.yml');
    await save(file, '- name: nginx\n- name: redis\n  watch_repo: false\n  notify_on: [update]\n');
    const withDefaults = ImageDefaultsSchema.parse({
      watchRepo: true,
      maxTags: 5,
      sortTags: 'semver',
      includeTags: ['^1\\.'],
      notifyOn: ['new'],
    });
    const [plain, overridden] = await provider({ filename: file }, withDefaults).list();
    expect(plain!.options).toMatchObject({
      watchRepo: true,
      maxTags: 5,
      sortTags: 'semver',
      includeTags: ['^1\\.'],
      notifyOn: ['new'],
    });
    expect(overridden!.options).toMatchObject({ watchRepo: false, notifyOn: ['update'] });
  });
});
