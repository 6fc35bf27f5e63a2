import { RawSmtp } from '../helpers/raw-smtp.js';
import { startBorderpatrol, type TestServer } from '../helpers/borderpatrol.js';

/**
 * What the shared-state tests have in common: a Borderpatrol that treats loopback clients
 * as strangers (so greylisting and rate limits apply to the test client), checks no
 * recipients and does no DNS, relaying to a sink.
 */
export function startMx(relayPort: number, set: Record<string, string> = {}, files: Record<string, string> = {}, policiesDir?: string): Promise<TestServer> {
  return startBorderpatrol({
    relayPort,
    set: {
      'recipient_verification.mode': 'none',
      'smtp.trusted_networks': '',
      offline: 'true',
      ...set,
    },
    files,
    ...(policiesDir ? { policiesDir } : {}),
  });
}

export interface Attempt {
  greeting: string;
  mail?: string;
  rcpts: string[];
  /** The reply to the final "." (absent when no recipient was accepted). */
  end?: string;
  /** Milliseconds the whole session took. */
  ms: number;
}

/** One SMTP session with one message; each reply as "CODE TEXT". */
export async function attempt(port: number, o: { from?: string; rcpts?: string[]; messageId?: string; body?: string; localAddress?: string } = {}): Promise<Attempt> {
  const started = Date.now();
  const c = await RawSmtp.connect(port, '127.0.0.1', o.localAddress);
  const out: Attempt = { greeting: '', rcpts: [], ms: 0 };
  try {
    const greeting = await c.reply();
    out.greeting = greeting.text;
    if (greeting.code !== 220) return out;
    await c.command('EHLO client.test');
    out.mail = (await c.command(`MAIL FROM:<${o.from ?? 'sender@origin.test'}>`)).text;
    if (!out.mail.startsWith('250')) return out;
    for (const r of o.rcpts ?? ['user@example.com']) out.rcpts.push((await c.command(`RCPT TO:<${r}>`)).text);
    if (!out.rcpts.some((r) => r.startsWith('250'))) return out;
    await c.command('DATA');
    c.write(`From: <${o.from ?? 'sender@origin.test'}>\r\nTo: <user@example.com>\r\nSubject: test\r\nMessage-ID: <${o.messageId ?? `${Math.random().toString(36).slice(2)}@origin.test`}>\r\n\r\n${o.body ?? 'Hello.'}\r\n.\r\n`);
    out.end = (await c.reply(15_000)).text;
    await c.command('QUIT').catch(() => undefined);
    return out;
  } finally {
    c.close();
    out.ms = Date.now() - started;
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
