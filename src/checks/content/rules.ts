import type { SymbolHit } from '../../decision/hits.js';
import type { TransactionContext } from '../../pipeline/context.js';
import type { ParsedMessage } from '../../mail/parsed-message.js';
import { fromMailboxes } from '../../mail/mailboxes.js';
import { urlHosts } from '../../mail/urls.js';
import { AddressSet, DomainSet } from '../../policy/lists.js';
import type { ContentRule, PatternType } from './manifest.js';
import { compileLinear, type LinearMatcher } from '../../mail/linear-regex.js';
import type { Folder } from '../../mail/regex-literals.js';
import { LiteralScanner } from '../../mail/literal-scan.js';
import type { MessageViews } from './message-views.js';
import { uppercaseShare } from './letter-case.js';

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

type Matcher = (value: string, fold: Folder, found?: ReadonlySet<string>) => boolean;

function matcher(rule: ContentRule, regex: LinearMatcher | null): Matcher {
  if (regex) return regex;
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

function patternRule(rule: ContentRule, regex: LinearMatcher | null, scanner: LiteralScanner | undefined): CompiledRule {
  const { key, extract } = extractor(rule);
  const matches = matcher(rule, regex);
  const folded = regex?.prefilter?.caseInsensitive ?? false;
  return (ctx, msg, max, views) => {
    for (const viewed of views.valuesOf(key, () => extract(ctx, msg, max))) {
      const v = viewed.text;
      if (matches(v, viewed.fold, scanner && viewed.literalsIn(scanner, folded))) return { name: rule.symbol, detail: v.length > 80 ? `${v.slice(0, 77)}...` : v };
    }
    return null;
  };
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
        const text = subject ? m.header('subject').join(' ') : (views.valuesOf('body', () => EXTRACT.body(_c, m, max))[0]?.text ?? '');
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

/**
 * Scanning once for many literals beats a native search per rule only when there are many:
 * below this count each rule searches on its own.
 */
const SCAN_FROM_LITERALS = 16;

/**
 * One literal scanner for each kind of values (and case mode) that the prefilters of
 * several regex rules search, keyed like the rules' regexes are indexed.
 */
function scannersFor(rules: readonly ContentRule[], regexes: ReadonlyArray<LinearMatcher | null>): Array<LiteralScanner | undefined> {
  const groups = new Map<string, number[]>();
  regexes.forEach((re, i) => {
    if (!re?.prefilter) return;
    const group = `${extractor(rules[i] as ContentRule).key}\n${re.prefilter.caseInsensitive}`;
    groups.set(group, [...(groups.get(group) ?? []), i]);
  });
  const out: Array<LiteralScanner | undefined> = [];
  for (const members of groups.values()) {
    const literals = members.flatMap((i) => regexes[i]?.prefilter?.literals ?? []);
    if (members.length < 2 || new Set(literals).size < SCAN_FROM_LITERALS) continue;
    const scanner = LiteralScanner.for(literals);
    if (scanner) for (const i of members) out[i] = scanner;
  }
  return out;
}

export function compileRules(rules: readonly ContentRule[]): CompiledRule[] {
  const regexes = rules.map((r) => (r.match === 'regex' ? compileLinear(r.pattern ?? '', r.flags) : null));
  const scanners = scannersFor(rules, regexes);
  return rules.map((r, i) => (r.match ? patternRule(r, regexes[i] ?? null, scanners[i]) : conditionRule(r)));
}

const compiled = new WeakMap<readonly ContentRule[], CompiledRule[]>();

/** The rules of a policy version, compiled on first use and kept as long as that version lives. */
export function compiledRules(rules: readonly ContentRule[]): CompiledRule[] {
  let out = compiled.get(rules);
  if (!out) {
    out = compileRules(rules);
    compiled.set(rules, out);
  }
  return out;
}
