import { z } from 'zod';
import { checkBase, defineManifest, symbolName } from '../manifest.js';
import { compileLinear } from '../../mail/linear-regex.js';

/**
 * Content rules written purely in policy, in the spirit of rspamd's multimap: each rule
 * looks at one part of the message (a header, the body, URLs, attachment names, MIME
 * types…) and scores its symbol when a regex, a substring or a list entry matches. A few
 * rule types are conditions that need no pattern (HTML-only mail, shouting, encrypted
 * archives). Regexes are checked here, so a broken one is a load error with its position.
 */

/** Rule types that match a pattern against values taken from the message. */
export const PATTERN_TYPES = [
  'header',
  'subject',
  'from',
  'from_name',
  'from_address',
  'from_domain',
  'envelope_from',
  'helo',
  'body',
  'text',
  'html',
  'url',
  'url_host',
  'attachment_name',
  'mime_type',
] as const;

/** Rule types that are conditions of their own. */
export const CONDITION_TYPES = ['html_only', 'uppercase', 'encrypted_archive', 'hidden_text'] as const;

export type PatternType = (typeof PATTERN_TYPES)[number];

const ruleSchema = z
  .strictObject({
    symbol: symbolName,
    type: z.enum([...PATTERN_TYPES, ...CONDITION_TYPES]),
    /** For type header: the field name. */
    header: z.string().min(1).optional(),
    match: z.enum(['regex', 'substring', 'list']).optional(),
    /** For regex and substring. Substrings match case-insensitively. */
    pattern: z.string().min(1).optional(),
    /** For list: exact values, case-insensitive (host and domain types also match subdomains, address types @domain entries). */
    values: z.array(z.string().min(1)).optional(),
    /** Regex flags: any of i, m, s, u. */
    flags: z.string().regex(/^[imsu]*$/, 'regex flags are any of i, m, s and u').default(''),
    /** For uppercase: what to look at. */
    target: z.enum(['subject', 'body']).optional(),
    /** For uppercase: the share of letters that must be capitals (default 0.7). */
    min_ratio: z.number().gt(0).max(1).optional(),
    /** For uppercase: fewer letters than this never count as shouting (default 10 for subject, 100 for body). For hidden_text: the hidden letters it takes (default 20). */
    min_letters: z.number().int().positive().optional(),
    description: z.string().default(''),
  })
  .superRefine((r, ctx) => {
    const issue = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
    const isPattern = (PATTERN_TYPES as readonly string[]).includes(r.type);
    if (!isPattern) {
      for (const k of ['match', 'pattern', 'values', 'header'] as const) {
        if (r[k] !== undefined) issue(k, `rule ${r.symbol}: type ${r.type} takes no ${k}`);
      }
      if (r.type === 'uppercase' && !r.target) issue('type', `rule ${r.symbol}: type uppercase needs target: subject or body`);
      return;
    }
    if (r.type === 'header' && !r.header) issue('type', `rule ${r.symbol}: type header needs header: FIELD-NAME`);
    if (r.type !== 'header' && r.header) issue('header', `rule ${r.symbol}: header is only for type header`);
    if (!r.match) return issue('type', `rule ${r.symbol}: type ${r.type} needs match: regex, substring or list`);
    if (r.match === 'list') {
      if (!r.values?.length) issue('match', `rule ${r.symbol}: match list needs values: [...]`);
      if (r.pattern !== undefined) issue('pattern', `rule ${r.symbol}: match list takes values, not pattern`);
      return;
    }
    if (r.values !== undefined) issue('values', `rule ${r.symbol}: match ${r.match} takes pattern, not values`);
    if (r.pattern === undefined) return issue('match', `rule ${r.symbol}: match ${r.match} needs pattern`);
    if (r.match === 'regex') {
      try {
        compileLinear(r.pattern, r.flags);
      } catch (err) {
        issue('pattern', `rule ${r.symbol}: ${(err as Error).message}`);
      }
    }
  });

export type ContentRule = z.output<typeof ruleSchema>;

export const contentSchema = z
  .strictObject({
    ...checkBase,
    /** Characters of text that body, text and html rules look at (regex time grows with it). */
    max_body_chars: z.number().int().positive().default(262_144),
    /** Refuse a message carrying SpamAssassin's GTUBE test string (554 5.7.1), to test the whole path. */
    gtube: z.boolean().default(true),
    rules: z.array(ruleSchema).default([]),
  })
  .prefault({});

export const CONTENT_SYMBOLS = ['MIME_TOO_DEEP', 'MIME_TOO_MANY_PARTS', 'MIME_MALFORMED'] as const;

export const contentManifest = defineManifest({
  name: 'content',
  runs: { content: 'data' },
  schema: contentSchema,
  symbols: CONTENT_SYMBOLS,
  policySymbols: (section) => section.rules.map((r, i) => ({ name: r.symbol, path: ['rules', i, 'symbol'] })),
});
