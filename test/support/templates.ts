import { join, resolve } from 'node:path';
import { requireBinary, run } from './exec.js';

/** The shipped Alertmanager template file. */
export const SHIPPED_TEMPLATE = join(
  resolve(import.meta.dirname, '..', '..'),
  'alertmanager',
  'templates',
  'diun.tmpl',
);

/**
 * `name` of the shipped diun.tmpl rendered by amtool 0.25 (`amtool template render`) over
 * `dataFile`, Alertmanager's template data as JSON (a webhook body is that data); `html` escapes
 * as Alertmanager's email does.
 */
export async function renderShippedTemplate(
  name: string,
  dataFile: string,
  type: 'text' | 'html' = 'text',
): Promise<string> {
  const amtool = requireBinary('amtool', 'prometheus-alertmanager');
  const { stdout } = await run(amtool, [
    'template',
    'render',
    `--template.glob=${SHIPPED_TEMPLATE}`,
    `--template.type=${type}`,
    `--template.data=${dataFile}`,
    `--template.text={{ template "${name}" . }}`,
  ]);
  return stdout;
}
