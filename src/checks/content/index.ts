import type { Check, SymbolHit } from '../types.js';
import { NO_HITS } from '../types.js';
import type { CheckModule } from '../registry.js';
import type { ParsedMessage } from '../../scoring/parsed-message.js';
import { compiledRules } from './rules.js';
import { ScanBudget } from './scan-budget.js';

/**
 * Policy-written content rules (see schema.ts), plus what the parser found out about the
 * MIME structure itself: nesting or part counts past the limits, or a structure so broken
 * it could not be read to the end.
 */

export const CONTENT_SYMBOLS = ['MIME_TOO_DEEP', 'MIME_TOO_MANY_PARTS', 'MIME_MALFORMED'] as const;

function structureHits(msg: ParsedMessage): SymbolHit[] {
  switch (msg.truncatedReason) {
    case 'depth':
      return [{ name: 'MIME_TOO_DEEP', detail: `nesting deeper than ${msg.mimeDepth - 1}` }];
    case 'parts':
      return [{ name: 'MIME_TOO_MANY_PARTS', detail: `more than ${msg.parts.length} parts` }];
    case 'malformed':
      return [{ name: 'MIME_MALFORMED' }];
    default:
      // Running out of time or text budget says nothing about the sender.
      return [];
  }
}

export const contentCheckModule: CheckModule = {
  name: 'content',
  symbols: CONTENT_SYMBOLS,
  policySymbols: (policy) => policy.content.rules.map((r, i) => ({ name: r.symbol, path: ['content', 'rules', i, 'symbol'] })),
  create: (): Check[] => [
    {
      name: 'content',
      phase: 'data',
      section: 'content',
      symbols: CONTENT_SYMBOLS,
      run: async (ctx) => {
        const msg = ctx.message;
        if (!msg) return NO_HITS;
        const section = ctx.policy.policy.content;
        const hits = structureHits(msg);
        const rules = compiledRules(section.rules);
        const budget = new ScanBudget(ctx.policy.policy.limits.max_content_rules_ms);
        for (let i = 0; i < rules.length; i++) {
          if (budget.spent()) {
            ctx.log.warn({ event: 'content_rules_budget', id: ctx.id, rulesSkipped: rules.length - i, budgetMs: budget.ms }, 'content rules ran out of time; the rest were skipped');
            break;
          }
          const hit = rules[i]!(ctx, msg, section.max_body_chars);
          if (hit) hits.push(hit);
          await budget.yieldIfDue();
        }
        return hits.length > 0 ? { hits } : NO_HITS;
      },
    },
  ],
};
