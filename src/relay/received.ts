import type { TransactionContext } from '../pipeline/context.js';
import type { CompiledPolicy } from '../policy/compiled.js';
import { fold } from '../decision/spam-headers.js';

/** Our hop's Received field, in the shape Postfix writes its own (RFC 5321 §4.4). */
export function receivedHeader(tx: TransactionContext, policy: CompiledPolicy, tls?: { version: string; cipher: string }): string {
  const c = tx.client;
  const ipLiteral = c.ip.includes(':') ? `IPv6:${c.ip}` : c.ip;
  const from = `${clean(c.helo) || 'unknown'} (${clean(c.rdns) || 'unknown'} [${ipLiteral}])`;
  let proto = c.proto === 'ESMTP' ? 'ESMTP' : 'SMTP';
  if (c.tls) proto += 'S';
  const tlsNote = c.tls && tls ? ` (using ${clean(tls.version || 'TLS')} with cipher ${clean(tls.cipher)})` : '';
  const forRcpt = tx.envelope.rcpts.length === 1 ? ` for <${clean(tx.envelope.rcpts[0] ?? '')}>` : '';
  return fold(`Received: from ${from}${tlsNote} by ${policy.policy.hostname} (Borderpatrol) with ${proto} id ${tx.id}${forRcpt}; ${rfc2822Date(new Date())}`);
}

/** Keep client-supplied text from breaking the header. */
function clean(s: string): string {
  return s.replace(/[^\x21-\x7e]/g, '').slice(0, 255);
}

export function rfc2822Date(d: Date): string {
  const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const pad = (n: number) => String(n).padStart(2, '0');
  const off = -d.getTimezoneOffset();
  const sign = off >= 0 ? '+' : '-';
  const abs = Math.abs(off);
  return `${days[d.getDay()]}, ${d.getDate()} ${months[d.getMonth()]} ${d.getFullYear()} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())} ${sign}${pad(Math.floor(abs / 60))}${pad(abs % 60)}`;
}
