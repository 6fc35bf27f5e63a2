import type { SymbolHit } from '../../decision/hits.js';
import { defineCheck, NO_HITS } from '../../pipeline/check.js';
import { contentManifest } from './manifest.js';
import type { ParsedMessage } from '../../mail/parsed-message.js';
import { compiledRules } from './rules.js';
import { ScanBudget } from './scan-budget.js';
import { MessageViews } from './message-views.js';
import { gtubeReject, hasGtube } from './gtube.js';

/**
 * Policy-written content rules (see manifest.ts), plus what the parser found out about the
 * MIME structure itself: nesting or part counts past the limits, or a structure so broken
 * it could not be read to the end.
 */

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

export const contentCheck = defineCheck(contentManifest, () => ({
  content: async (ctx) => {
    const msg = ctx.message;
    if (!msg) return NO_HITS;
    const section = ctx.policy.policy.content;
    if (section.gtube && hasGtube(msg)) return { force: gtubeReject() };
    const hits = structureHits(msg);
    const rules = compiledRules(section.rules);
    const budget = new ScanBudget(ctx.policy.policy.limits.max_content_rules_ms);
    const views = new MessageViews();
    for (let i = 0; i < rules.length; i++) {
      if (budget.spent()) {
        ctx.log.warn({ event: 'content_rules_budget', id: ctx.id, rulesSkipped: rules.length - i, budgetMs: budget.ms }, 'content rules ran out of time; the rest were skipped');
        break;
      }
      const hit = rules[i]!(ctx, msg, section.max_body_chars, views);
      if (hit) hits.push(hit);
      await budget.yieldIfDue();
    }
    return hits.length > 0 ? { hits } : NO_HITS;
  },
}));
