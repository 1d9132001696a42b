// The environment's two ways into the config: `${VAR}` inside values, and DIUN_* variables
// that set keys the way Diun's loader does (DIUN_WATCH_WORKERS=20).
import { byNaturalOrder } from '../order.js';
import { isMapping, parseGoBool } from './fields.js';
import { IGNORED_SECTIONS } from './ignored.js';
import type { KeyNode } from './keys.js';
import { formatKeyPath, type Problem } from './problems.js';

// Sections Diun has and diun-exporter ignores: their values are never used, so a `${VAR}`
// there (a Gotify token, say) must not stop a Diun file from loading.
const UNEXPANDED: ReadonlySet<string> = new Set(IGNORED_SECTIONS);

const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** A copy of the tree with `${VAR}` and `${VAR:-default}` expanded in every string value. */
export function expandVariables(
  value: unknown,
  env: NodeJS.ProcessEnv,
  problems: Problem[],
  path: PropertyKey[] = [],
): unknown {
  if (typeof value === 'string') {
    const expanded = expandString(value, env);
    if (typeof expanded === 'string') return expanded;
    problems.push({ key: formatKeyPath(path), message: expanded.problem });
    return value;
  }
  if (Array.isArray(value)) {
    return value.map((item, index) => expandVariables(item, env, problems, [...path, index]));
  }
  if (isMapping(value)) {
    const copy: Record<string, unknown> = {};
    for (const [key, child] of Object.entries(value)) {
      const childPath = [...path, key];
      copy[key] = UNEXPANDED.has(formatKeyPath(childPath))
        ? child
        : expandVariables(child, env, problems, childPath);
    }
    return copy;
  }
  return value;
}

// `$$` is a literal `$`; a `$` not followed by `{` is left alone. Problems never quote the
// text around them, which may be a password.
function expandString(text: string, env: NodeJS.ProcessEnv): string | { problem: string } {
  let result = '';
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    const next = text[i + 1];
    if (char !== '$' || (next !== '$' && next !== '{')) {
      result += char;
    } else if (next === '$') {
      result += '$';
      i++;
    } else {
      const close = text.indexOf('}', i + 2);
      if (close === -1) return { problem: 'unterminated "${" (write "$$" for a literal "$")' };
      const body = text.slice(i + 2, close);
      const separator = body.indexOf(':-');
      const name = separator === -1 ? body : body.slice(0, separator);
      if (!VARIABLE_NAME.test(name)) {
        return {
          problem:
            'invalid variable reference: a name is letters, digits and _ (write "$$" for a literal "$")',
        };
      }
      const set = env[name];
      if (separator === -1 && set === undefined) {
        return { problem: `environment variable ${name} is not set` };
      }
      result +=
        separator !== -1 && (set === undefined || set === '') ? body.slice(separator + 2) : set;
      i = close;
    }
  }
  return result;
}

type Container = Record<string, unknown> | unknown[];

/**
 * Applies DIUN_* variables to the tree in place. Segments match keys case-insensitively (so
 * DIUN_PROVIDERS_DOCKER_WATCHBYDEFAULT finds watchByDefault), numbers index lists
 * (DIUN_REGOPTS_0_USERNAME), a list of values takes a comma-separated string. Returns, for each
 * key set, the variable that set it.
 */
export function applyEnvOverrides(
  tree: Record<string, unknown>,
  schemaKeys: KeyNode,
  env: NodeJS.ProcessEnv,
  problems: Problem[],
): Map<string, string> {
  const setBy = new Map<string, string>();
  const variables = Object.keys(env)
    // DIUN_CONFIG names the file; DIUN_EXPORTER_* belong to the process (the build revision).
    .filter((name) => name.startsWith('DIUN_') && name !== 'DIUN_CONFIG')
    .filter((name) => !name.startsWith('DIUN_EXPORTER_'))
    // Numeric order (DIUN_REGOPTS_2_* before DIUN_REGOPTS_10_*), so lists fill in order. When
    // two spellings set one key, `_` sorts after letters: ..._WATCH_BY_DEFAULT comes after
    // ..._WATCHBYDEFAULT and wins.
    .sort(byNaturalOrder);
  for (const variable of variables) {
    const value = env[variable] ?? '';
    const segments = variable.slice('DIUN_'.length).split('_');
    const outcome = assign(tree, schemaKeys, segments, [], value);
    if (typeof outcome === 'string') problems.push({ key: variable, message: outcome });
    else setBy.set(formatKeyPath(outcome), variable);
  }
  return setBy;
}

