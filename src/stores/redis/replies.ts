import type { ReplyPart } from '../types.js';
import type { RedisClient } from './client.js';

type Run = <T>(operation: string, fn: () => Promise<T>) => Promise<T>;

/**
 * Message-IDs our users sent: one key per id, P rp:ID, expiring by itself. Each id is its
 * own key (its own Cluster slot), so the commands go out side by side, not as one script.
 */
export class RedisReplies implements ReplyPart {
  constructor(
    private readonly client: RedisClient,
    private readonly prefix: string,
    private readonly run: Run,
  ) {}

  private key(id: string): string {
    return `${this.prefix}rp:${id}`;
  }

  async replyRemember(ids: readonly string[], ttlSeconds: number): Promise<void> {
    await this.run('reply_remember', () => Promise.all(ids.map((id) => this.client.set(this.key(id), '1', 'EX', Math.max(1, Math.round(ttlSeconds))))));
  }

  async replyKnown(ids: readonly string[]): Promise<boolean[]> {
    return this.run('reply_known', () => Promise.all(ids.map(async (id) => (await this.client.exists(this.key(id))) === 1)));
  }
}
