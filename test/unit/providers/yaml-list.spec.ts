import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { entryBatches, parseYaml } from '../../../src/providers/yaml-list.js';

const whole = (text: string) => parse(text, { logLevel: 'error' });

/** What `parse` throws for `text`, or undefined. */
function thrown(f: () => unknown): string | undefined {
  try {
    f();
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

// Every shape an entry of Diun's file format takes, plus the YAML a long list is written in:
// comments at column 0 and indented, blank lines, flow mappings, quoted and block scalars.
const shapes = [
  (i: number) => `- name: registry.example/team/app-${i}:1.${i}\n`,
  (i: number) => `# entry ${i}\n- name: "quoted-${i}:latest"\n  regopt: myregistry\n\n`,
  (i: number) => `- {name: 'flow-${i}', watch_repo: true, max_tags: 5}\n`,
  (i: number) =>
    `- name: multi-${i}\n  include_tags:\n    - ^1\\.2\\..*\n  notify_on: [new, update]\n  metadata:\n    note: |\n      line one\n      - not an entry\n    # a comment\n`,
  (i: number) => `-   name: spaced-${i}\n    platform:\n      os: linux\n      arch: arm64\n`,
  (i: number) => `-\n  name: dash-alone-${i}\r\n`,
];
const list = (n: number) =>
  Array.from({ length: n }, (_, i) => shapes[i % shapes.length]!(i)).join('');

describe('parsing a long YAML list a batch of entries at a time', () => {
  it('gives exactly what parsing the whole text gives, for every shape of entry', () => {
    const text = `# images\n\n${list(1_234)}# the end\n`;
    const batches = entryBatches(text);
    // The batched path is taken: 13 batches of at most 100 entries, together the whole text.
    expect(batches?.map((b) => b.entries)).toEqual([...Array(12).fill(100), 34]);
    expect(batches?.map((b) => b.text).join('')).toBe(text);
    expect(parseYaml(text)).toEqual(whole(text));
    expect(parseYaml(text)).toHaveLength(1_234);
  });

  it("reads a long list made of Diun's own file fixtures as the whole parse does", () => {
    const dir = 'test/fixtures/diun/internal/provider/file/fixtures';
    const files = ['dockerhub.yml', 'quay.yml', 'lscr.yml', 'bintray.yml'].map((f) =>
      readFileSync(join(dir, f), 'utf8'),
    );
    const text = Array.from({ length: 30 }, () => files.join('\n')).join('\n');
    expect(entryBatches(text)).toBeDefined();
    expect(parseYaml(text)).toEqual(whole(text));
  });

  it('parses a short list, an indented root, a document marker or a root mapping whole', () => {
    for (const text of [
      list(150),
      list(300).replace(/^- /gm, '  - '),
      `---\n${list(300)}`,
      `${list(300)}...\n`,
      `%YAML 1.2\n---\n${list(300)}`,
      `watch:\n  workers: 2\n${list(300)}`,
    ]) {
      expect(entryBatches(text)).toBeUndefined();
      expect(thrown(() => parseYaml(text)) ?? parseYaml(text)).toEqual(
        thrown(() => whole(text)) ?? whole(text),
      );
    }
  });

  it('resolves an alias to an anchor in an earlier batch, as the whole parse does', () => {
    const text = `- name: base\n  metadata: &shared\n    team: web\n${list(400)}- name: last\n  metadata: *shared\n`;
    expect(entryBatches(text)).toBeDefined();
    const value = parseYaml(text) as Array<{ metadata?: unknown }>;
    expect(value).toEqual(whole(text));
    expect(value.at(-1)?.metadata).toEqual({ team: 'web' });
  });

  it('names the line of an error in the whole file, not in its batch', () => {
    const lines = list(600).split('\n');
    lines.splice(1_000, 0, '- name: [unclosed');
    const text = lines.join('\n');
    const message = thrown(() => parseYaml(text));
    expect(message).toBeDefined();
    expect(message).toBe(thrown(() => whole(text)));
    expect(message).toMatch(/line 10\d\d/);
  });

  it('does not cut inside a quoted scalar whose next line starts with a dash', () => {
    const text = `${list(150)}- name: "two\n- lines"\n${list(150)}`;
    expect(thrown(() => parseYaml(text)) ?? parseYaml(text)).toEqual(
      thrown(() => whole(text)) ?? whole(text),
    );
  });
});
