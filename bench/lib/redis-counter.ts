import net from 'node:net';
import { Redis } from 'ioredis';

/** Counts the commands a Redis server processed, for "round trips per message". */
export class RedisCounter {
  private readonly client: Redis;

  constructor(port: number) {
    this.client = new Redis({ host: '127.0.0.1', port, lazyConnect: true, enableOfflineQueue: true, maxRetriesPerRequest: 1 });
  }

  /** total_commands_processed (this INFO itself is counted in the next reading). */
  async commands(): Promise<number> {
    const info = await this.client.info('stats');
    const m = /total_commands_processed:(\d+)/.exec(info);
    return m ? Number(m[1]) : NaN;
  }

  /** Commands processed between two readings, not counting the first reading's INFO. */
  static delta(before: number, after: number): number {
    return after - before - 1;
  }

  close(): void {
    this.client.disconnect();
  }
}

/**
 * Round trips between the clients and Redis while `work` runs, counted with MONITOR: every
 * command a client sent is one line; commands a Lua script ran inside Redis are marked
 * "lua" and are not round trips. MONITOR slows Redis down, so this runs on a small sample
 * apart from the throughput runs. `work` returns how many messages it sent.
 */
export async function redisRoundTrips(port: number, work: () => Promise<number>): Promise<number> {
  const socket = net.connect({ host: '127.0.0.1', port });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  let buffer = '';
  let commands = 0;
  let own = '';
  socket.on('data', (d: Buffer) => {
    buffer += d.toString('latin1');
    let nl: number;
    while ((nl = buffer.indexOf('\r\n')) >= 0) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 2);
      const source = /^\+\d+\.\d+ \[\d+ ([^\]]+)\]/.exec(line)?.[1];
      if (!source || source === 'lua' || source === own) continue;
      commands++;
    }
  });
  socket.write('*1\r\n$7\r\nMONITOR\r\n');
  await new Promise((r) => setTimeout(r, 100));
  own = `127.0.0.1:${socket.localPort}`;
  commands = 0;
  const messages = await work();
  await new Promise((r) => setTimeout(r, 300));
  socket.destroy();
  return messages > 0 ? commands / messages : NaN;
}
