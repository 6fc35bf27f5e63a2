/**
 * Every SMTP answer Borderpatrol gives is an SmtpReply: a basic code, an RFC 3463 enhanced
 * status code and a text. smtp-server writes err.message after the basic code, so the
 * enhanced code goes at the start of the message (see LIBRARY-NOTES: leave
 * hideENHANCEDSTATUSCODES at its default).
 */
export interface SmtpReply {
  code: number;
  enhanced: string;
  text: string;
}

export function reply(code: number, enhanced: string, text: string): SmtpReply {
  return { code, enhanced, text };
}

export function formatReply(r: SmtpReply): string {
  return `${r.code} ${r.enhanced} ${r.text}`;
}

/** An Error that smtp-server turns into the reply it carries. */
export class SmtpReplyError extends Error {
  readonly responseCode: number;
  readonly reply: SmtpReply;
  constructor(r: SmtpReply) {
    super(`${r.enhanced} ${r.text}`);
    this.responseCode = r.code;
    this.reply = r;
  }
}

export function isTemporary(r: SmtpReply): boolean {
  return r.code >= 400 && r.code < 500;
}

/** The catalogue of fixed replies; checks that need their own text build one with reply(). */
export const Replies = {
  relayDenied: () => reply(554, '5.7.1', 'Relay access denied'),
  badSenderSyntax: () => reply(553, '5.1.7', 'Sender address rejected: invalid address'),
  badRecipientSyntax: () => reply(553, '5.1.3', 'Recipient address rejected: invalid address'),
  /** RFC 6531: a non-ASCII address needs SMTPUTF8 on MAIL; bytes that are not UTF-8 are never an address. */
  addressNeedsSmtputf8: () => reply(553, '5.6.7', 'Non-ASCII address requires SMTPUTF8 on MAIL FROM'),
  addressNotUtf8: () => reply(553, '5.6.7', 'Address is not valid UTF-8'),
  unknownRecipient: (addr: string) => reply(550, '5.1.1', `<${addr}>: Recipient address rejected: User unknown`),
  tooManyRecipients: () => reply(452, '4.5.3', 'Too many recipients'),
  insufficientStorage: () => reply(452, '4.3.1', 'Insufficient system storage, try again later'),
  messageTooBig: (limit: number) => reply(552, '5.3.4', `Message size exceeds fixed limit of ${limit} bytes`),
  tooManyHeaders: (limit: number) => reply(552, '5.3.4', `Message has more than ${limit} header fields`),
  lineTooLong: (limit: number) => reply(552, '5.3.4', `Message has a line longer than ${limit} bytes`),
  headerTooBig: (limit: number) => reply(552, '5.3.4', `Message header exceeds ${limit} bytes`),
  bareNewline: () => reply(550, '5.5.2', 'Message contains bare CR or LF; lines must end with CRLF'),
  relayUnavailable: () => reply(451, '4.4.1', 'Delivery temporarily unavailable, try again later'),
  relayRecipientChanged: () => reply(451, '4.3.0', 'Recipient check changed during delivery, try again later'),
  tooManyConnections: () => reply(421, '4.7.0', 'Too many connections, try again later'),
  tooManyConnectionsFromIp: () => reply(421, '4.7.0', 'Too many connections from your address, try again later'),
  shuttingDown: () => reply(421, '4.3.2', 'Service shutting down, try again later'),
  /** Content-filter mode: what Postfix logs as the delivery status of a message we dropped. */
  discarded: (txId: string) => reply(250, '2.7.0', `Ok: discarded by policy, id=${txId}`),
  filterPeerDenied: () => reply(554, '5.7.1', 'Access denied: this filter only takes mail from its Postfix (smtp.xforward_hosts)'),
  tempfail: (what: string) => reply(451, '4.3.0', `${what} temporarily unavailable, try again later`),
  internalError: () => reply(451, '4.3.0', 'Internal error, try again later'),
  spam: () => reply(550, '5.7.1', 'Message rejected as spam'),
  greylisted: (seconds: number) => reply(451, '4.7.1', `Greylisted, please try again in ${seconds} seconds`),
  softReject: () => reply(451, '4.7.1', 'Message deferred, try again later'),
  listed: (reason: string) => reply(550, '5.7.1', reason),
  policyTempfail: () => reply(451, '4.3.0', 'Policy check temporarily unavailable, try again later'),
  needMail: () => reply(503, '5.5.1', 'Error: need MAIL command'),
  /** Never heard by anyone: the summary's reply when the client left before the verdict. */
  clientGone: () => reply(421, '4.4.2', 'Client disconnected before the end of data, nothing relayed'),
} as const;

/** The SMTP phases a reply can answer. */
export type ReplyPhase = 'connect' | 'helo' | 'mail' | 'rcpt' | 'data';

/**
 * The codes each phase may answer with (RFC 5321 §4.3.2), plus 421 anywhere (§3.8) and
 * 554 after MAIL (§4.2.5: "transaction failed", what Postfix answers for policy refusals).
 * The greeting in particular allows only 220, 554 and 421.
 */
export const LEGAL_CODES: Readonly<Record<ReplyPhase, ReadonlySet<number>>> = {
  connect: new Set([220, 421, 554]),
  helo: new Set([250, 421, 451, 502, 504, 550, 554]),
  mail: new Set([250, 421, 451, 452, 455, 503, 550, 552, 553, 554, 555]),
  rcpt: new Set([250, 251, 421, 450, 451, 452, 455, 503, 550, 551, 552, 553, 554, 555]),
  data: new Set([250, 421, 450, 451, 452, 503, 550, 552, 554]),
};

/** What an illegal code becomes in each phase: the phase's general permanent or temporary refusal. */
const FALLBACK: Readonly<Record<ReplyPhase, { permanent: number; temporary: number }>> = {
  connect: { permanent: 554, temporary: 421 },
  helo: { permanent: 550, temporary: 451 },
  mail: { permanent: 550, temporary: 451 },
  rcpt: { permanent: 550, temporary: 451 },
  data: { permanent: 554, temporary: 451 },
};

/**
 * The reply as the phase may carry it: a code the phase does not allow (a check's 550 at
 * connect) becomes the phase's general refusal of the same class, keeping the enhanced
 * code and the text.
 */
export function legalReply(phase: ReplyPhase, r: SmtpReply): SmtpReply {
  if (LEGAL_CODES[phase].has(r.code)) return r;
  if (r.code < 400) return r;
  const f = FALLBACK[phase];
  return { ...r, code: r.code >= 500 ? f.permanent : f.temporary };
}
