import type { SmtpReply } from '../decision/replies.js';
import type { Action, Verdict } from '../decision/verdict.js';
import type { ClientInfo, TransactionContext } from '../pipeline/context.js';
import type { CompiledPolicy } from '../policy/compiled.js';
import type { Pipeline } from '../pipeline/runner.js';
import type { Store } from '../stores/types.js';
import type { Logger } from '../observability/logger.js';
import type { Delivery, DeliveryResult, VerifyAnswer } from '../relay/relay.js';
import type { TransactionSummary } from '../history/record.js';

/**
 * The public face of a Session: one SMTP conversation (connect → helo → mail → rcpt → data)
 * without a socket. Doors (smtp-server, milter, scan, /checkv2) translate their input into
 * these calls and the answers back into their protocol.
 */

/** Who connected, as the door knows it when the connection opens. */
export interface SessionClient {
  ip: string;
  port: number;
  /** Reverse DNS name when the door already has one (milter macros); else the Session looks it up. */
  rdns?: string;
  tls?: boolean;
  /** Where `ip` came from: the socket, a PROXY header, Postfix's XFORWARD, or milter macros. */
  source: ClientInfo['source'];
}

/** The answer to one command: go on (the door sends its positive reply), or this refusal. */
export type StepResult =
  | { ok: true }
  | {
      ok: false;
      reply: SmtpReply;
      /** The door should close the connection after sending the reply (421, or 554 at connect). */
      close?: boolean;
    };

/** MAIL FROM parameters the Session needs (already parsed by the door). */
export interface MailParams {
  /** SIZE= the client declared; 0 or absent when none. */
  size?: number;
  smtputf8?: boolean;
  /** BODY=8BITMIME. */
  body8bit?: boolean;
  /**
   * This transaction's client, when it differs from the connection's: XFORWARD in the
   * filter modes names a new client per transaction.
   */
  client?: ClientInfo;
  /** The connection is (now) encrypted: STARTTLS may come after connect. */
  tls?: boolean;
  /** The SASL login Postfix reports ({auth_authen}): an authenticated client is trusted. */
  authUser?: string;
}

/** Facts only the door knows at the end of DATA. */
export interface DataOptions {
  /** Postfix's queue id (XFORWARD IDENT, milter macro `i`), logged so one grep finds both sides. */
  queueId?: string;
  /** TLS version and cipher for our Received field, when the door has them. */
  tls?: { version: string; cipher: string };
  /**
   * What the door measured while reading DATA (smtp: on the fly, so an oversized message is
   * never buffered, and `raw` is then empty). Computed from `raw` when absent (milter, scan).
   */
  measured?: { size: number; oversized: boolean; overBudget?: boolean; bareNewline: boolean; longestLine: number };
}

/** What the Session did with a message: everything a door needs to act on it. */
export type DataAction = Action | 'discard';

export interface HeaderEdits {
  /** Fields to add, whole (`Name: value`, folded with CRLF + tab, no final CRLF), in order, on top. */
  add: string[];
  /**
   * Inbound fields to remove, by position among the message's header fields (0-based, in
   * order): the X-Spam-* a stranger wrote and an Authentication-Results in our name.
   */
  removeAt: number[];
  /** The new Subject value when the verdict rewrites it, else null. */
  subject: string | null;
}

export interface DataResult {
  action: DataAction;
  /**
   * The reply to the client. With a deliverer, the downstream's own answer to the final "."
   * (or 451 4.4.1); without one, our own 250 for a passing message.
   */
  reply: SmtpReply;
  /** True when the reply is 2xx (the message was taken or, for discard, silently dropped). */
  accepted: boolean;
  /** The verdict; null when the message was refused before scanning (size, line length, …). */
  verdict: Verdict | null;
  /** Header changes a door applies itself (milter); the deliverer already got them applied. */
  headers: HeaderEdits;
  /** Our transaction id, and the downstream queue id when one was reported. */
  txId: string;
  queueId: string;
  /** The message was handed to the deliverer and it said 2xx. */
  relayed: boolean;
}

/** The Postfix relay (relay/relay.ts), or none for scan and the milter door. */
export interface Deliverer {
  deliver(d: Delivery, policy: CompiledPolicy): Promise<DeliveryResult>;
}

/** Asks whether a recipient exists (recipient_verification: postfix). */
export interface RecipientVerifier {
  verifyRecipient(rcpt: string, policy: CompiledPolicy): Promise<VerifyAnswer>;
}

/** Where the Session reports what happened: history, metrics, the transaction log line. */
export interface Recorder {
  /** One finished transaction (message answered, or abandoned before DATA). */
  transaction(summary: TransactionSummary, tx: TransactionContext): void;
  /** A command refused (for the rejections metric). */
  refused(phase: string, reason: string): void;
  connectionOpened(): void;
  connectionClosed(): void;
  scanSeconds(seconds: number): void;
  relaySeconds(seconds: number): void;
}

/** A cap on concurrent content scans shared by every Session of a process. */
export interface ScanSlots {
  acquire(): Promise<() => void>;
}

/** Reverse DNS for the connect phase; the Session uses net/dns.ts unless given one. */
export type ReverseLookup = (ip: string, policy: CompiledPolicy) => Promise<string>;

export interface SessionDeps {
  policy: () => CompiledPolicy;
  pipeline: Pipeline;
  /** The store the checks read and write: read-only for scan and /checkv2. */
  store: Store;
  deliverer: Deliverer | null;
  verifier: RecipientVerifier | null;
  recorder: Recorder;
  log: Logger;
  scans?: ScanSlots;
  reverse?: ReverseLookup;
}

/** One SMTP conversation. Every method resolves; none throws for a refusal. */
export interface SmtpSession {
  readonly id: string;
  connect(client: SessionClient): Promise<StepResult>;
  /** `proto` is ESMTP after EHLO, SMTP after HELO. */
  helo(name: string, proto?: 'ESMTP' | 'SMTP'): Promise<StepResult>;
  mail(address: string, params?: MailParams): Promise<StepResult>;
  rcpt(address: string): Promise<StepResult>;
  /** The whole message as received (CRLF line ends, dot-unstuffed), already within the door's size cap. */
  data(raw: Buffer, options?: DataOptions): Promise<DataResult>;
  /** RSET: the transaction in progress ends (its summary is recorded), the connection stays. */
  reset(): void;
  /** The client went away: checks in flight are told to stop, nothing further is relayed. */
  close(): void;
}

/**
 * How a door gets a new Session per connection (main.ts builds it from the server's parts):
 * `id` is the connection id the door logs with.
 */
export type OpenSession = (options?: { id?: string }) => SmtpSession;
