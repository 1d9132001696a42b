import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { FamilyDeclaration } from './families.js';

type LabelsOf<D> = D extends { labelNames: readonly (infer L extends string)[] } ? L : never;

/** The prom-client metric a declaration makes, typed by its label names. */
export type DeclaredMetric<D extends FamilyDeclaration> = D['type'] extends 'counter'
  ? Counter<LabelsOf<D>>
  : D['type'] extends 'histogram'
    ? Histogram<LabelsOf<D>>
    : Gauge<LabelsOf<D>>;

/** What prom-client takes of a declaration: its name, help and label names (copied). */
export function metricConfig(name: string, family: FamilyDeclaration) {
  return { name, help: family.help, labelNames: [...family.labelNames] };
}

/**
 * One prom-client metric per family of `group`, registered in the group's order (the order
 * /metrics lists them in), returned by family name.
 */
export function registerFamilies<G extends Record<string, FamilyDeclaration>>(
  register: Registry,
  group: G,
): { [N in keyof G]: DeclaredMetric<G[N]> } {
  const made: Record<string, unknown> = {};
  for (const [name, family] of Object.entries(group)) {
    made[name] = metricOf(name, family, register);
  }
  return made as { [N in keyof G]: DeclaredMetric<G[N]> };
}

function metricOf(name: string, family: FamilyDeclaration, register: Registry) {
  const config = { ...metricConfig(name, family), registers: [register] };
  switch (family.type) {
    case 'counter':
      return new Counter(config);
    case 'gauge':
      return new Gauge(config);
    case 'histogram':
      // Without buckets of its own, prom-client's default ones.
      return new Histogram(family.buckets ? { ...config, buckets: [...family.buckets] } : config);
  }
}
