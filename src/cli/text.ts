// Terminal text: widths are counted in UTF-16 units, which is one column for the names and
// messages shown here; ANSI colour codes are not counted.

// biome-ignore lint/suspicious/noControlCharactersInRegex: matching the escape is the point
const ansi = /\x1b\[[0-9;]*m/g;

/** The columns `text` takes on a terminal, colour codes left out. */
export function visibleLength(text: string): number {
  return text.replace(ansi, '').length;
}

/** `text` in at most `width` columns, its middle replaced by `…` (both ends say the most). */
export function middleEllipsis(text: string, width: number): string {
  if (text.length <= width) return text;
  if (width <= 1) return '…'.slice(0, width);
  const head = Math.floor((width - 1) / 2);
  return `${text.slice(0, head)}…${text.slice(text.length - (width - 1 - head))}`;
}

/**
 * Wraps `text` at spaces into lines of at most `width` columns (colour codes not counted), the
 * lines after the first indented by two spaces; a word longer than a line is cut.
 */
export function wrapText(text: string, width: number): string[] {
  if (visibleLength(text) <= width) return [text];
  const lines: string[] = [];
  let current = '';
  const room = () => width - (lines.length > 0 ? 2 : 0);
  const flush = () => {
    lines.push(lines.length > 0 ? `  ${current}` : current);
    current = '';
  };
  for (let word of text.split(' ')) {
    while (visibleLength(word) > room() && !word.includes('\x1b')) {
      const space = current ? room() - visibleLength(current) - 1 : room();
      if (space > 0) {
        current = current ? `${current} ${word.slice(0, space)}` : word.slice(0, space);
        word = word.slice(space);
      }
      flush();
    }
    const candidate = current ? `${current} ${word}` : word;
    if (visibleLength(candidate) <= room()) current = candidate;
    else {
      flush();
      current = word;
    }
  }
  if (current) flush();
  return lines;
}
