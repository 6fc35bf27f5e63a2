import { Replies, type SmtpReply } from '../decision/replies.js';
import type { CompiledPolicy } from '../policy/compiled.js';
import { checksRelay, recipientVerification } from '../policy/mode.js';
import { checkRecipient } from '../mail/address.js';
import type { RecipientVerifier } from './types.js';

/** The recipient as it will be checked and delivered, or why it is refused. */
export type RecipientAddress = { ok: true; address: string } | { ok: false; reply: SmtpReply; reason: string };

/**
 * The address rules of RCPT: `postmaster` alone is postmaster of the first local domain;
 * an MX refuses other domains and routing forms (`%`, `!`, quoted `@`, IP literals) as
 * relaying. Behind Postfix (filter modes) mail for other domains is local users' outbound
 * mail, and routing forms were Postfix's to accept or refuse.
 */
export function recipientAddress(address: string, policy: CompiledPolicy): RecipientAddress {
  const postmaster = address.toLowerCase() === 'postmaster' && policy.policy.local_domains[0];
  const raw = postmaster ? `postmaster@${policy.policy.local_domains[0]}` : address;
  const rcpt = checkRecipient(raw);
  const relayCheck = checksRelay(policy.policy);
  const relay = { ok: false as const, reply: Replies.relayDenied(), reason: 'relay' };
  if (rcpt.ok) return relayCheck && !policy.isLocalDomain(rcpt.domain) ? relay : { ok: true, address: rcpt.address };
  if (rcpt.why === 'syntax') return { ok: false, reply: Replies.badRecipientSyntax(), reason: 'syntax' };
  return relayCheck ? relay : { ok: true, address: raw };
}

/** A refusal, or null when the recipient exists (recipient_verification). */
export async function unknownRecipient(rcpt: string, policy: CompiledPolicy, verifier: RecipientVerifier | null): Promise<SmtpReply | null> {
  switch (recipientVerification(policy.policy)) {
    case 'none':
      return null;
    case 'list': {
      const list = policy.list('valid_recipients');
      return list && list.has(rcpt) ? null : Replies.unknownRecipient(rcpt);
    }
    case 'postfix': {
      // Without a verifier (scan) nobody can say: the recipient is taken as existing.
      if (!verifier) return null;
      const answer = await verifier.verifyRecipient(rcpt, policy);
      return answer.ok ? null : answer.reply;
    }
  }
}
