import { Conversation } from './conversation.js';
import { peakRssMb, resetPeak, rssMb } from './procs.js';

/** Memory of a server process tree while it holds many clients. */

export interface IdleResult {
  connections: number;
  rssMb: number;
  peakMb: number;
}

/** Open `n` connections (in batches), wait for every greeting, read the server's RSS, close. */
export async function idleConnections(port: number, pid: number, n: number): Promise<IdleResult> {
  const open: Conversation[] = [];
  resetPeak(pid);
  try {
    for (let i = 0; i < n; i += 100) {
      const batch = await Promise.allSettled(
        Array.from({ length: Math.min(100, n - i) }, async () => {
          const c = await Conversation.open(port);
          open.push(c);
          await c.expect(null, 220);
          return c;
        }),
      );
      if (batch.some((b) => b.status === 'rejected')) break;
    }
    const greeted = open.length;
    // Let the allocator settle, then read.
    await new Promise((r) => setTimeout(r, 500));
    return { connections: greeted, rssMb: rssMb(pid), peakMb: peakRssMb(pid) };
  } finally {
    for (const c of open) c.close();
    await new Promise((r) => setTimeout(r, 500));
  }
}

export interface ConcurrentResult {
  transactions: number;
  accepted: number;
  peakMb: number;
}

/**
 * `n` clients reach DATA, then all send their message at the same moment; repeated for
 * `rounds`. Reports the server's peak RSS over the whole exercise.
 */
export async function concurrentTransactions(port: number, pid: number, n: number, message: Buffer, rounds: number): Promise<ConcurrentResult> {
  resetPeak(pid);
  let accepted = 0;
  const payload = Buffer.concat([message, Buffer.from('.\r\n')]);
  for (let round = 0; round < rounds; round++) {
    const conversations: Conversation[] = [];
    try {
      const ready = await Promise.allSettled(
        Array.from({ length: n }, async () => {
          const c = await Conversation.open(port);
          conversations.push(c);
          await c.expect(null, 220);
          await c.expect('EHLO client.origin.test\r\n', 250);
          await c.expect('MAIL FROM:<sender@origin.test>\r\n', 250);
          await c.expect('RCPT TO:<user@example.com>\r\n', 250);
          await c.expect('DATA\r\n', 354);
          return c;
        }),
      );
      const inData = ready.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
      const results = await Promise.allSettled(inData.map((c) => c.expect(payload, 250)));
      accepted += results.filter((r) => r.status === 'fulfilled').length;
    } finally {
      for (const c of conversations) c.close();
    }
  }
  return { transactions: n * rounds, accepted, peakMb: peakRssMb(pid) };
}
