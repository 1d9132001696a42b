// What the providers share: reading a reference, saying a problem once, and how a container is
// shown (series labels, place on the page, the command that updates it), which the page, the API,
// the CLI and the metrics take as they are.
import { afterEach, describe, expect, it } from 'vitest';
import { configureLog, stderrSink } from '../../../src/log.js';
import { composePresentation, OnceWarnings, readReference } from '../../../src/providers/common.js';
import { podPresentation } from '../../../src/providers/kubernetes-pods.js';

const docker = (image: string) => ({ endpoint: 'local', name: 'web', image });

describe('composePresentation', () => {
  it('uses compose for a compose service, else a pull of the image', () => {
    const command = (image: string, project: string, service: string) =>
      composePresentation(docker(image), project, service).updateCommand;
    expect(command('docker.io/library/nginx:1.27', 'shop', 'web')).toBe(
      'docker compose -p shop pull web && docker compose -p shop up -d web',
    );
    expect(command('registry.example.org/team/backup:2', '', '')).toBe(
      'docker pull registry.example.org/team/backup:2',
    );
    expect(command('docker.io/library/nginx:1.27', 'shop', '')).toBe(
      'docker pull docker.io/library/nginx:1.27',
    );
  });

  it('quotes what the shell would read specially, and only that', () => {
    const shown = composePresentation(docker('nginx:1'), "it's; rm -rf /", 'web');
    expect(shown.updateCommand).toBe(
      `docker compose -p 'it'\\''s; rm -rf /' pull web && docker compose -p 'it'\\''s; rm -rf /' up -d web`,
    );
  });

  it('labels the series with the project and service, and shows them as the group', () => {
    expect(composePresentation(docker('nginx:1'), 'shop', 'web')).toMatchObject({
      seriesLabels: { compose_project: 'shop', compose_service: 'web' },
      place: { host: 'local', group: 'shop / web', path: 'web' },
    });
    expect(composePresentation(docker('nginx:1'), '', '').place.group).toBe('');
  });
});

describe('podPresentation', () => {
  const at = (owner: string, pod = 'web-7c5ddbdf54-x2k9q') =>
    podPresentation('nginx', { namespace: 'shop', pod, owner });

  it('restarts a pod’s workload, or deletes a pod no workload remakes', () => {
    expect(at('deployment/web').updateCommand).toBe(
      'kubectl -n shop rollout restart deployment/web',
    );
    expect(at('statefulset/db', 'db-0').updateCommand).toBe(
      'kubectl -n shop rollout restart statefulset/db',
    );
    expect(at('job/backup-1', 'backup-1-abcde').updateCommand).toBe(
      'kubectl -n shop delete pod backup-1-abcde',
    );
  });

  it('labels the series with namespace, pod and owner, and names it as kubectl does', () => {
    expect(at('deployment/web')).toMatchObject({
      seriesLabels: {
        k8s_namespace: 'shop',
        pod: 'web-7c5ddbdf54-x2k9q',
        k8s_owner: 'deployment/web',
      },
      place: {
        host: 'web-7c5ddbdf54-x2k9q',
        group: 'shop / deployment/web',
        path: 'shop/web-7c5ddbdf54-x2k9q/nginx',
      },
    });
  });
});

describe('readReference', () => {
  const listed = () => ({
    image: '',
    errors: [] as string[],
    skip: undefined as string | undefined,
  });

  it('normalises the image, keeping a digest unless only the tag is checked', () => {
    const digest = `sha256:${'a'.repeat(64)}`;
    const w = listed();
    let seen = '';
    readReference(w, `nginx:1.27@${digest}`, (ref) => {
      seen = ref.digest ?? '';
    });
    expect(w.image).toBe(`docker.io/library/nginx:1.27@${digest}`);
    expect(seen).toBe(digest);
    const tag = listed();
    readReference(tag, `nginx:1.27@${digest}`, () => {}, { tagOnly: true });
    expect(tag.image).toBe('docker.io/library/nginx:1.27');
  });

  it('makes an invalid reference an error of the container, worded by the provider', () => {
    const w = listed();
    let judged = false;
    readReference(
      w,
      'Not A Reference',
      () => {
        judged = true;
      },
      { describe: (m) => `name: ${m}` },
    );
    expect(judged).toBe(false);
    expect(w.skip).toBe('invalid reference');
    expect(w.errors).toEqual([expect.stringMatching(/^name: .+/)]);
    expect(w.image).toBe('');
  });
});

describe('OnceWarnings', () => {
  const lines: string[] = [];
  afterEach(() => {
    configureLog({ sink: stderrSink });
    lines.length = 0;
  });

  it('says a problem once while it lasts, and again when it comes back', () => {
    configureLog({ sink: (line) => lines.push(line) });
    const warnings = new OnceWarnings('container label problem');
    const problem = { key: 'c1 bad', fields: { container: 'web', error: 'bad' } };
    warnings.report([problem, problem]);
    warnings.report([problem]);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/level=warn msg="container label problem" container=web error=bad/);
    warnings.report([]);
    warnings.report([problem]);
    expect(lines).toHaveLength(2);
  });
});
