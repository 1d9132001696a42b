/** Where progress goes: stderr, or a stand-in in tests. */
export interface ProgressStream {
  isTTY?: boolean;
  write(text: string): unknown;
}

/** A progress indicator for a run: `update` as images get checked, `clear` before the table. */
export interface Progress {
  update(checked: number, total: number): void;
  /** Writes a log line above the progress line, which stays in place. */
  print(line: string): void;
  clear(): void;
}

export interface ProgressOptions {
  /** Milliseconds; injectable so tests need no timers. */
  now?: () => number;
  /** A TTY line is redrawn at most this often (default 100 ms). */
  redrawMs?: number;
  /** Elsewhere a line is written at most this often, the first after as long (default 5 s). */
  lineMs?: number;
}

// Carriage return, then erase the whole line.
const ERASE = '\r\x1b[2K';

/**
 * Progress on `stream`: on a terminal one line redrawn in place (`checking 37/120 images…`,
 * `listing containers…` until the images are known); elsewhere (a log file, CI) a plain line
 * every few seconds, so a short run prints nothing and a long one shows it is alive.
 */
export function createProgress(stream: ProgressStream, options: ProgressOptions = {}): Progress {
  const now = options.now ?? Date.now;
  const started = now();
  const text = (checked: number, total: number) => `checking ${checked}/${total} images…`;
  if (stream.isTTY) {
    const redrawMs = options.redrawMs ?? 100;
    let current: string | undefined = 'listing containers…';
    let last = Number.NEGATIVE_INFINITY;
    stream.write(current);
    return {
      update(checked, total) {
        const t = now();
        // The first and the last counts always show; those between at most every `redrawMs`.
        if (checked !== 0 && checked !== total && t - last < redrawMs) return;
        last = t;
        current = text(checked, total);
        stream.write(`${ERASE}${current}`);
      },
      print(line) {
        stream.write(current === undefined ? `${line}\n` : `${ERASE}${line}\n${current}`);
      },
      clear() {
        if (current !== undefined) stream.write(ERASE);
        current = undefined;
      },
    };
  }
  const lineMs = options.lineMs ?? 5_000;
  let next = started + lineMs;
  return {
    update(checked, total) {
      const t = now();
      if (t < next || checked === total) return;
      next = t + lineMs;
      stream.write(`${text(checked, total)}\n`);
    },
    print(line) {
      stream.write(`${line}\n`);
    },
    clear() {},
  };
}
