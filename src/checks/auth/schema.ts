import { z } from 'zod';
import { checkBase } from '../../policy/types-common.js';

/** SPF, DKIM, DMARC and ARC (mailauth), each result a symbol; DNS through the `dns` section. */
export const authSchema = z
  .strictObject({
    ...checkBase,
    /** SPF may need ten lookups in a row: more time than the other checks. */
    timeout: z.number().int().positive().default(5000),
    /** A DMARC failure whose domain publishes p=reject is refused (550 5.7.1) instead of only scored. */
    dmarc_reject_forces_reject: z.boolean().default(false),
    /** Shorter RSA keys make a DKIM signature fail (RFC 8301 asks for 1024 at least). */
    min_key_bits: z.number().int().positive().default(1024),
    /** Mail from trusted networks (smtp.trusted_networks) is our own: not checked. */
    skip_trusted: z.boolean().default(true),
  })
  .prefault({});