// Sets `segments` below `container` (whose shape is `node`); the key path set, or a problem.
function assign(
  container: Container,
  node: KeyNode,
  segments: string[],
  path: PropertyKey[],
  value: string,
): PropertyKey[] | string {
  const first = segments[0] ?? '';
  let key: string | number;
  let child: KeyNode;
  let rest: string[];
  if (node.kind === 'mapping' && !Array.isArray(container)) {
    const match = matchKey(node.keys, segments);
    if (match === undefined) return `unknown key ${formatKeyPath([...path, first.toLowerCase()])}`;
    [key, child, rest] = [match.key, match.node, segments.slice(match.used)];
  } else if (node.kind === 'list' && Array.isArray(container)) {
    if (!/^\d+$/.test(first))
      return `expected an index after ${formatKeyPath(path)}, got "${first}"`;
    key = Number(first);
    if (key > container.length) {
      return `index ${key} leaves a gap in ${formatKeyPath(path)} (next index is ${container.length})`;
    }
    [child, rest] = [node.item, segments.slice(1)];
  } else if (node.kind === 'dictionary' && !Array.isArray(container)) {
    // Entries of a map take the rest of the name, lower-cased as Diun does.
    [key, child, rest] = [segments.join('_').toLowerCase(), node.value, []];
  } else if (node.kind === 'anything' && !Array.isArray(container)) {
    [key, child, rest] = [first.toLowerCase(), node, segments.slice(1)];
  } else {
    return `unknown key ${formatKeyPath([...path, first.toLowerCase()])}`;
  }

  const childPath = [...path, key];
  const slot = container as Record<string | number, unknown>;
  if (rest.length === 0 || rest.every((segment) => segment === '')) {
    return setValue(slot, key, child, childPath, value);
  }
  if (child.kind === 'value')
    return `unknown key ${formatKeyPath([...childPath, (rest[0] ?? '').toLowerCase()])}`;
  const wantsList = child.kind === 'list';
  const existing = slot[key];
  // DIUN_PROVIDERS_NOMAD=true then DIUN_PROVIDERS_NOMAD_NAMESPACE=...: the section enabled
  // by the first variable takes the keys of the next ones, as in Diun.
  const enabledSection =
    UNEXPANDED.has(formatKeyPath(childPath)) &&
    typeof existing === 'string' &&
    parseGoBool(existing) === true;
  if (existing === undefined || existing === null || enabledSection)
    slot[key] = wantsList ? [] : {};
  else if (wantsList ? !Array.isArray(slot[key]) : !isMapping(slot[key])) {
    return `cannot set a key below ${formatKeyPath(childPath)}: it is not a ${wantsList ? 'list' : 'mapping'} in the file`;
  }
  return assign(slot[key] as Container, child, rest, childPath, value);
}

// camelCase keys are one segment (WATCHBYDEFAULT); WATCH_BY_DEFAULT is accepted too.
function matchKey(
  keys: Map<string, { key: string; node: KeyNode }>,
  segments: string[],
): { key: string; node: KeyNode; used: number } | undefined {
  for (let used = 1; used <= segments.length; used++) {
    const match = keys.get(segments.slice(0, used).join('').toLowerCase());
    if (match !== undefined) return { ...match, used };
  }
  return undefined;
}

function setValue(
  slot: Record<string | number, unknown>,
  key: string | number,
  node: KeyNode,
  path: PropertyKey[],
  value: string,
): PropertyKey[] | string {
  if (node.kind === 'anything' && UNEXPANDED.has(formatKeyPath(path))) {
    // A section accepted unread (providers.nomad, ...) is switched on and off as any section.
    const enable = parseGoBool(value);
    if (enable === false) delete slot[key];
    else if (enable === undefined || !isMapping(slot[key])) slot[key] = enable ? {} : value;
  } else if (node.kind === 'value' || node.kind === 'anything') {
    slot[key] = value;
  } else if (node.kind === 'list' && node.item.kind === 'value') {
    slot[key] = value === '' ? [] : value.split(',').map((item) => item.trim());
  } else if (node.kind === 'mapping') {
    // DIUN_PROVIDERS_DOCKER=true enables a section with its defaults, as in Diun.
    const enable = parseGoBool(value);
    if (enable === undefined) {
      return `${formatKeyPath(path)} is a section: set it to true to enable it, or set one of its keys`;
    }
    if (!enable) delete slot[key];
    else if (!isMapping(slot[key])) slot[key] = {};
  } else {
    return `${formatKeyPath(path)} cannot be set as a whole: set one of its entries`;
  }
  return path;
}
