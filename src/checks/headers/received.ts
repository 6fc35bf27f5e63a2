import net from 'node:net';
import type { SymbolHit } from '../../decision/hits.js';

/** One Received field, as far as the checks need it. */
export interface Hop {
  by: string;
  /** Milliseconds since the epoch, NaN when the date is missing or unreadable. */
  time: number;
  /** Bracketed address literals that are not addresses ([300.1.2.3]). */
  badLiteral: boolean;
}

export function parseHop(value: string): Hop {
  const semi = value.lastIndexOf(';');
  const time = semi >= 0 ? Date.parse(value.slice(semi + 1).trim()) : NaN;
  const by = /(?:^|[\s)])by\s+([^\s;()]+)/i.exec(value)?.[1]?.toLowerCase().replace(/\.$/, '') ?? '';
  let badLiteral = false;
  for (const m of value.matchAll(/\[([0-9a-f:.]{1,45})\]/gi)) {
    const addr = (m[1] ?? '').replace(/^ipv6:/i, '');
    if (/^[\d.]+$|:/.test(addr) && net.isIP(addr) === 0) badLiteral = true;
  }
  return { by, time, badLiteral };
}

export interface ReceivedOptions {
  ourHostname: string;
  /** Hosts of our own side (local domains): neither us nor foreign. */
  isInternal: (host: string) => boolean;
  skewHours: number;
  maxReceived: number;
}

/** The hops of a Received chain, newest first, at most twice max_received of them. */
export function parseChain(values: readonly string[], maxReceived: number): Hop[] {
  return values.slice(0, maxReceived * 2).map(parseHop);
}

/**
 * Signs of a forged Received chain (newest hop first): fields without a readable date or
 * with impossible address literals, an older hop dated well after the hop that received
 * from it, a hop claiming to be this server below a foreign hop (a genuine pass through
 * us can only be on top), and more hops than mail ever needs.
 */
export function receivedHits(values: readonly string[], hops: readonly Hop[], o: ReceivedOptions): SymbolHit[] {
  const hits: SymbolHit[] = [];
  if (values.length > o.maxReceived) hits.push({ name: 'RCVD_TOO_MANY', detail: `${values.length} Received fields` });
  const bad = hops.findIndex((h) => Number.isNaN(h.time) || h.badLiteral);
  if (bad >= 0) hits.push({ name: 'RCVD_BAD_SYNTAX', detail: (values[bad] ?? '').slice(0, 120) });
  const skew = o.skewHours * 3_600_000;
  for (let i = 0; i + 1 < hops.length; i++) {
    const newer = hops[i] as Hop;
    const older = hops[i + 1] as Hop;
    if (older.time - newer.time > skew) {
      hits.push({ name: 'RCVD_TIME_TRAVEL', detail: `hop ${i + 2} dated after hop ${i + 1}` });
      break;
    }
  }
  const ours = o.ourHostname.toLowerCase();
  // Hops without a "by", with a bare name (localhost, fetchmail) or in our domains are our side's own handling.
  const foreign = (by: string) => by !== ours && by.includes('.') && !o.isInternal(by);
  const firstForeign = hops.findIndex((h) => foreign(h.by));
  if (firstForeign >= 0 && hops.slice(firstForeign + 1).some((h) => h.by === ours)) hits.push({ name: 'RCVD_FORGED_OURS', detail: `claims a pass through ${ours} before ${hops[firstForeign]?.by || 'a foreign host'}` });
  return hits;
}

/**
 * When the first and the last hop handled the message (oldest and newest readable
 * Received dates). A Date is judged against these: written well before the first hop saw
 * the message, or after the last one did. A message fetched days later (fetchmail,
 * rescans) is still judged by when it travelled.
 */
export function receivedSpan(hops: readonly Hop[]): { first: number; last: number } | null {
  let first = Infinity;
  let last = -Infinity;
  for (const h of hops) {
    if (Number.isNaN(h.time)) continue;
    first = Math.min(first, h.time);
    last = Math.max(last, h.time);
  }
  return first === Infinity ? null : { first, last };
}
