import { spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { requireBinary } from '../support/exec.js';

// The release workflow cannot run here; yamllint checks its form and the parsed file what a user
// relies on: a v1.2.3 tag, unit tests first, then one image for amd64, arm64 and 32-bit Pi on GHCR.
const root = resolve(import.meta.dirname, '..', '..');
const workflowPath = join(root, '.github', 'workflows', 'release.yml');
const yamllintConfig =
  '{extends: default, rules: {line-length: {max: 120}, truthy: {check-keys: false}, document-start: disable}}';

interface Step {
  id?: string;
  name?: string;
  uses?: string;
  run?: string;
  if?: string;
  with?: Record<string, string | number | boolean>;
}

interface Job {
  needs?: string | string[];
  permissions?: Record<string, string>;
  steps: Step[];
}

interface Workflow {
  on: { push?: { tags?: string[]; branches?: string[] }; workflow_dispatch?: unknown };
  jobs: Record<string, Job>;
}

/** GitHub's filter pattern as a RegExp: `*` is any run of characters but `/`. */
function tagFilter(pattern: string): RegExp {
  const body = pattern
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('[^/]*');
  return new RegExp(`^${body}$`);
}

/** A GitHub Actions expression as written in the workflow: `${{ inner }}`. */
function expr(inner: string): string {
  return `\${{ ${inner} }}`;
}

function usesAction(step: Step, action: string): boolean {
  return step.uses?.split('@')[0] === action;
}

/** The one job with a step using `action`, and that step. */
function findStep(workflow: Workflow, action: string): { name: string; job: Job; step: Step } {
  const found = Object.entries(workflow.jobs).flatMap(([name, job]) =>
    job.steps.filter((step) => usesAction(step, action)).map((step) => ({ name, job, step })),
  );
  expect(found, action).toHaveLength(1);
  return found[0]!;
}

function needsOf(job: Job): string[] {
  if (job.needs === undefined) return [];
  return typeof job.needs === 'string' ? [job.needs] : job.needs;
}

describe('release workflow', () => {
  let text: string;
  let workflow: Workflow;

  beforeAll(async () => {
    text = await readFile(workflowPath, 'utf8');
    workflow = parse(text) as Workflow;
  });

  it('passes yamllint without a finding', () => {
    const res = spawnSync(
      requireBinary('yamllint', 'yamllint'),
      ['-f', 'parsable', '-d', yamllintConfig, workflowPath],
      { encoding: 'utf8' },
    );
    expect(`${res.stdout}${res.stderr}`).toBe('');
    expect(res.status).toBe(0);
  });

  it('runs on a pushed v1.2.3 tag, or by hand, and on no branch push', () => {
    const patterns = workflow.on.push?.tags ?? [];
    const matches = (tag: string) => patterns.some((p) => tagFilter(p).test(tag));
    expect(matches('v1.2.3')).toBe(true);
    expect(matches('v1.3.0-rc.1')).toBe(true);
    expect(matches('1.2.3')).toBe(false);
    expect(matches('latest')).toBe(false);
    expect(workflow.on.push?.branches).toBeUndefined();
    expect(workflow.on).toHaveProperty('workflow_dispatch');
  });

  it('builds the repository Dockerfile for amd64, arm64 and arm/v7 with the revision', () => {
    const { job, step } = findStep(workflow, 'docker/build-push-action');
    const platforms = String(step.with?.platforms)
      .split(/[,\s]+/)
      .filter(Boolean)
      .sort();
    expect(platforms).toEqual(['linux/amd64', 'linux/arm/v7', 'linux/arm64']);
    expect(step.with?.context).toBe('.');
    expect(step.with?.file ?? 'Dockerfile').toBe('Dockerfile');
    expect(String(step.with?.['build-args'])).toContain(`REVISION=${expr('github.sha')}`);
    // Foreign platforms build under QEMU, set up before the build in the same job.
    const qemu = job.steps.findIndex((s) => usesAction(s, 'docker/setup-qemu-action'));
    const buildx = job.steps.findIndex((s) => usesAction(s, 'docker/setup-buildx-action'));
    expect(qemu).toBeGreaterThanOrEqual(0);
    expect(buildx).toBeGreaterThan(qemu);
    expect(job.steps.indexOf(step)).toBeGreaterThan(buildx);
  });

  // Node.js 24 publishes no 32-bit ARM build, so node:24-* (and node:22-trixie-*) images have no
  // linux/arm/v7 variant and the arm/v7 build would stop at FROM; node:22-bookworm-* has one.
  it('takes every Node.js base image from a tag that exists for linux/arm/v7', async () => {
    const dockerfile = await readFile(join(root, 'Dockerfile'), 'utf8');
    const bases = [...dockerfile.matchAll(/^FROM\s+(--platform=\S+\s+)?node:(\S+)/gim)]
      // A stage pinned to the build machine's platform never pulls the arm/v7 variant.
      .filter((m) => !m[1]?.includes('BUILDPLATFORM'))
      .map((m) => m[2]!.split(/\s/)[0]!);
    expect(bases.length).toBeGreaterThan(0);
    for (const tag of bases) {
      const major = Number(tag.split(/[.-]/)[0]);
      expect(major <= 22 && tag.includes('bookworm'), `node:${tag} for linux/arm/v7`).toBe(true);
    }
  });

  it('pushes ghcr.io/<owner>/<repo> with the semver tags, latest only for a release', () => {
    const { job, step } = findStep(workflow, 'docker/build-push-action');
    const meta = findStep(workflow, 'docker/metadata-action');
    const login = findStep(workflow, 'docker/login-action');
    expect(meta.job).toBe(job);
    expect(login.job).toBe(job);
    expect(login.step.with?.registry).toBe('ghcr.io');
    expect(login.step.with?.password).toBe(expr('github.token'));
    expect(job.permissions).toMatchObject({ packages: 'write', contents: 'read' });
    expect(meta.step.with?.images).toBe(`ghcr.io/${expr('github.repository')}`);
    expect(step.with?.tags).toBe(expr(`steps.${meta.step.id}.outputs.tags`));
    expect(String(step.with?.push)).toMatch(/\$\{\{.*\}\}|true/);

    const tags = String(meta.step.with?.tags);
    for (const pattern of ['{{version}}', '{{major}}.{{minor}}', '{{major}}']) {
      expect(tags).toMatch(new RegExp(`type=semver,pattern=${pattern.replace(/[.{}]/g, '\\$&')}`));
    }
    // metadata-action's own latest is off; the explicit one skips v1.3.0-rc.1 and the like.
    expect(String(meta.step.with?.flavor)).toMatch(/latest=false/);
    const latest = tags.split('\n').find((line) => line.includes('value=latest'));
    expect(latest).toContain("!contains(github.ref_name, '-')");
  });

  it('pushes only after npm ci and the unit tests passed in a job it needs', () => {
    const image = findStep(workflow, 'docker/build-push-action');
    const gates = needsOf(image.job).map((name) => workflow.jobs[name]);
    const gate = gates.find((job) => job?.steps.some((s) => s.run?.includes('npm run test:unit')));
    expect(gate, 'a needed job runs npm run test:unit').toBeDefined();
    const runs = gate!.steps.map((s) => s.run ?? '');
    const install = runs.findIndex((r) => /\bnpm ci\b/.test(r));
    const tests = runs.findIndex((r) => r.includes('npm run test:unit'));
    expect(install).toBeGreaterThanOrEqual(0);
    expect(tests).toBeGreaterThan(install);
    expect(gate!.steps.some((s) => usesAction(s, 'actions/setup-node'))).toBe(true);
  });

  it('pins every action to a major version', () => {
    const uses = Object.values(workflow.jobs).flatMap((job) =>
      job.steps.flatMap((s) => (s.uses ? [s.uses] : [])),
    );
    expect(uses.length).toBeGreaterThan(0);
    for (const action of uses) expect(action).toMatch(/^[\w.-]+\/[\w.-]+@v\d+$/);
  });
});
