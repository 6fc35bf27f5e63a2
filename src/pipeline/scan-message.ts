import type { CompiledPolicy } from '../policy/compiled.js';
import type { Store } from '../stores/types.js';
import type { Logger } from '../observability/logger.js';
import type { Pipeline } from './runner.js';
import type { ClientInfo } from './context.js';
import { newTransaction } from './transaction.js';
import { evaluateMessage } from './evaluate.js';
import { decide, type Verdict } from '../decision/verdict.js';
import { normalizeSender } from '../smtp/addresses.js';
import { bareAddress, isWhiteSpace } from '../scoring/linear-text.js';

/** The SMTP facts a message is scanned with, as if this client had sent it. */
export interface ScanEnvelope {
  ip: string;
  helo: string;
  /** Envelope sender; when absent, the message's Return-Path (or From) stands in. */
  from?: string;
  rcpts: readonly string[];
}

export interface ScanDeps {
  policy: CompiledPolicy;
  store: Store;
  pipeline: Pipeline;
  log: Logger;
}

/**
 * One whole transaction without a socket: the connect, helo, mail and rcpt phases with the
 * given envelope, then evaluateMessage() — the very function the live proxy calls at end
 * of DATA. A check that refuses before DATA ends the scan with its verdict, as it would
 * end the SMTP conversation.
 */
export async function scanMessage(deps: ScanDeps, raw: Buffer, envelope: ScanEnvelope): Promise<Verdict> {
  const { policy, pipeline } = deps;
  const client: ClientInfo = { ip: envelope.ip, port: 0, rdns: '', helo: envelope.helo, tls: false, proto: 'ESMTP', source: 'socket' };
  const ctx = newTransaction({
    connectionId: 'scan',
    client,
    policy,
    store: deps.store,
    log: deps.log,
    inherited: { hits: [], forced: [], allowlisted: false, trusted: policy.trustedNetworks.has(envelope.ip) },
  });
  ctx.envelope.from = normalizeSender(envelope.from ?? senderOf(raw));
  const refused = () => decide(ctx.hits, ctx.forced, policy);
  for (const phase of ['connect', 'helo', 'mail'] as const) {
    if (await pipeline.run(phase, ctx)) return refused();
  }
  for (const rcpt of envelope.rcpts) {
    ctx.currentRcpt = rcpt;
    if (await pipeline.run('rcpt', ctx)) return refused();
    ctx.envelope.rcpts.push(rcpt);
  }
  ctx.currentRcpt = null;
  return evaluateMessage(pipeline, ctx, raw);
}

/** Return-Path, else the From address, from the header block; '' (null sender) when neither. */
export function senderOf(raw: Buffer): string {
  const end = raw.indexOf('\r\n\r\n');
  const head = raw.subarray(0, end < 0 ? Math.min(raw.length, 65536) : end).toString('latin1').replace(/\r\n[ \t]+/g, ' ');
  for (const name of ['return-path', 'from']) {
    const m = new RegExp(`^${name}:(.*)$`, 'im').exec(head);
    if (!m) continue;
    const addr = /<([^<>\s]*)>/.exec(m[1] ?? '')?.[1] ?? bareAddress(m[1] ?? '', (c) => c !== 60 && c !== 62 && c !== 34 && !isWhiteSpace(c)) ?? undefined;
    if (addr !== undefined) return addr;
  }
  return '';
}
