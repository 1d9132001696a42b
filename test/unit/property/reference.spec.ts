// Property tests of reference parsing: no input makes it throw anything but ReferenceParseError,
// and whatever it accepts formats to a reference that parses back to itself.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  formatReference,
  type ImageReference,
  parseReference,
  ReferenceParseError,
} from '../../../src/registry/reference.js';

const RUNS = { numRuns: 400 };

/** The reference, or the ReferenceParseError; any other throw fails the property. */
function tryParse(input: string): ImageReference | ReferenceParseError {
  try {
    return parseReference(input);
  } catch (error) {
    if (error instanceof ReferenceParseError) return error;
    throw error;
  }
}

// Strings made of the characters references are made of, so the parser's deeper paths are hit.
const referenceLike = fc
  .array(
    fc.constantFrom(
      ...'abcxyzAZ0189.-_:/@[]',
      'sha256:',
      'docker.io/',
      'localhost:5000/',
      'library/',
      ':latest',
      `@sha256:${'a'.repeat(64)}`,
    ),
    { maxLength: 30 },
  )
  .map((parts) => parts.join(''));

const lower = fc.stringMatching(/^[a-z0-9]{1,8}$/);
const pathComponent = fc
  .tuple(lower, fc.option(fc.tuple(fc.constantFrom('.', '_', '__', '-', '---'), lower)))
  .map(([head, tail]) => (tail === null ? head : `${head}${tail[0]}${tail[1]}`));
const registry = fc.oneof(
  fc.constant(undefined),
  fc.constantFrom('docker.io', 'index.docker.io', 'ghcr.io', 'localhost', 'Registry.Example.COM'),
  fc
    .tuple(
      fc.array(fc.stringMatching(/^[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,6}[a-zA-Z0-9])?$/), {
        minLength: 1,
        maxLength: 3,
      }),
      fc.option(fc.integer({ min: 1, max: 65_535 })),
    )
    .map(([labels, port]) => {
      // One label and no port reads as a Docker Hub namespace, as in Docker.
      const host = labels.length === 1 && port === null ? `${labels[0]}.io` : labels.join('.');
      return port === null ? host : `${host}:${port}`;
    }),
  fc.ipV4().map((ip) => `${ip}:5000`),
);
const tag = fc.stringMatching(/^\w[\w.-]{0,20}$/);
const digest = fc.constantFrom(['sha256', 64], ['sha512', 128]).chain(([algorithm, length]) =>
  fc
    .string({
      unit: fc.constantFrom(...'0123456789abcdef'),
      minLength: length,
      maxLength: length,
    })
    .map((hex) => `${algorithm}:${hex}`),
);
const validReference = fc.record({
  registry,
  // The first component has no `.`: with no registry it would read as one, as in Docker.
  path: fc
    .tuple(lower, fc.array(pathComponent, { maxLength: 3 }))
    .map(([first, rest]) => [first, ...rest]),
  tag: fc.option(tag),
  digest: fc.option(digest),
});

describe('parseReference and formatReference', () => {
  it.each([
    ['any string', fc.string({ maxLength: 80 })],
    ['any string of any code points', fc.string({ unit: 'binary', maxLength: 80 })],
    ['strings of reference characters', referenceLike],
  ])(
    'throw nothing but ReferenceParseError on %s, and round-trip what they accept',
    (_w, input) => {
      fc.assert(
        fc.property(input, (text) => {
          const first = tryParse(text);
          if (first instanceof ReferenceParseError) return;
          const formatted = formatReference(first);
          const again = tryParse(formatted);
          expect(again).toEqual(first);
          expect(formatReference(again as ImageReference)).toBe(formatted);
        }),
        RUNS,
      );
    },
  );

  it('parse every generated valid reference, keeping its tag and digest, and round-trip', () => {
    fc.assert(
      fc.property(validReference, ({ registry, path, tag, digest }) => {
        let input = [registry, ...path].filter((p) => p !== undefined).join('/');
        if (tag !== null) input += `:${tag}`;
        if (digest !== null) input += `@${digest}`;
        const ref = parseReference(input);
        expect(ref.repository.endsWith(path.join('/'))).toBe(true);
        expect(ref.tag).toBe(tag ?? (digest === null ? 'latest' : undefined));
        expect(ref.digest).toBe(digest ?? undefined);
        const formatted = formatReference(ref);
        expect(parseReference(formatted)).toEqual(ref);
        expect(formatReference(parseReference(formatted))).toBe(formatted);
      }),
      RUNS,
    );
  });
});
