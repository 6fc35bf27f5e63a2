import type { AuthenticateOptions, DKIMVerifyResult, DMARCResult, SPFResult, DNSResolver } from 'mailauth';
import { authenticate } from './mailauth.js';
import { defineCheck, NO_HITS, type Outcome } from '../../pipeline/check.js';
import type { SymbolHit } from '../../decision/hits.js';
import { authManifest } from './manifest.js';
import type { TransactionContext } from '../../pipeline/context.js';
import { reply } from '../../decision/replies.js';
import { dnsFor } from '../../net/dns.js';
import { headerBoundary } from '../../mail/header-block.js';

/**
 * SPF, DKIM, DMARC and ARC through mailauth's authenticate() (BIMI off: it is about logos
 * in mail clients, not about spam), each result one symbol. Its Authentication-Results
 * value (RFC 8601, authserv-id = our hostname) is kept on the transaction and stamped on
 * relayed mail with the X-Spam-* fields, so Dovecot sieve and mail clients can read it.
 */

const SPF_RESULT: Readonly<Record<string, string>> = {
  pass: 'SPF_PASS',
  fail: 'SPF_FAIL',
  softfail: 'SPF_SOFTFAIL',
  neutral: 'SPF_NEUTRAL',
  none: 'SPF_NONE',
  temperror: 'SPF_TEMPFAIL',
  permerror: 'SPF_PERMFAIL',
};

function spfHit(r: SPFResult): SymbolHit | null {
  const name = SPF_RESULT[r.status.result];
  return name ? { name, detail: `${r.domain}: ${r.status.result}${r.status.comment ? ` (${r.status.comment})` : ''}`.slice(0, 160) } : null;
}

/** One DKIM symbol for all signatures: any valid one wins (lists add broken ones to good mail). */
function dkimHit(r: DKIMVerifyResult | null): SymbolHit {
  const results = (r?.results ?? []).filter((s) => s.status.result !== 'none');
  if (results.length === 0) return { name: 'DKIM_NONE' };
  const of = (...want: string[]) => results.filter((s) => want.includes(s.status.result));
  const describe = (list: typeof results) => list.map((s) => `${s.signingDomain ?? '?'}: ${s.status.result}`).join(', ').slice(0, 160);
  const pass = of('pass');
  if (pass.length > 0) return { name: 'DKIM_VALID', detail: describe(pass) };
  const temp = of('temperror');
  if (temp.length > 0) return { name: 'DKIM_TEMPFAIL', detail: describe(temp) };
  const invalid = of('fail', 'neutral', 'policy');
  if (invalid.length > 0) return { name: 'DKIM_INVALID', detail: describe(invalid) };
  return { name: 'DKIM_PERMFAIL', detail: describe(results) };
}

function dmarcHit(d: DMARCResult): SymbolHit {
  const result = d.status.result;
  const domain = d.status.header?.from ?? d.domain;
  switch (result) {
    case 'pass':
      return { name: 'DMARC_PASS', detail: domain };
    case 'fail': {
      const name = d.policy === 'reject' ? 'DMARC_REJECT_POLICY' : d.policy === 'quarantine' ? 'DMARC_QUARANTINE_POLICY' : 'DMARC_FAIL';
      return { name, detail: `${domain}: p=${d.policy}` };
    }
    case 'temperror':
      return { name: 'DMARC_TEMPFAIL', detail: domain };
    default:
      return { name: 'DMARC_NONE', detail: domain };
  }
}

/** mailauth passes its options on to SPF, which also takes a time limit for the whole evaluation. */
type Options = AuthenticateOptions & { maxElapsedTime: number };

async function authenticateMessage(ctx: TransactionContext): Promise<Outcome> {
  const msg = ctx.message;
  if (!msg) return NO_HITS;
  const policy = ctx.policy.policy;
  const o = policy.auth;
  const options: Options = {
    ip: ctx.client.ip || undefined,
    helo: ctx.client.helo || undefined,
    sender: ctx.envelope.from,
    mta: policy.hostname,
    resolver: dnsFor(ctx.policy).resolveFn as DNSResolver,
    minBitLength: o.min_key_bits,
    disableBimi: true,
    maxElapsedTime: Math.max(100, o.timeout - 500),
  };
  const result = await authenticate(authInput(msg.raw), options);
  ctx.authResults = authResultsValue(result.headers);

  const hits: SymbolHit[] = [];
  const s = result.spf ? spfHit(result.spf) : null;
  if (s) hits.push(s);
  hits.push(dkimHit(result.dkim));
  if (result.arc && msg.header('arc-seal').length > 0) {
    const r = result.arc.status.result;
    if (r === 'pass') hits.push({ name: 'ARC_PASS', detail: `i=${result.arc.i}` });
    else if (r === 'fail') hits.push({ name: 'ARC_FAIL', detail: result.arc.status.comment ?? '' });
  }
  const dmarc = result.dmarc;
  if (!dmarc) {
    hits.push({ name: 'DMARC_BAD_FROM', detail: result.dmarcSkipReason ?? 'no author domain' });
    return { hits };
  }
  const hit = dmarcHit(dmarc);
  hits.push(hit);
  if (hit.name === 'DMARC_REJECT_POLICY' && o.dmarc_reject_forces_reject) {
    const domain = dmarc.status.header?.from ?? dmarc.domain;
    return {
      hits,
      force: {
        action: 'reject',
        reply: reply(550, '5.7.1', `Message rejected: it fails the DMARC policy (p=reject) of ${domain}`),
        reason: `DMARC p=reject failure for ${domain}`,
      },
    };
  }
  return { hits };
}

/**
 * What mailauth is given to read. The body matters to it only through a DKIM or ARC
 * signature's body hash; without either, its results are the same for the header block
 * alone, and it is spared a byte-by-byte pass over the whole body. Read conservatively:
 * "dkim-signature" or "arc-" anywhere in the header block (any case, even in a value)
 * gives it the whole message. mailauth's own end of the header block never comes after
 * this one (an empty line is CRLF CRLF or LF LF here, and either ends its header too).
 */
export function authInput(raw: Buffer): Buffer {
  const { bodyOffset } = headerBoundary(raw);
  const header = raw.toString('latin1', 0, bodyOffset).toLowerCase();
  return header.includes('dkim-signature') || header.includes('arc-') ? raw : raw.subarray(0, bodyOffset);
}

/** The value of the Authentication-Results field among the fields mailauth prepares (folded, CRLF). */
export function authResultsValue(headers: string): string | undefined {
  const field = headers.split(/\r\n(?![ \t])/).find((f) => /^authentication-results:/i.test(f));
  return field?.slice(field.indexOf(':') + 1).trim();
}

export const authCheck = defineCheck(authManifest, () => ({
  auth: async (ctx) => {
    const policy = ctx.policy.policy;
    if (policy.offline || (ctx.trusted && policy.auth.skip_trusted)) return NO_HITS;
    return authenticateMessage(ctx);
  },
}));
