import type { CompiledPolicy } from '../policy/compiled.js';
import type { Store } from '../stores/types.js';
import { readOnlyView } from '../stores/read-only.js';
import type { Logger } from '../observability/logger.js';
import type { Pipeline } from '../pipeline/runner.js';
import { decide, isBlocking, type Verdict } from '../decision/verdict.js';
import { formatReply, type SmtpReply } from '../decision/replies.js';
import { normalizeLineEnds } from './message-reader.js';
import { headerBoundary } from '../mail/header-block.js';
import { quietRecorder } from './recorder.js';
import { bareAddress, isWhiteSpace } from '../mail/linear-text.js';
import { Session } from './session.js';

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
 * One whole transaction through the same Session the live proxy runs, without a socket,
 * a deliverer or a recipient verifier, on a read-only view of the store: relay denial,
 * recipient limits, the after-queue rules and score-band greylisting all apply, and
 * nothing is written (no greylist entry, no rate-limit count, no history). A refusal before
 * DATA ends the scan with that refusal, as it would end the SMTP conversation.
 */
export async function scanMessage(deps: ScanDeps, input: Buffer, envelope: ScanEnvelope): Promise<Verdict> {
  const { policy } = deps;
  const session = new Session({
    policy: () => policy,
    pipeline: deps.pipeline,
    store: readOnlyView(deps.store),
    deliverer: null,
    verifier: null,
    recorder: quietRecorder,
    log: deps.log,
  });
  // Files and HTTP bodies often have bare LF line ends; SMTP clients send CRLF.
  const raw = normalizeLineEnds(input);
  const refused = (reply: SmtpReply): Verdict => {
    const verdict = refusalVerdict(session.evidence(), policy, reply);
    session.close();
    return verdict;
  };
  try {
    const from = envelope.from ?? senderOf(raw);
    // A scan cannot say SMTPUTF8: a non-ASCII address is taken as declared.
    const smtputf8 = /[^\x00-\x7f]/.test([from, ...envelope.rcpts].join(''));
    let step = await session.connect({ ip: envelope.ip, port: 0, rdns: '', source: 'scan' });
    if (step.ok) step = await session.helo(envelope.helo);
    if (step.ok) step = await session.mail(from, { smtputf8 });
    for (const rcpt of envelope.rcpts) if (step.ok) step = await session.rcpt(rcpt);
    if (!step.ok) return refused(step.reply);
    const result = await session.data(raw);
    session.close();
    if (result.verdict) return result.verdict;
    return refusalVerdict({ hits: [], forced: [] }, policy, result.reply);
  } catch (err) {
    session.close();
    throw err;
  }
}

/** A verdict for a refusal before the content was judged: the forced check's, or the protocol rule's. */
function refusalVerdict(evidence: ReturnType<Session['evidence']>, policy: CompiledPolicy, reply: SmtpReply): Verdict {
  const v = decide(evidence.hits, evidence.forced, policy);
  if (isBlocking(v.action) && v.forcedBy) return { ...v, reply };
  const action = reply.code >= 500 ? 'reject' : 'soft_reject';
  return { ...v, action, wouldBe: action, dryRun: false, reply, forcedBy: null, reason: formatReply(reply) };
}

/** Return-Path, else the From address, from the header block; '' (null sender) when neither. */
export function senderOf(raw: Buffer): string {
  const { headerSize } = headerBoundary(raw.subarray(0, Math.min(raw.length, 65536)));
  const head = raw.subarray(0, headerSize).toString('latin1').replace(/\r\n[ \t]+/g, ' ');
  for (const name of ['return-path', 'from']) {
    const m = new RegExp(`^${name}:(.*)$`, 'im').exec(head);
    if (!m) continue;
    const addr = /<([^<>\s]*)>/.exec(m[1] ?? '')?.[1] ?? bareAddress(m[1] ?? '', (c) => c !== 60 && c !== 62 && c !== 34 && !isWhiteSpace(c)) ?? undefined;
    if (addr !== undefined) return addr;
  }
  return '';
}
