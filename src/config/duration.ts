// Go's time.ParseDuration, because diun.yml files carry Go durations ("30s", "1m30s", "500ms").

const NANOS_PER_UNIT: Record<string, number> = {
  ns: 1,
  us: 1e3,
  µs: 1e3, // U+00B5 micro sign
  μs: 1e3, // U+03BC Greek mu
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

// Go's Duration is an int64 of nanoseconds: about 2562047h at most.
const MAX_NANOS = 2 ** 63;

// One "<number><unit>" component; Go accepts "1.", ".5" but not ".".
const COMPONENT = /(\d+(?:\.\d*)?|\.\d+)([^\d.]*)/y;

/** Parses a Go duration ("30s", "1m30s", "500ms", "2h", "0") into milliseconds; throws on bad input. */
export function parseDuration(input: string): number {
  const invalid = (why?: string) =>
    new Error(`invalid duration "${input}"${why === undefined ? '' : `: ${why}`}`);
  let rest = input;
  let sign = 1;
  if (rest.startsWith('-') || rest.startsWith('+')) {
    sign = rest.startsWith('-') ? -1 : 1;
    rest = rest.slice(1);
  }
  if (rest === '0') return 0;
  if (rest === '') throw invalid();

  let nanos = 0;
  COMPONENT.lastIndex = 0;
  while (COMPONENT.lastIndex < rest.length) {
    const match = COMPONENT.exec(rest);
    if (match === null) throw invalid();
    const [, number = '', unit = ''] = match;
    if (unit === '') throw invalid('missing unit (ns, us, ms, s, m, h)');
    const perUnit = NANOS_PER_UNIT[unit];
    if (perUnit === undefined) throw invalid(`unknown unit "${unit}"`);
    // Whole and fractional parts apart, so "1.1s" is 1100 ms and not 1100.0000000000002.
    const [whole = '', fraction = ''] = number.split('.');
    nanos += Number(whole || '0') * perUnit + Math.round(Number(`0.${fraction || '0'}`) * perUnit);
  }
  if (!Number.isFinite(nanos) || nanos >= MAX_NANOS) throw invalid('out of range');
  return (sign * nanos) / 1e6;
}
