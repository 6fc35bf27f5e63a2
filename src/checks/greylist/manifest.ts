import { z } from 'zod';
import { checkBase, defineManifest } from '../manifest.js';

const DAY = 86_400;

/**
 * Greylisting (policies/checks/greylist.yaml). Two kinds share these settings:
 *  - the classic RCPT-time triplet (client network, sender, recipient), switched by
 *    `enabled`; off in the schema so a bare install never defers mail by surprise, on in
 *    the shipped policy file, which is what an MX wants;
 *  - score-band greylisting at end of DATA (actions.greylist), keyed on the message so
 *    the retry of the same message passes; it follows actions.greylist, not `enabled`.
 * on_error says what a store failure means: skip (accept) or tempfail (451 4.3.0).
 */
export const greylistSchema = z
  .strictObject({
    ...checkBase,
    enabled: z.boolean().default(false),
    /** Seconds a new triplet (or message) must wait before its retry is accepted. */
    delay: z.number().int().min(0).default(300),
    /** Seconds after the first attempt within which the retry must come, or it starts over. */
    retry_window: z.number().int().positive().default(2 * DAY),
    /** Seconds a passed triplet is remembered after its last use (then it is greylisted again). */
    pass_ttl: z.number().int().positive().default(35 * DAY),
    /** A client network whose triplets passed this many times is let through at once; 0 = never. */
    auto_allow_after: z.number().int().min(0).default(5),
    /** Seconds an auto-allowed network is remembered after its last message. */
    auto_allow_ttl: z.number().int().positive().default(35 * DAY),
    /** The client network of a triplet: senders' pools retry from neighbouring addresses. */
    ipv4_prefix: z.number().int().min(8).max(32).default(24),
    ipv6_prefix: z.number().int().min(16).max(128).default(64),
  })
  .superRefine((g, ctx) => {
    if (g.retry_window <= g.delay) {
      ctx.addIssue({ code: 'custom', path: ['retry_window'], message: `greylist.retry_window (${g.retry_window}) must be longer than greylist.delay (${g.delay})` });
    }
  })
  .prefault({});

export const greylistManifest = defineManifest({
  name: 'greylist',
  runs: { greylist: 'rcpt', greylist_message: { phase: 'postfilter', ignoresEnabled: true } },
  schema: greylistSchema,
  symbols: [],
});
