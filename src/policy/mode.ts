import type { Policy } from './schema.js';

/**
 * What the deployment mode changes. Four places an admin puts Borderpatrol:
 *
 * - `mx`: the public MX on port 25. It talks to the sending server itself, so it decides
 *   relaying (local_domains) and asks Postfix whether each recipient exists.
 * - `proxy_filter`: Postfix keeps port 25 and hands each session to Borderpatrol before
 *   queueing (smtpd_proxy_filter). Postfix passes our replies back to the sender, so a
 *   refusal is still a refusal.
 * - `content_filter`: Postfix queues first and hands the message over afterwards
 *   (content_filter). Postfix has already said 250 to the sender: a refusal from us would
 *   become a bounce to an address that is often forged (backscatter), so policy refusals
 *   turn into `smtp.after_queue_reject` (discard or add_header).
 * - `milter`: Postfix keeps port 25 and asks Borderpatrol during its own SMTP conversation
 *   (smtpd_milters, the Sendmail milter protocol). Our replies go to the sender through
 *   Postfix; Postfix queues and delivers, so there is nothing to relay.
 *
 * In both filter modes the peer is Postfix: the real client comes from its XFORWARD, and
 * Postfix has already decided relaying and recipient existence. In milter mode the client
 * comes from the milter CONNECT event and macros, and Postfix decides the same things.
 */
export type Mode = Policy['mode'];

type ModePolicy = Pick<Policy, 'mode'>;

/** Postfix hands the mail over by SMTP (either filter mode). */
export function isFilterMode(p: ModePolicy): boolean {
  return p.mode === 'content_filter' || p.mode === 'proxy_filter';
}

/** Postfix asks through the milter protocol and delivers itself: no relay, no SMTP listener. */
export function isMilterMode(p: ModePolicy): boolean {
  return p.mode === 'milter';
}

/** The sender already heard 250 from Postfix: nothing we answer may become a bounce. */
export function isAfterQueue(p: ModePolicy): boolean {
  return p.mode === 'content_filter';
}

/**
 * Only an MX decides relaying on its own. Behind Postfix, mail for other domains is
 * outbound mail from local users that Postfix's smtpd_relay_restrictions already allowed.
 */
export function checksRelay(p: ModePolicy): boolean {
  return p.mode === 'mx';
}

export type RecipientVerification = 'postfix' | 'list' | 'none';

/**
 * `auto` (the default) asks Postfix in mx mode and nothing behind Postfix: there the
 * Postfix in front already refused unknown recipients (in milter mode it checks them before
 * it asks us), and the reinjection listener skips recipient checks
 * (receive_override_options=no_unknown_recipient_checks), so asking it would prove nothing.
 */
export function recipientVerification(p: Pick<Policy, 'mode' | 'recipient_verification'>): RecipientVerification {
  const m = p.recipient_verification.mode;
  if (m !== 'auto') return m;
  return p.mode === 'mx' ? 'postfix' : 'none';
}

/** A problem with the mode settings, or null. Used by the schema so `policy check` reports it. */
export function modeProblem(p: Pick<Policy, 'mode' | 'smtp'>): { path: string[]; message: string } | null {
  if (isFilterMode(p) && p.smtp.xforward_hosts.length === 0) {
    return {
      path: ['smtp', 'xforward_hosts'],
      message: `mode ${p.mode} needs the address of the Postfix that hands mail over (e.g. [127.0.0.1]): only it may connect and send XFORWARD`,
    };
  }
  return null;
}
