import type { SymbolHit } from '../../decision/hits.js';
import type { TransactionContext } from '../../pipeline/context.js';
import type { ParsedMessage } from '../../mail/parsed-message.js';
import { fromMailboxes } from '../../mail/mailboxes.js';
import { urlHosts } from '../../mail/urls.js';
import { AddressSet, DomainSet } from '../../policy/lists.js';
import type { ContentRule, PatternType } from './manifest.js';
import { compileLinear } from '../../mail/linear-regex.js';
import type { Folder } from '../../mail/regex-literals.js';
import type { MessageViews } from './message-views.js';

/**
 * Content rules compiled once per policy version: regexes built, substrings and lists
 * lower-cased, each rule turned into one function of the message. Rules are pure data
 * in policy; this is the only code that gives them meaning.
 */

export type CompiledRule = (ctx: TransactionContext, msg: ParsedMessage, maxChars: number, views: MessageViews) => SymbolHit | null;

type Extract = (ctx: TransactionContext, msg: ParsedMessage, maxChars: number) => readonly string[];

const EXTRACT: Readonly<Record<Exclude<PatternType, 'header'>, Extract>> = {
  subject: (_c, m) => m.header('subject'),
  from: (_c, m) => m.header('from'),
  from_name: (_c, m) => fromMailboxes(m).map((b) => b.name).filter(Boolean),
  from_address: (_c, m) => fromMailboxes(m).map((b) => b.address),
  from_domain: (_c, m) => fromMailboxes(m).map((b) => b.domain).filter(Boolean),
  envelope_from: (c) => [c.envelope.from],
  helo: (c) => [c.client.helo],
  body: (_c, m, max) => [m.visibleText().slice(0, max)],
  text: (_c, m, max) => [m.text.slice(0, max)],
  html: (_c, m, max) => [m.html.slice(0, max)],
  url: (_c, m) => m.urls,
  url_host: (_c, m) => urlHosts(m),
  attachment_name: (_c, m) => [...m.parts.filter((p) => p.filename).map((p) => p.filename), ...m.attachments.flatMap((a) => a.entries)],
  mime_type: (_c, m) => m.parts.map((p) => p.contentType),
};

/** The values a rule looks at, and the name they are shared under by the rules of a message. */
function extractor(rule: ContentRule): { key: string; extract: Extract } {
  if (rule.type === 'header') {
    const field = (rule.header ?? '').toLowerCase();
    return { key: `header:${field}`, extract: (_c, m) => m.header(field) };
  }
  return { key: rule.type, extract: EXTRACT[rule.type as Exclude<PatternType, 'header'>] };
}

function matcher(rule: ContentRule): (value: string, fold: Folder) => boolean {
  if (rule.match === 'regex') {
    return compileLinear(rule.pattern ?? '', rule.flags);
  }
  if (rule.match === 'substring') {
    const needle = (rule.pattern ?? '').toLowerCase();
    return (v) => v.toLowerCase().includes(needle);
  }
  const values = rule.values ?? [];
  if (rule.type === 'url_host' || rule.type === 'from_domain') {
    const set = new DomainSet(values);
    return (v) => set.has(v);
  }
  if (rule.type === 'from_address' || rule.type === 'envelope_from') {
    const set = new AddressSet(values);
    return (v) => set.has(v);
  }
  const set = new Set(values.map((v) => v.toLowerCase()));
  return (v) => set.has(v.toLowerCase());
}

function patternRule(rule: ContentRule): CompiledRule {
  const { key, extract } = extractor(rule);
  const matches = matcher(rule);
  return (ctx, msg, max, views) => {
    for (const v of views.valuesOf(key, () => extract(ctx, msg, max))) {
      if (matches(v, views.fold)) return { name: rule.symbol, detail: v.length > 80 ? `${v.slice(0, 77)}...` : v };
    }
    return null;
  };
}

/** Share of capitals among the cased letters of s (letters that have a lower and an upper form). */
export function uppercaseShare(s: string): { letters: number; ratio: number } {
  let letters = 0;
  let upper = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    // ASCII without allocating; other scripts through their case mappings.
    if (c < 128) {
      if (c >= 65 && c <= 90) {
        letters++;
        upper++;
      } else if (c >= 97 && c <= 122) letters++;
      continue;
    }
    const ch = s[i] as string;
    const lo = ch.toLowerCase();
    const up = ch.toUpperCase();
    if (lo === up) continue;
    letters++;
    if (ch === up) upper++;
  }
  return { letters, ratio: letters > 0 ? upper / letters : 0 };
}

function conditionRule(rule: ContentRule): CompiledRule {
  const hit = (detail: string): SymbolHit => ({ name: rule.symbol, detail });
  switch (rule.type) {
    case 'html_only':
      return (_c, m) => {
        const inline = m.parts.filter((p) => !p.attachment);
        return inline.some((p) => p.contentType === 'text/html') && !inline.some((p) => p.contentType === 'text/plain') ? hit('no text/plain part') : null;
      };
    case 'encrypted_archive':
      return (_c, m) => {
        const a = m.attachments.find((x) => x.encrypted);
        return a ? hit(a.filename || a.contentType) : null;
      };
    case 'uppercase': {
      const subject = rule.target === 'subject';
      const minLetters = rule.min_letters ?? (subject ? 10 : 100);
      const minRatio = rule.min_ratio ?? 0.7;
      return (_c, m, max, views) => {
        const text = subject ? m.header('subject').join(' ') : (views.valuesOf('body', () => EXTRACT.body(_c, m, max))[0] ?? '');
        const { letters, ratio } = uppercaseShare(text);
        return letters >= minLetters && ratio >= minRatio ? hit(`${Math.round(ratio * 100)}% capitals`) : null;
      };
    }
    case 'hidden_text': {
      const minLetters = rule.min_letters ?? 20;
      return (_c, m) => {
        const hidden = m.hiddenHtml();
        return hidden.letters >= minLetters ? hit(`${hidden.letters} hidden letters: ${hidden.sample}`) : null;
      };
    }
    default:
      throw new Error(`content rule type ${rule.type} has no implementation`);
  }
}

export function compileRule(rule: ContentRule): CompiledRule {
  return rule.match ? patternRule(rule) : conditionRule(rule);
}

const compiled = new WeakMap<readonly ContentRule[], CompiledRule[]>();

/** The rules of a policy version, compiled on first use and kept as long as that version lives. */
export function compiledRules(rules: readonly ContentRule[]): CompiledRule[] {
  let out = compiled.get(rules);
  if (!out) {
    out = rules.map(compileRule);
    compiled.set(rules, out);
  }
  return out;
}
