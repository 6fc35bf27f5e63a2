import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { KEY_LENGTH, keyBitsAt } from '../bayes-key.js';
import { MAX_SLOT_COUNT, type BayesIndex } from './bayes-index.js';

/** Rows per read: some 60 KB of text at a time, so the load leaves little garbage behind. */
const CHUNK = 4096;
const COMMA = 44;

interface Joined {
  n: number;
  last: string | null;
  keys: string | null;
  spam: string | null;
  ham: string | null;
}

/**
 * Read the whole bayes_tokens table into `index` (at the open of the writer). Read row by
 * row, node:sqlite makes an array and a string for every token, and that was most of the
 * load; here SQLite joins a chunk of rows into three strings (keys, spam counts, ham
 * counts) read by position. A chunk with anything out of the ordinary (a key not in the
 * stored form, a count past what a slot holds) is read again row by row.
 */
export function loadIndex(db: DatabaseSync, index: BayesIndex): void {
  const select = (where: string) => `SELECT token, spam, ham FROM bayes_tokens ${where} ORDER BY token LIMIT ${CHUNK}`;
  const join = (where: string) =>
    db.prepare(`SELECT count(*) AS n, max(token) AS last, group_concat(token, ',') AS keys, group_concat(spam, ',') AS spam, group_concat(ham, ',') AS ham FROM (${select(where)})`);
  const rows = (where: string) => {
    const statement = db.prepare(select(where));
    statement.setReturnArrays(true);
    return statement;
  };
  const first = { join: join(''), rows: rows('') };
  const next = { join: join('WHERE token > ?'), rows: rows('WHERE token > ?') };
  const parsed = new Parsed();
  let after: string | null = null;
  for (;;) {
    const args: string[] = after === null ? [] : [after];
    const statements: { join: StatementSync; rows: StatementSync } = after === null ? first : next;
    const chunk = statements.join.get(...args) as unknown as Joined;
    if (!chunk.n || chunk.last === null) return;
    if (parsed.read(chunk)) for (let i = 0; i < chunk.n; i++) index.setBits(parsed.lo[i]!, parsed.hi[i]!, parsed.spam[i]!, parsed.ham[i]!);
    else for (const [token, spam, ham] of statements.rows.iterate(...args) as Iterable<[string, number, number]>) index.set(token, spam, ham);
    if (chunk.n < CHUNK) return;
    after = chunk.last;
  }
}

/** One chunk's columns, read whole before any of it is used (a chunk read row by row starts clean). */
class Parsed {
  readonly lo = new Uint32Array(CHUNK);
  readonly hi = new Uint32Array(CHUNK);
  readonly spam = new Uint32Array(CHUNK);
  readonly ham = new Uint32Array(CHUNK);
  private readonly bits = new Uint32Array(2);

  read(chunk: Joined): boolean {
    const { n, keys } = chunk;
    // Keys of KEY_LENGTH characters of the key alphabet (which has no comma), each followed by
    // a comma but the last: then the commas are all separators, and each key is where it seems.
    if (keys === null || keys.length !== n * (KEY_LENGTH + 1) - 1) return false;
    for (let i = 0; i < n; i++) {
      const at = i * (KEY_LENGTH + 1);
      if (!keyBitsAt(keys, at, this.bits) || (i < n - 1 && keys.charCodeAt(at + KEY_LENGTH) !== COMMA)) return false;
      this.lo[i] = this.bits[0]!;
      this.hi[i] = this.bits[1]!;
    }
    return counts(chunk.spam, n, this.spam) && counts(chunk.ham, n, this.ham);
  }
}

/** n whole numbers up to MAX_SLOT_COUNT joined by commas into `out`; false for anything else. */
function counts(text: string | null, n: number, out: Uint32Array): boolean {
  if (text === null) return false;
  let k = 0;
  let value = 0;
  let digits = 0;
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : COMMA;
    if (c === COMMA) {
      if (digits === 0 || digits > 5 || value > MAX_SLOT_COUNT || k >= n) return false;
      out[k++] = value;
      value = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      value = value * 10 + (c - 48);
      digits++;
    } else return false;
  }
  return k === n;
}
