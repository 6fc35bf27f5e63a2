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
