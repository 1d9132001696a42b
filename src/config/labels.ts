// Per-container options from `diun.*` labels, read as Diun reads them. A bad label never
// stops a run: it is reported and the default is kept.
import { byCodeUnit } from '../order.js';
import { normaliseArchitecture } from '../registry/platform.js';
import { parseGoBool, regexpProblem } from './fields.js';
import { HUB_FIELDS, RELEASE_FIELDS, templateProblem } from './link-template.js';
import { METADATA_KEY, METADATA_KEY_PROBLEM } from './metadata-keys.js';
import { oneOf } from './problems.js';
import type { ImageDefaults } from './schema.js';

export interface ImageOptions extends ImageDefaults {
  enable?: boolean;
  regopt?: string;
  hubLink?: string;
  /** `diun.hub_tpl`: the image page as a template of the reference, when no `hubLink` is set. */
  hubTemplate?: string;
  /** `diun.release_url`: where to read what changed, as a template of the reference and origin. */
  releaseTemplate?: string;
  /** `os/arch` or `os/arch/variant`, lower case. */
  platform?: string;
}

const NOTIFY_ON = ['new', 'update'] as const;
const SORT_TAGS = ['default', 'reverse', 'semver', 'lexicographical'] as const;
const METADATA_PREFIX = 'diun.metadata.';
const PLATFORM_PART = /^[a-z0-9_.-]+$/;

/** True when a container is watched: `diun.enable` decides, else the provider's default. */
export function isWatched(labels: Record<string, string>, watchByDefault: boolean): boolean {
  const enable = labels['diun.enable'];
  return (enable === undefined ? undefined : parseGoBool(enable)) ?? watchByDefault;
}

/** The options for one container: its labels over the config's defaults, with every bad label. */
export function parseLabels(
  labels: Record<string, string>,
  defaults: ImageDefaults,
): { options: ImageOptions; errors: string[] } {
  const options: ImageOptions = {
    ...defaults,
    notifyOn: [...defaults.notifyOn],
    includeTags: [...defaults.includeTags],
    excludeTags: [...defaults.excludeTags],
    metadata: { ...defaults.metadata },
  };
  const errors: string[] = [];
  const bad = (label: string, expected: string, value: string) => {
    errors.push(`label ${label}: ${expected}, got "${value}"`);
  };

  for (const [label, value] of Object.entries(labels).sort(([a], [b]) => byCodeUnit(a, b))) {
    switch (label) {
      case 'diun.enable':
      case 'diun.watch_repo': {
        const flag = parseGoBool(value);
        if (flag === undefined) bad(label, 'expected true or false', value);
        else if (label === 'diun.enable') options.enable = flag;
        else options.watchRepo = flag;
        break;
      }
      case 'diun.regopt':
        if (value !== '') options.regopt = value;
        break;
      case 'diun.notify_on': {
        if (value === '') break;
        const statuses = value.split(';');
        const wrong = statuses.find((status) => !isOneOf(NOTIFY_ON, status));
        if (wrong !== undefined)
          bad(label, `expected ${oneOf(NOTIFY_ON)} (separated by ";")`, value);
        else options.notifyOn = [...new Set(statuses.filter((s) => isOneOf(NOTIFY_ON, s)))];
        break;
      }
      case 'diun.sort_tags':
        if (value === '') break;
        if (isOneOf(SORT_TAGS, value)) options.sortTags = value;
        else bad(label, `expected ${oneOf(SORT_TAGS)}`, value);
        break;
      case 'diun.max_tags':
        if (/^\d+$/.test(value)) options.maxTags = Number(value);
        else bad(label, 'expected integer >= 0', value);
        break;
      case 'diun.include_tags':
      case 'diun.exclude_tags': {
        if (label === 'diun.exclude_tags' && value === '') {
          // As in Diun: it splits "" into one empty pattern, which matches (excludes) every tag.
          options.excludeTags = [''];
          break;
        }
        const patterns = readPatterns(label, value, errors);
        if (patterns === undefined) break;
        if (label === 'diun.include_tags') options.includeTags = patterns;
        else options.excludeTags = patterns;
        break;
      }
      case 'diun.hub_link':
        if (value !== '') options.hubLink = value;
        break;
      case 'diun.hub_tpl':
      case 'diun.release_url': {
        if (value === '') break;
        const hub = label === 'diun.hub_tpl';
        const problem = templateProblem(value, hub ? HUB_FIELDS : RELEASE_FIELDS);
        if (problem !== undefined) bad(label, problem, value);
        else if (hub) options.hubTemplate = value;
        else options.releaseTemplate = value;
        break;
      }
      case 'diun.platform': {
        const platform = normalisePlatform(value);
        if (platform === undefined) bad(label, 'expected os/arch or os/arch/variant', value);
        else options.platform = platform;
        break;
      }
      default:
        if (label.startsWith(METADATA_PREFIX)) readMetadata(label, value, options.metadata, errors);
    }
  }
  return { options, errors };
}

// `a;b` is two patterns, as in Diun; empty ones (a trailing `;`) would match every tag, so they
// are dropped (an empty exclude label as a whole is read as Diun reads it, above).
function readPatterns(label: string, value: string, errors: string[]): string[] | undefined {
  const patterns = value.split(';').filter((pattern) => pattern !== '');
  const problems = patterns.flatMap((pattern) => {
    const problem = regexpProblem(pattern);
    return problem === undefined ? [] : [`label ${label}: ${problem}`];
  });
  errors.push(...problems);
  return problems.length === 0 ? patterns : undefined;
}

function readMetadata(
  label: string,
  value: string,
  metadata: Record<string, string>,
  errors: string[],
): void {
  const key = label.slice(METADATA_PREFIX.length);
  if (key === '' || value === '') return; // as Diun: an empty one is skipped
  if (METADATA_KEY.test(key)) metadata[key] = value;
  else errors.push(`label ${label}: ${METADATA_KEY_PROBLEM}`);
}

function normalisePlatform(value: string): string | undefined {
  const parts = value.toLowerCase().split('/');
  if (parts.length < 2 || parts.length > 3 || !parts.every((part) => PLATFORM_PART.test(part))) {
    return undefined;
  }
  const [os = '', arch = '', variant] = parts;
  return [os, normaliseArchitecture(arch), ...(variant === undefined ? [] : [variant])].join('/');
}

function isOneOf<T extends string>(values: readonly T[], value: string): value is T {
  return (values as readonly string[]).includes(value);
}
