import type { Logger } from '../observability/logger.js';
import type { CompiledPolicy } from '../policy/compiled.js';
import type { Store } from '../stores/types.js';
import type { RecordedForce, RecordedHit } from '../decision/hits.js';
import type { ParsedMessage } from '../mail/parsed-message.js';
import type { Verdict } from '../decision/verdict.js';

/** Who is talking to us, as far as we know it. */
export interface ClientInfo {
  ip: string;
  port: number;
  /** Reverse DNS name, or '' when unknown or lookups are off. */
  rdns: string;
  helo: string;
  tls: boolean;
  /** 'ESMTP' after EHLO, 'SMTP' after HELO. */
  proto: string;
  /** Where ip came from: the socket, a PROXY header, Postfix's XFORWARD, milter macros, or a scan's --ip. */
  source: 'socket' | 'proxy' | 'xforward' | 'milter' | 'scan';
}

export interface Envelope {
  /** '' for the null sender <>. */
  from: string;
  rcpts: string[];
}

/**
 * Everything about one transaction (MAIL … end of DATA) plus the connection it runs on.
 * The PolicySet is pinned when the transaction starts, so a hot reload never changes
 * the rules half-way through a message.
 */
export interface TransactionContext {
  /** Per-transaction id: every log line and the summary carry it. */
  id: string;
  /** The connection's id (one connection may carry several transactions). */
  connectionId: string;
  client: ClientInfo;
  envelope: Envelope;
  /** The recipient being checked, during the rcpt phase. */
  currentRcpt: string | null;
  message: ParsedMessage | null;
  policy: CompiledPolicy;
  store: Store;
  log: Logger;
  signal: AbortSignal;
  hits: RecordedHit[];
  forced: RecordedForce[];
  /** Set by allow lists and trusted networks: greylisting and rate limits skip it. */
  allowlisted: boolean;
  /** Set when the client is one of our own networks. */
  trusted: boolean;
  /** The Authentication-Results value (RFC 8601) the auth check found, stamped on relayed mail. */
  authResults?: string;
  /** The verdict of the data phase, for the postfilter checks (absent before). */
  verdict?: Verdict;
  /**
   * What checks spend only when the message is accepted (rate-limit counts a stranger
   * could otherwise spend for someone else, greylist passes), each under its check's name
   * so it is set once per transaction; run by pipeline/accepted.ts after the 250.
   */
  onAccepted: Map<string, AcceptedCharge>;
}

/** Spends what an accepted message costs, reading the final envelope from the context. */
export type AcceptedCharge = (ctx: TransactionContext) => Promise<void>;
