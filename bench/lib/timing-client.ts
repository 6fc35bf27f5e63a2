import { Conversation } from './conversation.js';

/**
 * A small SMTP client that times every transaction, for the latency figures. It speaks
 * like smtp-source (one command at a time, no pipelining) with the same concurrency, so
 * the same workload can be timed against smtp-sink directly and through a relay; the
 * difference of the two distributions is the latency the relay adds.
 *
 * Timed per message: from sending MAIL FROM to reading the reply to the final "."
 * (`txMs`). With a new connection per message the wait for the greeting (smtp-server
 * holds it back 100 ms by default) is timed on its own (`greetMs`).
 */

export interface TimingRun {
  port: number;
  sessions: number;
  messages: number;
  keepConnection: boolean;
  /** Dot-stuffed message with CRLF line ends, without the final ".". */
  message: Buffer;
  deadlineMs: number;
}

export interface TimingResult {
  txMs: number[];
  greetMs: number[];
  failures: number;
  firstError: string;
}

export async function runTiming(r: TimingRun): Promise<TimingResult> {
  const result: TimingResult = { txMs: [], greetMs: [], failures: 0, firstError: '' };
  const deadline = performance.now() + r.deadlineMs;
  let remaining = r.messages;
  const payload = Buffer.concat([r.message, Buffer.from('.\r\n')]);
  const fail = (err: unknown) => {
    result.failures++;
    result.firstError ||= (err as Error).message;
  };

  async function transaction(c: Conversation): Promise<void> {
    const t0 = performance.now();
    await c.expect('MAIL FROM:<sender@origin.test>\r\n', 250);
    await c.expect('RCPT TO:<user@example.com>\r\n', 250);
    await c.expect('DATA\r\n', 354);
    await c.expect(payload, 250);
    result.txMs.push(performance.now() - t0);
  }

  async function greet(): Promise<Conversation> {
    const t0 = performance.now();
    const c = await Conversation.open(r.port);
    await c.expect(null, 220);
    result.greetMs.push(performance.now() - t0);
    await c.expect('EHLO client.origin.test\r\n', 250);
    return c;
  }

  async function session(): Promise<void> {
    let c: Conversation | null = null;
    while (remaining > 0 && performance.now() < deadline) {
      remaining--;
      try {
        c ??= await greet();
        await transaction(c);
        if (!r.keepConnection) {
          await c.expect('QUIT\r\n', 221);
          c.close();
          c = null;
        }
      } catch (err) {
        fail(err);
        c?.close();
        c = null;
        if (result.failures > 20) return;
      }
    }
    if (c) {
      await c.expect('QUIT\r\n', 221).catch(() => undefined);
      c.close();
    }
  }

  await Promise.all(Array.from({ length: r.sessions }, () => session()));
  return result;
}
