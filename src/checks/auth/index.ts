import net from 'node:net';
import { dkimVerify } from 'mailauth/lib/dkim/verify.js';
import { spf } from 'mailauth/lib/spf/index.js';
import { arc } from 'mailauth/lib/arc/index.js';
import { evaluateDmarc } from 'mailauth/lib/dmarc/index.js';
import type { DKIMVerifyResult, DMARCResult, SPFResult, ARCResult, DNSResolver } from 'mailauth';
import { defineCheck, NO_HITS, type Outcome } from '../../pipeline/check.js';
import type { SymbolHit } from '../../decision/hits.js';
import { authManifest } from './manifest.js';
import type { TransactionContext } from '../../pipeline/context.js';
import { reply } from '../../decision/replies.js';
import { dnsFor } from '../../net/dns.js';
import { fromMailboxes } from '../../mail/mailboxes.js';

/**
 * SPF, DKIM, DMARC and ARC through mailauth, each result one symbol. mailauth's own
 * authenticate() also loads its BIMI module, which needs a newer Node than ours, so the
 * four verifiers are called here in the same order it uses: DKIM and SPF, then ARC, then
 * DMARC over their results. DKIM verification hashes the raw message (that is what a
 * signature covers); it is skipped when there is no signature to verify, and the DMARC
 * author domain then comes from the already parsed From field.
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

/** HELO as SPF wants it: the client's address in brackets when the client gave none or gave an address. */
function spfHelo(helo: string, ip: string): string {
  const h = helo || ip;
  return net.isIP(h) ? `[${h}]` : h;
}

async function authenticate(ctx: TransactionContext): Promise<Outcome> {
  const msg = ctx.message;
  if (!msg) return NO_HITS;
  const policy = ctx.policy.policy;
  const o = policy.auth;
  const resolver = dnsFor(ctx.policy).resolveFn as DNSResolver;
  const ip = ctx.client.ip;
  const signed = msg.header('dkim-signature').length > 0 || msg.header('arc-seal').length > 0;

  const [dkim, spfResult] = await Promise.all([
    signed ? dkimVerify(msg.raw, { resolver, sender: ctx.envelope.from || undefined, minBitLength: o.min_key_bits }) : Promise.resolve(null),
    ip
      ? spf({
          sender: ctx.envelope.from,
          ip,
          helo: spfHelo(ctx.client.helo, ip),
          mta: policy.hostname,
          resolver,
          maxElapsedTime: Math.max(100, o.timeout - 500),
        })
      : Promise.resolve(null),
  ]);

  const hits: SymbolHit[] = [];
  const s = spfResult ? spfHit(spfResult) : null;
  if (s) hits.push(s);
  hits.push(dkimHit(dkim));

  let arcResult: ARCResult | undefined;
  if (dkim?.arc && msg.header('arc-seal').length > 0) {
    // A chain that failed to parse arrives as chain: false with `error` set; arc() reports that error as a failure.
    arcResult = await arc({ ...dkim.arc, chain: dkim.arc.chain || [] }, { resolver, minBitLength: o.min_key_bits, ip });
    const r = arcResult.status.result;
    if (r === 'pass') hits.push({ name: 'ARC_PASS', detail: `i=${arcResult.i}` });
    else if (r === 'fail') hits.push({ name: 'ARC_FAIL', detail: arcResult.status.comment ?? '' });
  }

  const headerFrom = dkim ? dkim.headerFrom : fromMailboxes(msg).map((m) => m.address).filter((a) => a.includes('@'));
  const fromFields = dkim ? dkim.fromFields : msg.header('from').length;
  const evaluated = await evaluateDmarc({
    headerFrom,
    fromFields,
    spfDomains: spfResult && spfResult.status.result === 'pass' && spfResult.domain ? [spfResult.domain] : [],
    dkimDomains: (dkim?.results ?? [])
      .filter((r) => r.status.result === 'pass' && r.signingDomain)
      .map((r) => ({ id: r.id, domain: r.signingDomain as string, aligned: r.status.aligned, underSized: r.status.underSized })),
    arcResult,
    resolver,
  });
  const dmarc = evaluated.response;
  if (!dmarc) {
    hits.push({ name: 'DMARC_BAD_FROM', detail: evaluated.reason ?? 'no author domain' });
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

export const authCheck = defineCheck(authManifest, () => ({
  auth: async (ctx) => {
    const policy = ctx.policy.policy;
    if (policy.offline || (ctx.trusted && policy.auth.skip_trusted)) return NO_HITS;
    return authenticate(ctx);
  },
}));
