import { Replies, type SmtpReply } from '../decision/replies.js';
import type { CompiledPolicy } from '../policy/compiled.js';
import { recipientVerification } from '../policy/mode.js';
import type { RecipientVerifier } from './types.js';

/** A refusal, or null when the recipient exists (recipient_verification decides who is asked). */
export async function verifyRecipient(rcpt: string, policy: CompiledPolicy, verifier: RecipientVerifier | null): Promise<SmtpReply | null> {
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
