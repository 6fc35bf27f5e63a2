import { z } from 'zod';
import { checkBase } from '../../policy/types-common.js';

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
