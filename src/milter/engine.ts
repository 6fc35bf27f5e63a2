import type { SmtpReply } from '../decision/replies.js';
import type { ClientInfo } from '../pipeline/context.js';

/**
 * What the milter door needs from the SMTP transaction engine: the same steps an SMTP
 * client drives, each answered with a refusal or a go-ahead, and at the end of the message
 * the verdict as a refusal, a discard, or the header edits for Postfix to make.
 */
export type StepResult = { ok: true } | { ok: false; reply: SmtpReply };

export type MessageOutcome =
  | { kind: 'refuse'; reply: SmtpReply }
  | { kind: 'discard'; reason: string }
  | { kind: 'accept'; edits: HeaderEdits };

/** Header changes, in message terms; edits.ts turns them into milter replies. */
export interface HeaderEdits {
  /** Whole fields ("Name: value", possibly folded) to put at the top of the message, in order. */
  prepend: string[];
  /** Whole fields to add at the end of the header block (the X-Spam-* fields). */
  append: string[];
  /** Remove the client's fields whose names match (inbound X-Spam-* that pretend to be ours). */
  remove: (name: string) => boolean;
  /** Put this tag in front of the Subject (rewrite_subject), or null. */
  subjectTag: string | null;
}

export interface MilterSession {
  connect(client: ClientInfo): Promise<StepResult>;
  helo(name: string): Promise<StepResult>;
  mail(address: string, params: Record<string, string | true>): Promise<StepResult>;
  rcpt(address: string): Promise<StepResult>;
  /** The whole message; queueId is Postfix's (the `i` macro), for the logs. */
  data(raw: Buffer, queueId: string): Promise<MessageOutcome>;
  /** The transaction ended without a message (ABORT: RSET, a refused RCPT list, a lost client). */
  abort(): void;
  /** The connection is gone. */
  close(): void;
}

export type SessionFactory = (connectionId: string) => MilterSession;
