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
