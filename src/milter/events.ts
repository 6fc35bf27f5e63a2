import type { MilterCommand } from './codec.js';
import { Cmd } from './protocol.js';
import type { MailParams, SessionClient } from '../session/types.js';
import { unmapIpv4 } from '../net/ip.js';

/** Milter events → what the Session takes: the client, envelope addresses, MAIL parameters. */

export function clientFrom(c: Extract<MilterCommand, { kind: 'connect' }>): SessionClient {
  // Postfix names a client without reverse DNS "[address]" (Sendmail's form) or "unknown".
  const rdns = c.hostname.startsWith('[') || c.hostname.toLowerCase() === 'unknown' ? '' : c.hostname;
  const ip = c.family === 'inet4' || c.family === 'inet6' ? unmapIpv4(c.address.replace(/^ipv6:/i, '')) : '127.0.0.1';
  return { ip, port: c.port, rdns, source: 'milter' };
}

/** The address of MAIL and RCPT as Postfix sends it: "<a@b>" → "a@b"; "<>" → "". */
export function envelopeAddress(args: readonly string[]): string {
  const arg = (args[0] ?? '').trim();
  const m = /^<(.*)>$/.exec(arg);
  return m ? (m[1] as string) : arg;
}

/**
 * Sendmail macros as Postfix sends them before each event. The latest set of an event
 * replaces the previous one; a transaction's sets are forgotten when it ends, so one
 * client's login or queue id never carries into the next transaction.
 */
export class Macros {
  private readonly byEvent = new Map<number, Map<string, string>>();

  set(event: number, values: Map<string, string>): void {
    this.byEvent.set(event, values);
  }

  get(name: string): string {
    for (const set of this.byEvent.values()) {
      const v = set.get(name);
      if (v !== undefined) return v;
    }
    return '';
  }

  endTransaction(): void {
    for (const event of [...this.byEvent.keys()]) if (event !== Cmd.CONNECT && event !== Cmd.HELO) this.byEvent.delete(event);
  }

  clear(): void {
    this.byEvent.clear();
  }

  /**
   * MAIL's ESMTP parameters, whether the client used STARTTLS (Postfix's helo macros carry
   * {tls_version} then), and the login of a client that authenticated ({auth_authen}).
   */
  mailParams(args: readonly string[]): MailParams {
    const params: MailParams = {};
    for (const a of args.slice(1)) {
      const eq = a.indexOf('=');
      const key = (eq < 0 ? a : a.slice(0, eq)).toUpperCase();
      const value = eq < 0 ? '' : a.slice(eq + 1);
      if (key === 'SIZE') params.size = Number(value) || 0;
      else if (key === 'SMTPUTF8') params.smtputf8 = true;
      else if (key === 'BODY') params.body8bit = value.toUpperCase() === '8BITMIME';
    }
    params.tls = this.get('tls_version') !== '';
    const authUser = this.get('auth_authen');
    if (authUser) params.authUser = authUser;
    return params;
  }
}
