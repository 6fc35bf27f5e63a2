import { z } from 'zod';
import { checkBase } from '../../policy/types-common.js';

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
