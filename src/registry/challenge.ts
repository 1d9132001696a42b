/** WWW-Authenticate parsing: which scheme a registry asks for, and where its tokens come from. */

/** One challenge of a WWW-Authenticate header; scheme and parameter names lower-cased. */
export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/** What a registry asks for: nothing, Basic credentials, or a Bearer token from `realm`. */
export type RegistryChallenge =
  | { scheme: 'none' }
  | { scheme: 'basic' }
  | { scheme: 'bearer'; realm: string; service?: string };

/** Parses a WWW-Authenticate header (several challenges, quoted or bare values) leniently. */
export function parseWwwAuthenticate(header: string | string[] | undefined): Challenge[] {
  const text = Array.isArray(header) ? header.join(', ') : (header ?? '');
  const challenges: Challenge[] = [];
  let current: Challenge | undefined;
  let i = 0;
  const skip = (re: RegExp) => {
    while (i < text.length && re.test(text.charAt(i))) i++;
  };
  while (i < text.length) {
    skip(/[\s,]/);
    const start = i;
    skip(/[!#$%&'*+.^_`|~0-9A-Za-z-]/);
    const name = text.slice(start, i);
    if (name === '') {
      i++;
      continue;
    }
    skip(/[ \t]/);
    if (text.charAt(i) !== '=') {
      current = { scheme: name.toLowerCase(), params: {} };
      challenges.push(current);
      continue;
    }
    i++;
    skip(/[ \t]/);
    let value = '';
    if (text.charAt(i) === '"') {
      for (i++; i < text.length && text.charAt(i) !== '"'; i++) {
        if (text.charAt(i) === '\\') i++;
        value += text.charAt(i);
      }
      i++;
    } else {
      const valueStart = i;
      skip(/[^\s,]/);
      value = text.slice(valueStart, i);
    }
    if (current) current.params[name.toLowerCase()] = value;
  }
  return challenges;
}

/** The challenge Docker would answer: Bearer (with a realm) over Basic; undefined if neither. */
export function pickChallenge(challenges: Challenge[]): RegistryChallenge | undefined {
  const bearer = challenges.find((c) => c.scheme === 'bearer' && c.params.realm);
  if (bearer?.params.realm) {
    const { realm, service } = bearer.params;
    return service ? { scheme: 'bearer', realm, service } : { scheme: 'bearer', realm };
  }
  return challenges.some((c) => c.scheme === 'basic') ? { scheme: 'basic' } : undefined;
}
