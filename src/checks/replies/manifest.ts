import { z } from 'zod';
import { checkBase, defineManifest } from '../manifest.js';

/**
 * Replies (like rspamd's replies module): the Message-IDs of mail our own users send out
 * through us (trusted networks, authenticated clients) are remembered in the store; an
 * inbound message naming one in In-Reply-To or References answers our user and scores the
 * negative REPLY.
 */
export const repliesSchema = z
  .strictObject({
    ...checkBase,
    /** Days a sent Message-ID is remembered. */
    expire_days: z.number().gt(0).max(3650).default(30),
    /** Message-IDs read from In-Reply-To and References (the newest first): a long thread's head is enough. */
    max_ids: z.number().int().min(1).max(100).default(10),
  })
  .prefault({});

export const repliesManifest = defineManifest({
  name: 'replies',
  runs: { replies: 'data' },
  schema: repliesSchema,
  symbols: ['REPLY'],
});
