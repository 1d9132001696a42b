// The docs cannot drift from the code: every key the config schema accepts is in
// docs/configuration.md with its DIUN_* variable, and every metric family /metrics renders is in
// docs/metrics.md with its type and labels. Keys and names come from the code, never a list.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { describeKeys, type KeyNode } from '../../../src/config/keys.js';
import { ConfigSchema } from '../../../src/config/schema.js';
import { createMetrics, type MetricsSource } from '../../../src/metrics/exporter-metrics.js';
import { families as declarations } from '../../../src/metrics/families.js';
import type { Snapshot } from '../../../src/watch/model.js';
import { container, record } from '../watch/fixtures.js';

const docs = (name: string) =>
  readFileSync(new URL(`../../../docs/${name}`, import.meta.url), 'utf8');

interface ConfigKey {
  /** `regopts[].timeout` */
  path: string;
  /** The last segment: `timeout`. */
  leaf: string;
  /** As the DIUN_* loader names it, list indexes as N: `DIUN_REGOPTS_N_TIMEOUT`. */
  variable: string;
  kind: KeyNode['kind'];
}

/** Every key path of the schema, walking mappings and lists of mappings. */
function configKeys(node: KeyNode, path = '', variable = 'DIUN'): ConfigKey[] {
  if (node.kind === 'list') return configKeys(node.item, `${path}[]`, `${variable}_N`);
  if (node.kind !== 'mapping') return [];
  return [...node.keys.values()].flatMap(({ key, node: child }) => {
    const childPath = path === '' ? key : `${path}.${key}`;
    const childVariable = `${variable}_${key.toUpperCase()}`;
    return [
      { path: childPath, leaf: key, variable: childVariable, kind: child.kind },
      ...configKeys(child, childPath, childVariable),
    ];
  });
}

/** The keys `doc` leaves out: each must be there by name, and by variable when it has one. */
function undocumentedKeys(keys: ConfigKey[], doc: string): string[] {
  return keys
    .filter((key) => {
      const dotted = key.path.replaceAll('[]', '');
      const heading = new RegExp(`^#+ ${dotted.replaceAll('.', '\\.')}\\b`, 'm');
      const named = doc.includes(`\`${dotted}\``) || heading.test(doc);
      // Sections are found by heading or path; ignored Diun sections (`anything`) by path, as
      // their variables set nothing that is read.
      if (key.kind === 'mapping' || key.kind === 'anything') return !named;
      return !((named || doc.includes(`\`${key.leaf}\``)) && doc.includes(key.variable));
    })
    .map((key) => key.path);
}

const NGINX = 'docker.io/library/nginx:1.25.3';

// A picture with every kind of series: an outdated container, a watch_repo image, a last run.
const snapshot: Snapshot = {
  at: 1_700_000_200,
  images: [
    {
      record: record({
        image: NGINX,
        status: 'update',
        updateAvailable: true,
        remoteCreated: 1_699_999_000,
        version: { current: '1.25.3', latest: '1.27.3', newer: true, diff: 'minor' },
      }),
      hubLink: 'https://hub.docker.com/_/nginx',
      releaseLink: 'https://github.com/nginx/nginx/releases',
      localDigests: ['sha256:local'],
      updatesDetected: 1,
      containers: [
        {
          container: container({
            name: 'web',
            image: NGINX,
            composeProject: 'p',
            composeService: 's',
          }),
          updateAvailable: true,
          status: 'update',
        },
        {
          // A Kubernetes series carries the pod's labels too.
          container: container({
            provider: 'kubernetes',
            endpoint: 'kubernetes',
            name: 'nginx',
            image: NGINX,
            k8s: { namespace: 'shop', pod: 'web-7c5ddbdf54-x2x7k', owner: 'deployment/web' },
          }),
          updateAvailable: true,
          status: 'update',
        },
      ],
    },
  ],
};

const source: MetricsSource = {
  snapshot: () => snapshot,
  providerStatus: () => [{ provider: 'docker', endpoint: 'local', up: true }],
  lastRun: () => ({
    startedAt: 1_700_000_000,
    finishedAt: 1_700_000_100,
    durationSeconds: 100,
    images: { new: 0, update: 1, unchange: 0, skip: 0, error: 0 },
    providerErrors: [],
    skipped: false,
  }),
  lastSuccess: () => 1_700_000_100,
};

interface Family {
  name: string;
  type: string;
  labels: Set<string>;
}

/** The families of a /metrics text, with the label names their series carry. */
function families(text: string): Family[] {
  const found: Family[] = [];
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) found.push({ name: type[1]!, type: type[2]!, labels: new Set() });
    else if (line !== '' && !line.startsWith('#')) {
      const labels = /\{(.*)\}/.exec(line)?.[1] ?? '';
      for (const m of labels.matchAll(/(\w+)="/g)) {
        if (m[1] !== 'le' && m[1] !== 'quantile') found.at(-1)?.labels.add(m[1]!);
      }
    }
  }
  return found;
}

