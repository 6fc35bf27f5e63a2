import { defineCheck, NO_HITS } from '../../pipeline/check.js';
import type { SymbolHit } from '../../decision/hits.js';
import { headersManifest } from './manifest.js';
import type { TransactionContext } from '../../pipeline/context.js';
import type { CompiledPolicy } from '../../policy/compiled.js';
import type { ParsedMessage } from '../../mail/parsed-message.js';
import { fromMailboxes, type Mailbox } from '../../mail/mailboxes.js';
import { orgDomain } from '../../net/org-domain.js';
import { domainOfAddress } from '../../mail/address.js';
import { heloHits } from './helo.js';
import { parseChain, receivedHits, receivedSpan, type Hop } from './received.js';
import { addressesInText } from '../../mail/linear-text.js';

/**
 * Header sanity (RFC 5322 required fields, dates, Message-ID), forged-looking Received
 * chains, From display names that impersonate our domains, envelope/header sender
 * mismatch — and, at the helo phase, the HELO name itself.
 */

const MESSAGE_ID = /^<[^<>@\s]+@[^<>@\s]+>$/;

/** Required once (RFC 5322 3.6): missing or repeated. */
function fieldCountHits(msg: ParsedMessage): SymbolHit[] {
  const hits: SymbolHit[] = [];
  const once: Array<[string, string, string]> = [
    ['message-id', 'MISSING_MESSAGE_ID', 'DUPLICATE_MESSAGE_ID'],
    ['date', 'MISSING_DATE', 'DUPLICATE_DATE'],
    ['from', 'MISSING_FROM', 'DUPLICATE_FROM'],
    ['subject', 'MISSING_SUBJECT', 'DUPLICATE_SUBJECT'],
  ];
  for (const [field, missing, duplicate] of once) {
    const n = msg.header(field).length;
    if (n === 0) hits.push({ name: missing });
    else if (n > 1) hits.push({ name: duplicate, detail: `${n} ${field} fields` });
  }
  if (msg.header('to').length === 0 && msg.header('cc').length === 0) hits.push({ name: 'MISSING_TO' });
  const id = msg.header('message-id')[0];
  // A trailing comment is allowed; the id itself is the first word.
  if (id !== undefined && !MESSAGE_ID.test(id.trim().split(/\s+/)[0] ?? '')) hits.push({ name: 'INVALID_MESSAGE_ID', detail: id.slice(0, 80) });
  return hits;
}

function dateHits(msg: ParsedMessage, hops: readonly Hop[], ctx: TransactionContext): SymbolHit[] {
  const value = msg.header('date')[0];
  if (value === undefined) return [];
  const date = Date.parse(value);
  if (Number.isNaN(date)) return [{ name: 'INVALID_DATE', detail: value.slice(0, 80) }];
  const o = ctx.policy.policy.headers;
  const span = receivedSpan(hops);
  const ahead = (date - (span?.last ?? Date.now())) / 3_600_000;
  if (ahead > o.date_future_hours) return [{ name: 'DATE_IN_FUTURE', detail: `${Math.round(ahead)} h after the last hop` }];
  // Without Received fields nothing tells when the message travelled (stored mail being
  // rescanned looks the same as a fresh one), so only a date in the future counts.
  const behind = span ? (span.first - date) / 3_600_000 : 0;
  if (behind > o.date_past_hours) return [{ name: 'DATE_IN_PAST', detail: `${Math.round(behind)} h before the first hop` }];
  return [];
}


/**
 * A display name that names one of our domains while the address is elsewhere ("Example
 * IT Support" <x@evil.test>, "ceo@example.com" <x@evil.test>), or that is itself an
 * address in another domain than the real one.
 */
function displayNameHits(from: Mailbox, policy: CompiledPolicy): SymbolHit[] {
  const name = from.name.toLowerCase();
  if (!name || !from.domain) return [];
  const hits: SymbolHit[] = [];
  const fromOrg = orgDomain(from.domain);
  if (!policy.isLocalDomain(from.domain)) {
    const local = policy.policy.local_domains.find((d) => new RegExp(`(^|[^a-z0-9-])${escapeRegExp(d.toLowerCase())}($|[^a-z0-9-])`).test(name));
    if (local) hits.push({ name: 'FROM_DISPLAY_SPOOF_LOCAL', detail: `"${from.name.slice(0, 60)}" <${from.address}>` });
  }
  for (const m of addressesInText(name)) {
    if (orgDomain(m.domain) !== fromOrg) {
      hits.push({ name: 'FROM_DISPLAY_ADDR_MISMATCH', detail: `"${m.address}" <${from.address}>` });
      break;
    }
  }
  return hits;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function senderHits(msg: ParsedMessage, ctx: TransactionContext): SymbolHit[] {
  const hits: SymbolHit[] = [];
  const from = fromMailboxes(msg);
  if (msg.header('from').length > 0 && !from.some((m) => m.domain)) hits.push({ name: 'INVALID_FROM', detail: (msg.header('from')[0] ?? '').slice(0, 80) });
  const first = from[0];
  if (!first || !first.domain) return hits;
  hits.push(...displayNameHits(first, ctx.policy));
  const envDomain = domainOfAddress(ctx.envelope.from);
  if (envDomain && orgDomain(envDomain) !== orgDomain(first.domain)) hits.push({ name: 'FROM_ENVFROM_MISMATCH', detail: `${ctx.envelope.from} / ${first.address}` });
  return hits;
}

/** Our own side: this host, a local domain or a name under one. */
function internalHost(policy: CompiledPolicy): (host: string) => boolean {
  return (host) => {
    let h = host;
    // Bounded by the labels of the name.
    for (let i = 0; i < 127 && h; i++) {
      if (policy.isLocalDomain(h)) return true;
      const dot = h.indexOf('.');
      if (dot < 0) return false;
      h = h.slice(dot + 1);
    }
    return false;
  };
}

export const headersCheck = defineCheck(headersManifest, () => ({
  headers_helo: async (ctx) => {
    if (ctx.trusted && ctx.policy.policy.headers.skip_trusted) return NO_HITS;
    const hits = heloHits(ctx.client.helo, ctx.client.ip, ctx.policy);
    return hits.length > 0 ? { hits } : NO_HITS;
  },
  headers: async (ctx) => {
    const msg = ctx.message;
    if (!msg) return NO_HITS;
    const o = ctx.policy.policy.headers;
    const received = msg.header('received');
    const hops = parseChain(received, o.max_received);
    const hits = [
      ...fieldCountHits(msg),
      ...dateHits(msg, hops, ctx),
      ...receivedHits(received, hops, { ourHostname: ctx.policy.policy.hostname, isInternal: internalHost(ctx.policy), skewHours: o.received_skew_hours, maxReceived: o.max_received }),
    ];
    if (!(ctx.trusted && o.skip_trusted)) hits.push(...senderHits(msg, ctx));
    return hits.length > 0 ? { hits } : NO_HITS;
  },
}));
