import { z } from 'zod';
import { checkBase, defineManifest } from '../manifest.js';

/**
 * Header sanity and HELO checks. Dates are judged against the Received dates (the first
 * and the last hop; now when there are none), so a rescanned old message is judged as it
 * was when it travelled.
 */
export const headersSchema = z
  .strictObject({
    ...checkBase,
    /** Hours a Date may lie after the last hop's Received date before DATE_IN_FUTURE. */
    date_future_hours: z.number().positive().default(2),
    /** Hours a Date may lie before the first hop's Received date before DATE_IN_PAST. */
    date_past_hours: z.number().positive().default(24),
    /** Hours an older hop may be dated after the hop that received from it (RCVD_TIME_TRAVEL). */
    received_skew_hours: z.number().positive().default(24),
    /** More Received fields than this score RCVD_TOO_MANY. */
    max_received: z.number().int().positive().default(25),
    /** Trusted networks (smtp.trusted_networks) skip the HELO and sender checks. */
    skip_trusted: z.boolean().default(true),
  })
  .prefault({});

export const HELO_SYMBOLS = ['HELO_IP_MISMATCH', 'HELO_BARE_IP', 'HELO_NOT_FQDN', 'HELO_INVALID', 'HELO_OWN_NAME'] as const;

export const RECEIVED_SYMBOLS = ['RCVD_BAD_SYNTAX', 'RCVD_TIME_TRAVEL', 'RCVD_FORGED_OURS', 'RCVD_TOO_MANY'] as const;

export const MESSAGE_SYMBOLS = [
  'MISSING_MESSAGE_ID',
  'MISSING_DATE',
  'MISSING_FROM',
  'MISSING_TO',
  'MISSING_SUBJECT',
  'DUPLICATE_MESSAGE_ID',
  'DUPLICATE_DATE',
  'DUPLICATE_FROM',
  'DUPLICATE_SUBJECT',
  'INVALID_MESSAGE_ID',
  'INVALID_DATE',
  'INVALID_FROM',
  'DATE_IN_FUTURE',
  'DATE_IN_PAST',
  'FROM_DISPLAY_SPOOF_LOCAL',
  'FROM_DISPLAY_ADDR_MISMATCH',
  'FROM_ENVFROM_MISMATCH',
  ...RECEIVED_SYMBOLS,
] as const;

export const HEADERS_SYMBOLS = [...HELO_SYMBOLS, ...MESSAGE_SYMBOLS] as const;

export const headersManifest = defineManifest({
  name: 'headers',
  runs: { headers_helo: 'helo', headers: 'data' },
  schema: headersSchema,
  symbols: HEADERS_SYMBOLS,
});
