import { z } from 'zod';
import { checkBase, defineManifest } from '../manifest.js';

/** Allow/deny lists (policies/lists/*.txt) and the reply text each deny list gives. */
export const accessSchema = z
  .strictObject({
    ...checkBase,
    reasons: z
      .strictObject({
        deny_ips: z.string().default('Your address is on our deny list'),
        deny_helo: z.string().default('HELO name refused by policy'),
        deny_senders: z.string().default('Sender address refused by policy'),
        deny_sender_domains: z.string().default('Sender domain refused by policy'),
        deny_recipients: z.string().default('Recipient address refused by policy'),
      })
      .prefault({}),
  })
  .prefault({});

export const ACCESS_SYMBOLS = ['ALLOWLIST_IP', 'ALLOWLIST_SENDER', 'ALLOWLIST_SENDER_DOMAIN'] as const;

export const accessManifest = defineManifest({
  name: 'access',
  runs: { access_ip: 'connect', access_helo: 'helo', access_sender: 'mail', access_recipient: 'rcpt' },
  schema: accessSchema,
  symbols: ACCESS_SYMBOLS,
});
