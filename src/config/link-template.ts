// Link templates in labels (`diun.hub_tpl`, `diun.release_url`), written as Diun writes its Go
// templates: `https://{{ .Domain }}/ui/repos/{{ .Path }}`. Only plain fields are rendered, so a
// template is checked once, when the label is read, and rendering cannot fail.

/** The fields `diun.hub_tpl` may use: the reference's registry, repository path and tag. */
export const HUB_FIELDS = ['Domain', 'Path', 'Tag'] as const;
/** The fields `diun.release_url` may use: those, plus what the new image says of its origin. */
export const RELEASE_FIELDS = [...HUB_FIELDS, 'Version', 'Revision', 'Source'] as const;

const ACTION = /\{\{(.*?)\}\}/g;
const FIELD = /^-?\s*\.([A-Za-z]+)\s*-?$/;

/** Why `text` is not a template of `fields`, or undefined when it is one. */
export function templateProblem(text: string, fields: readonly string[]): string | undefined {
  for (const [whole, inside = ''] of text.matchAll(ACTION)) {
    const name = FIELD.exec(inside)?.[1];
    if (name === undefined || !fields.includes(name)) {
      return `unknown template action ${whole}: expected one of ${fields.map((f) => `{{ .${f} }}`).join(', ')}`;
    }
  }
  if (text.replace(ACTION, '').includes('{{')) return 'unclosed template action "{{"';
  return undefined;
}

/** `text` with each `{{ .Field }}` replaced by its value (empty when unknown). */
export function renderTemplate(text: string, values: Readonly<Record<string, string | undefined>>) {
  return text.replace(ACTION, (_whole, inside: string) => {
    const name = FIELD.exec(inside)?.[1] ?? '';
    return Object.hasOwn(values, name) ? (values[name] ?? '') : '';
  });
}
