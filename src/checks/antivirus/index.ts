import { defineCheck, NO_HITS } from '../../pipeline/check.js';
import { antivirusManifest } from './manifest.js';
import { reply } from '../../decision/replies.js';
import { clamdScan } from './clamd.js';

/**
 * Antivirus at end of DATA: the message as received goes to clamd (see clamd.ts), which
 * decodes the MIME parts and archives itself. A hit refuses the message with 554 5.7.1
 * naming the signature, so the sender learns why; clamd being down or slow is a check
 * failure, and the section's on_error decides (skip: deliver unscanned; tempfail: 451).
 */

export const antivirusCheck = defineCheck(antivirusManifest, () => ({
  antivirus: async (ctx) => {
    const raw = ctx.message?.raw;
    if (!raw) return NO_HITS;
    const section = ctx.policy.policy.antivirus;
    const data = raw.length > section.max_size ? raw.subarray(0, section.max_size) : raw;
    const result = await clamdScan(section.clamd, data, section.timeout, ctx.signal);
    if (!result.infected) return NO_HITS;
    return {
      force: {
        action: 'reject',
        reply: reply(554, '5.7.1', `Message contains a virus: ${result.signature}`),
        reason: `virus ${result.signature}`,
      },
    };
  },
}));
