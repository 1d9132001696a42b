// Orders for sorting without ICU. `localeCompare` and `Intl.Collator` load collation data from
// the ICU data inside the node binary, and those pages stay resident for the life of the
// process (about 4 MiB) just to order image references, timestamps, label keys and variable
// names, which are ASCII. Code-unit order is what `<` and a bare `.sort()` use: `-` `.` `/`,
// then digits, `:`, `@`, upper case, `_`, lower case. It differs from ICU's order only where
// punctuation meets letters or digits (`nginx:1` sorts after `nginx/x` and `nginx10`) and in
// upper against lower case (`B` before `a`).

/** Negative, zero or positive as `a` sorts before, with or after `b` by UTF-16 code unit. */
export function byCodeUnit(a: string, b: string): number {
  if (a === b) return 0;
  return a < b ? -1 : 1;
}

/**
 * Code-unit order, except that runs of digits compare as numbers: `DIUN_REGOPTS_2_NAME` before
 * `DIUN_REGOPTS_10_NAME`. Equal numbers written differently (`1`, `01`) fall back to code units,
 * so the order is total.
 */
export function byNaturalOrder(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    if (isDigit(a, i) && isDigit(b, j)) {
      const endA = digitRunEnd(a, i);
      const endB = digitRunEnd(b, j);
      const order = byNumber(a.slice(i, endA), b.slice(j, endB));
      if (order !== 0) return order;
      i = endA;
      j = endB;
    } else {
      const order = a.charCodeAt(i) - b.charCodeAt(j);
      if (order !== 0) return order;
      i++;
      j++;
    }
  }
  if (i < a.length) return 1;
  if (j < b.length) return -1;
  return byCodeUnit(a, b);
}

function isDigit(text: string, at: number): boolean {
  const code = text.charCodeAt(at);
  return code >= 48 && code <= 57;
}

function digitRunEnd(text: string, from: number): number {
  let end = from;
  while (end < text.length && isDigit(text, end)) end++;
  return end;
}

// Two runs of digits by value, however long (no Number: a run may pass 2^53).
function byNumber(a: string, b: string): number {
  const x = a.replace(/^0+/, '');
  const y = b.replace(/^0+/, '');
  return x.length - y.length || byCodeUnit(x, y);
}
