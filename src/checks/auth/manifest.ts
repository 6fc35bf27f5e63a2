import { z } from 'zod';
import { checkBase, defineManifest } from '../manifest.js';

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

const SPF_SYMBOLS = ['SPF_PASS', 'SPF_FAIL', 'SPF_SOFTFAIL', 'SPF_NEUTRAL', 'SPF_NONE', 'SPF_TEMPFAIL', 'SPF_PERMFAIL'] as const;
const DKIM_SYMBOLS = ['DKIM_VALID', 'DKIM_INVALID', 'DKIM_TEMPFAIL', 'DKIM_PERMFAIL', 'DKIM_NONE'] as const;
const DMARC_SYMBOLS = ['DMARC_PASS', 'DMARC_FAIL', 'DMARC_QUARANTINE_POLICY', 'DMARC_REJECT_POLICY', 'DMARC_NONE', 'DMARC_TEMPFAIL', 'DMARC_BAD_FROM'] as const;
const ARC_SYMBOLS = ['ARC_PASS', 'ARC_FAIL'] as const;
export const AUTH_SYMBOLS = [...SPF_SYMBOLS, ...DKIM_SYMBOLS, ...DMARC_SYMBOLS, ...ARC_SYMBOLS] as const;

export const authManifest = defineManifest({
  name: 'auth',
  runs: { auth: 'data' },
  schema: authSchema,
  symbols: AUTH_SYMBOLS,
});
