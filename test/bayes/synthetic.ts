/**
 * Made-up mail for the Bayes tests: spam and ham drawn from two vocabularies plus words
 * both use, with a seeded generator so every run sees the same messages.
 */

const SPAM_WORDS = (
  'viagra cialis pills pharmacy discount cheap offer winner prize lottery casino bonus credit ' +
  'mortgage refinance investment guaranteed income millions unclaimed inheritance beneficiary ' +
  'urgent wire transfer replica watches rolex luxury weight loss miracle unsubscribe click limited'
).split(' ');
const HAM_WORDS = (
  'meeting agenda minutes project deadline review patch commit branch release notes kernel ' +
  'compiler build failure test suite quarterly report budget spreadsheet lunch tomorrow thanks ' +
  'regards attached draft slides conference schedule holiday family weekend football garden'
).split(' ');
const COMMON_WORDS = 'the a to of and in for on with this that you we our your is are be will have from at it'.split(' ');

export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function pick<T>(r: () => number, list: readonly T[]): T {
  return list[Math.floor(r() * list.length)] as T;
}

function sentence(r: () => number, own: readonly string[], n: number): string {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(r() < 0.55 ? pick(r, own) : pick(r, COMMON_WORDS));
  return out.join(' ');
}

export interface SyntheticOptions {
  /** Varies every message (ids, words); the same seed gives the same message. */
  seed: number;
  subject?: string;
  body?: string;
}

export function spamMessage(o: SyntheticOptions): string {
  const r = rng(o.seed * 2 + 1);
  const subject = o.subject ?? `${pick(r, SPAM_WORDS)} ${pick(r, SPAM_WORDS)} ${pick(r, SPAM_WORDS)} now`;
  const body = o.body ?? `${sentence(r, SPAM_WORDS, 40)}\r\nhttp://deals${Math.floor(r() * 50)}.example.net/offer\r\n${sentence(r, SPAM_WORDS, 30)}\r\n`;
  return (
    `From: "Best Deals" <promo${o.seed}@deals.example.net>\r\n` +
    `To: user@example.com\r\n` +
    `Subject: ${subject}\r\n` +
    `Date: Mon, 2 Mar 2026 10:00:00 +0000\r\n` +
    `Message-ID: <s${o.seed}.${Math.floor(r() * 1e9)}@deals.example.net>\r\n` +
    `Content-Type: text/plain; charset=us-ascii\r\n` +
    `\r\n${body}`
  );
}

export function hamMessage(o: SyntheticOptions): string {
  const r = rng(o.seed * 2);
  const subject = o.subject ?? `Re: ${pick(r, HAM_WORDS)} ${pick(r, HAM_WORDS)}`;
  const body = o.body ?? `Hi,\r\n\r\n${sentence(r, HAM_WORDS, 40)}\r\n\r\n${sentence(r, HAM_WORDS, 25)}\r\n\r\nCheers,\r\nAnna\r\n`;
  return (
    `From: Anna Colleague <anna@work.example.org>\r\n` +
    `To: user@example.com\r\n` +
    `Subject: ${subject}\r\n` +
    `Date: Mon, 2 Mar 2026 11:00:00 +0000\r\n` +
    `Message-ID: <h${o.seed}.${Math.floor(r() * 1e9)}@work.example.org>\r\n` +
    `Content-Type: text/plain; charset=us-ascii\r\n` +
    `\r\n${body}`
  );
}
