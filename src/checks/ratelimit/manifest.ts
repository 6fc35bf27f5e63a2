import { z } from 'zod';
import { checkBase, defineManifest } from '../manifest.js';

export const RATE_KEYS = ['ip', 'subnet', 'sender', 'sender_domain', 'recipient'] as const;
export const RATE_COUNTS = ['connections', 'messages', 'recipients'] as const;

/**
 * One limit: at most `rate` events per `window` seconds for each value of `key`, plus
 * `burst` extra events spread over `burst_window` (default ten windows). Connections can
 * only be counted per ip or subnet: nothing else is known when a client connects.
 */
const ruleSchema = z.strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/i, 'rule names are letters, digits, - and _'),
  key: z.enum(RATE_KEYS),
  count: z.enum(RATE_COUNTS),
  rate: z.number().int().positive(),
  /** Seconds. */
  window: z.number().int().positive(),
  burst: z.number().int().min(0).default(0),
  /** Seconds over which the burst allowance refills (default 10 × window). */
  burst_window: z.number().int().positive().optional(),
  /** tempfail: 421 4.7.0 at connect, 451 4.7.1 at MAIL/RCPT, with the retry time. reject: 550 5.7.1. */
  action: z.enum(['tempfail', 'reject']).default('tempfail'),
});

export type RateRule = z.output<typeof ruleSchema>;

/**
 * Rate limits (policies/checks/ratelimit.yaml), counted in the shared store so every MX
 * counts against the same limits. Concurrent connections per IP are capped by
 * limits.max_connections_per_ip, not here.
 */
export const ratelimitSchema = z
  .strictObject({
    ...checkBase,
    /** The network of a `subnet` key. */
    ipv4_prefix: z.number().int().min(8).max(32).default(24),
    ipv6_prefix: z.number().int().min(16).max(128).default(64),
    rules: z.array(ruleSchema).default([]),
  })
  .superRefine((r, ctx) => {
    const seen = new Set<string>();
    r.rules.forEach((rule, i) => {
      if (seen.has(rule.name)) ctx.addIssue({ code: 'custom', path: ['rules', i, 'name'], message: `ratelimit rule name "${rule.name}" is used twice` });
      seen.add(rule.name);
      if (rule.count === 'connections' && rule.key !== 'ip' && rule.key !== 'subnet') {
        ctx.addIssue({ code: 'custom', path: ['rules', i, 'key'], message: `ratelimit rule "${rule.name}": connections can only be counted per ip or subnet` });
      }
    });
  })
  .prefault({});

export const ratelimitManifest = defineManifest({
  name: 'ratelimit',
  runs: { ratelimit_connect: 'connect', ratelimit_mail: 'mail', ratelimit_rcpt: 'rcpt' },
  schema: ratelimitSchema,
  symbols: [],
});
