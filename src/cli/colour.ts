/** The few SGR styles the CLI uses. */
const codes = {
  bold: [1, 22],
  dim: [2, 22],
  red: [31, 39],
  green: [32, 39],
  yellow: [33, 39],
} as const;

export type Style = keyof typeof codes;
export type Paint = (style: Style, text: string) => string;

/**
 * Whether to colour output written to `stream`: `NO_COLOR` (any non-empty value) turns colour
 * off, a non-empty `FORCE_COLOR` turns it on (`0` and `false` off, as Node's own tools read it), otherwise only a TTY whose `TERM` is not
 * `dumb` gets colour (https://no-color.org, https://force-color.org).
 */
export function colourEnabled(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv): boolean {
  if (env.NO_COLOR) return false;
  const force = env.FORCE_COLOR;
  if (force) return force !== '0' && force !== 'false';
  return stream.isTTY === true && env.TERM !== 'dumb';
}

/** A painter that wraps text in the style's codes, or leaves it as it is when `enabled` is false. */
export function painter(enabled: boolean): Paint {
  if (!enabled) return (_style, text) => text;
  return (style, text) => (text ? `\x1b[${codes[style][0]}m${text}\x1b[${codes[style][1]}m` : text);
}
