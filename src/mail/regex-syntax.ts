/**
 * Reading the structure of a regular expression written for both engines (RE2 and
 * JavaScript): where a group or a class ends, and whether a quantifier makes an atom
 * optional. Forms the two engines read differently are reported as not found.
 */

/** Whether the quantifier at `at` (if any) lets the atom before it occur zero times. */
export function optionalAfter(pattern: string, at: number): boolean {
  const c = pattern[at];
  if (c === '?' || c === '*') return true;
  return c === '{' && /^\{0*(,|\})/.test(pattern.slice(at, at + 8));
}

/** Index of the ")" that closes the group opened at `open`, or -1. */
export function skipGroup(pattern: string, open: number): number {
  let depth = 0;
  for (let i = open; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\') i++;
    else if (c === '[') {
      i = skipClass(pattern, i);
      if (i < 0) return -1;
    } else if (c === '(') depth++;
    else if (c === ')' && --depth === 0) return i;
  }
  return -1;
}

/** Index of the "]" that closes the class opened at `open`, or -1 (also for forms whose reading differs between engines). */
export function skipClass(pattern: string, open: number): number {
  let i = open + 1;
  if (pattern[i] === '^') i++;
  // "[]" and "[^]" mean different things to JavaScript and to RE2.
  if (pattern[i] === ']') return -1;
  for (; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\') i++;
    else if (c === '[') return -1;
    else if (c === ']') return i;
  }
  return -1;
}
