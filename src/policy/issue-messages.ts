import type { z } from 'zod';

/**
 * Turns zod's issues into sentences an admin can act on at 3 a.m.:
 * `limits.max_recipients must be a whole number, got "ten"` rather than
 * `Invalid input: expected int, received string`.
 */

/** A path as an admin writes it: `smtp.trusted_networks[1]`. */
export function displayPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += (out ? '.' : '') + String(p);
  }
  return out;
}

/** A value as it would read in the file. */
export function describeValue(v: unknown): string {
  if (v === null || v === undefined) return 'nothing';
  if (typeof v === 'string') return JSON.stringify(v.length > 60 ? v.slice(0, 57) + '...' : v);
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return String(v);
}

const EXPECTED: Readonly<Record<string, string>> = {
  number: 'a number',
  int: 'a whole number',
  string: 'a string',
  boolean: 'true or false',
  array: 'a list',
  object: 'a mapping (key: value lines)',
  record: 'a mapping (key: value lines)',
  null: 'null',
};

function isPrimitive(v: unknown): boolean {
  return v === null || ['string', 'number', 'boolean'].includes(typeof v);
}

function typeHint(expected: string, input: unknown): string {
  if (expected === 'boolean' && typeof input === 'string' && /^(yes|no|on|off|y|n)$/i.test(input)) {
    return ' (YAML 1.2 reads yes/no/on/off as text: write true or false)';
  }
  if ((expected === 'number' || expected === 'int') && typeof input === 'string' && input.trim() !== '' && !Number.isNaN(Number(input))) {
    return ' (remove the quotes)';
  }
  return '';
}

function bound(kind: 'min' | 'max', origin: string, limit: number | bigint, inclusive: boolean): string {
  const n = Number(limit);
  if (origin === 'string') {
    if (kind === 'min' && n === 1) return 'must not be empty';
    return kind === 'min' ? `must be at least ${n} characters long` : `must be at most ${n} characters long`;
  }
  if (origin === 'array' || origin === 'set') {
    if (kind === 'min' && n === 1) return 'must have at least one entry';
    return kind === 'min' ? `must have at least ${n} entries` : `must have at most ${n} entries`;
  }
  if (kind === 'min') return inclusive ? `must be at least ${n}` : `must be greater than ${n}`;
  return inclusive ? `must be at most ${n}` : `must be less than ${n}`;
}

/**
 * One sentence for one issue. `key` is the path as shown to the admin (relative to the file
 * the value stands in, so actions.yaml says `reject`, not `actions.reject`).
 * Unknown keys are phrased by the loader, which knows the alternatives.
 */
export function issueMessage(issue: z.core.$ZodIssue, key: string): string {
  const subject = key || 'this file';
  const input = (issue as { input?: unknown }).input;
  const got = isPrimitive(input) ? `, got ${describeValue(input)}` : '';
  switch (issue.code) {
    case 'invalid_type': {
      const expected = EXPECTED[issue.expected] ?? issue.expected;
      return `${subject} must be ${expected}, got ${describeValue(input)}${typeHint(issue.expected, input)}`;
    }
    case 'too_small':
      return `${subject} ${bound('min', issue.origin, issue.minimum, issue.inclusive ?? true)}${got}`;
    case 'too_big':
      return `${subject} ${bound('max', issue.origin, issue.maximum, issue.inclusive ?? true)}${got}`;
    case 'invalid_value': {
      const values = issue.values.map((v) => (typeof v === 'string' ? v : String(v)));
      return `${subject} must be ${values.length === 1 ? values[0] : 'one of ' + values.join(', ')}${got}`;
    }
    case 'invalid_format': {
      const own = issue.message && !issue.message.startsWith('Invalid') ? issue.message : `must be a valid ${issue.format}`;
      return `${phrase(subject, own)}${got}`;
    }
    case 'not_multiple_of':
      return `${subject} must be a multiple of ${String(issue.divisor)}${got}`;
    case 'invalid_key': {
      const inner = issue.issues[0];
      const why = inner && inner.message && !inner.message.startsWith('Invalid') ? inner.message : 'is not an allowed name';
      return phrase(subject, why);
    }
    case 'custom': {
      const last = key.split(/[.[]/).pop() ?? '';
      // Messages written as whole sentences ("reject must be … greater than add_header (6)") stand alone.
      if (last && issue.message.startsWith(last + ' ')) return issue.message;
      return `${phrase(subject, issue.message)}${got && !issue.message.includes('got ') ? got : ''}`;
    }
    default:
      return phrase(subject, issue.message);
  }
}

/** "KEY must …" reads as a sentence; anything else gets a colon. */
function phrase(subject: string, message: string): string {
  return /^(must|is|should|cannot|needs?) /.test(message) ? `${subject} ${message}` : `${subject}: ${message}`;
}
