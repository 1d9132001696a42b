// Link templates in labels: only `{{ .Field }}` of the known fields, checked when read.
import { describe, expect, it } from 'vitest';
import { parseLabels } from '../../../src/config/labels.js';
import { HUB_FIELDS, templateProblem } from '../../../src/config/link-template.js';
import { parseFile } from '../../../src/providers/file-entries.js';
import { config } from '../watch/fixtures.js';

const defaults = config().defaults;

describe('templateProblem', () => {
  it('accepts the known fields, with or without spaces and trim marks', () => {
    expect(templateProblem('https://{{ .Domain }}/{{.Path}}/{{- .Tag -}}', HUB_FIELDS)).toBe(
      undefined,
    );
    expect(templateProblem('https://example.org/plain', HUB_FIELDS)).toBe(undefined);
  });

  it('names an unknown field, any other action, and an unclosed one', () => {
    expect(templateProblem('{{ .Version }}', HUB_FIELDS)).toBe(
      'unknown template action {{ .Version }}: expected one of {{ .Domain }}, {{ .Path }}, {{ .Tag }}',
    );
    expect(templateProblem('{{ printf "%s" .Path }}', HUB_FIELDS)).toMatch(
      /^unknown template action \{\{ printf "%s" \.Path \}\}/,
    );
    expect(templateProblem('https://x/{{ .Path', HUB_FIELDS)).toBe('unclosed template action "{{"');
  });
});

describe('diun.hub_tpl and diun.release_url', () => {
  it('are read as templates, and a bad one is a label problem that keeps the default', () => {
    const good = parseLabels(
      {
        'diun.hub_tpl': 'https://{{ .Domain }}/ui/repos/{{ .Path }}',
        'diun.release_url': 'https://github.com/acme/shop/releases/tag/v{{ .Version }}',
      },
      defaults,
    );
    expect(good.errors).toEqual([]);
    expect(good.options.hubTemplate).toBe('https://{{ .Domain }}/ui/repos/{{ .Path }}');
    expect(good.options.releaseTemplate).toBe(
      'https://github.com/acme/shop/releases/tag/v{{ .Version }}',
    );
    const bad = parseLabels({ 'diun.release_url': 'https://x/{{ .Commit }}' }, defaults);
    expect(bad.options.releaseTemplate).toBe(undefined);
    expect(bad.errors).toEqual([
      expect.stringMatching(
        /^label diun\.release_url: unknown template action \{\{ \.Commit \}\}: .*, got "https:\/\/x\/\{\{ \.Commit \}\}"$/,
      ),
    ]);
  });
});

describe('file entries', () => {
  it('take hub_tpl and release_url as keys, checked as the labels are', () => {
    const text = [
      '- name: nginx:1.27',
      '  hub_tpl: "https://{{ .Domain }}/{{ .Path }}"',
      '  release_url: "https://nginx.org/en/CHANGES-{{ .Version }}"',
      '- name: redis:7',
      '  release_url: "{{ .Nope }}"',
    ].join('\n');
    const { entries, problems } = parseFile({ name: 'images.yml', text }, defaults);
    expect(problems).toEqual([]);
    expect(entries[0]?.options).toMatchObject({
      hubTemplate: 'https://{{ .Domain }}/{{ .Path }}',
      releaseTemplate: 'https://nginx.org/en/CHANGES-{{ .Version }}',
    });
    expect(entries[1]?.errors).toEqual([
      expect.stringMatching(/^images\.yml: \[1\]\.release_url: unknown template action/),
    ]);
  });
});