/** What `doc` leaves out: a family's name; for diun_* also its type and labels in its row. */
function undocumentedFamilies(all: Family[], doc: string): string[] {
  const problems: string[] = [];
  for (const f of all) {
    if (!doc.includes(`\`${f.name}\``)) {
      problems.push(`${f.name}: not named`);
      continue;
    }
    if (!f.name.startsWith('diun_')) continue;
    const row = doc.split('\n').find((line) => line.startsWith(`| \`${f.name}\` |`));
    if (row === undefined) problems.push(`${f.name}: no table row starting with it`);
    else {
      if (!row.includes(` ${f.type} `)) problems.push(`${f.name}: type ${f.type} not in its row`);
      for (const label of f.labels) {
        if (!row.includes(label)) problems.push(`${f.name}: label ${label} not in its row`);
      }
    }
  }
  return problems;
}

async function rendered(): Promise<Family[]> {
  const metrics = createMetrics(source, ['docker', 'file'], ['gotify'], { mqtt: true });
  // Feed the counters and gauges that only get series from events, as a run would.
  metrics.observer.request({
    registry: 'docker.io',
    kind: 'manifest_head',
    code: '200',
    seconds: 0.1,
  });
  metrics.observer.rateLimit({ registry: 'docker.io', limit: 100, remaining: 99 });
  metrics.observer.concurrencyLimit?.({ registry: 'docker.io', limit: 4 });
  return families(await metrics.register.metrics());
}

describe('docs/configuration.md', () => {
  const keys = configKeys(describeKeys(ConfigSchema));

  it('names every config key of the schema, with its DIUN_* variable', () => {
    expect(undocumentedKeys(keys, docs('configuration.md'))).toEqual([]);
  });

  it('is checked against the whole schema, nested lists included', () => {
    expect(keys.length).toBeGreaterThan(50);
    const paths = keys.map((k) => k.path);
    expect(paths).toContain('regopts[].maxConcurrent');
    expect(paths).toContain('providers.docker.endpoints[].tlsVerify');
    expect(paths).toContain('gotify.webhookTokenFile');
    expect(keys.find((k) => k.path === 'regopts[].maxConcurrent')?.variable).toBe(
      'DIUN_REGOPTS_N_MAXCONCURRENT',
    );
  });

  it('would fail on a key left out', () => {
    const without = docs('configuration.md').replaceAll('DIUN_REGOPTS_N_MAXCONCURRENT', '');
    expect(undocumentedKeys(keys, without)).toEqual(['regopts[].maxConcurrent']);
    expect(undocumentedKeys(keys, '')).toHaveLength(keys.length);
  });
});

describe('docs/metrics.md', () => {
  it('names every family /metrics renders, diun_* ones with their type and labels', async () => {
    expect(undocumentedFamilies(await rendered(), docs('metrics.md'))).toEqual([]);
  });

  it('is checked against every family, labels included', async () => {
    const all = await rendered();
    const diun = all.filter((f) => f.name.startsWith('diun_'));
    expect(diun.length).toBeGreaterThan(25);
    expect(all.some((f) => f.name.startsWith('process_'))).toBe(true);
    // The sample has a Kubernetes series, so the labels only those carry are checked too.
    const container = diun.find((f) => f.name === 'diun_container_update_available');
    const declared = declarations.diun_container_update_available!;
    expect([...(container?.labels ?? [])].sort()).toEqual(
      [...declared.labelNames, ...(declared.optionalLabelNames ?? [])].sort(),
    );
    expect(declared.optionalLabelNames).toHaveLength(3);
    expect(diun.find((f) => f.name === 'diun_registry_request_duration_seconds')?.type).toBe(
      'histogram',
    );
  });

  it('would fail on a family or a label left out', async () => {
    const all = await rendered();
    const doc = docs('metrics.md');
    expect(undocumentedFamilies(all, doc.replaceAll('`diun_provider_up`', ''))).toEqual([
      'diun_provider_up: not named',
    ]);
    const noSemver = doc
      .split('\n')
      .map((line) =>
        line.startsWith('| `diun_image_latest_version_info` |')
          ? line.replaceAll('semver_diff', '')
          : line,
      )
      .join('\n');
    expect(undocumentedFamilies(all, noSemver)).toEqual([
      'diun_image_latest_version_info: label semver_diff not in its row',
    ]);
  });
});

describe('src/metrics/families.ts', () => {
  it('declares every diun_* family /metrics renders, in its order, type and labels', async () => {
    const diun = (await rendered()).filter((f) => f.name.startsWith('diun_'));
    expect(diun.map((f) => [f.name, f.type, [...f.labels]])).toEqual(
      Object.entries(declarations).map(([name, f]) => [
        name,
        f.type,
        [...f.labelNames, ...(f.optionalLabelNames ?? [])],
      ]),
    );
  });
});
