import { SmtpClient, type ClientOptions } from './smtp-client.js';

/**
 * Idle downstream connections kept for reuse, so a message does not pay for a TCP
 * connect, greeting and EHLO to Postfix. A connection is only returned to the pool
 * after a transaction ended cleanly (250 after "." or RSET), so a pooled connection is
 * always between transactions.
 */
export class ClientPool {
  private readonly idle: Array<{ client: SmtpClient; timer: NodeJS.Timeout }> = [];
  private closing = false;
  private readonly watched = new WeakSet<SmtpClient>();

  constructor(
    private options: ClientOptions,
    private maxIdle: number,
    private idleMs: number,
  ) {}

  /** A new policy can move the target: connections to the old one are dropped. */
  reconfigure(options: ClientOptions, maxIdle: number, idleMs: number): void {
    const moved = options.host !== this.options.host || options.port !== this.options.port || options.heloName !== this.options.heloName;
    this.options = options;
    this.maxIdle = maxIdle;
    this.idleMs = idleMs;
    if (moved) this.drain();
  }

  async acquire(): Promise<SmtpClient> {
    while (this.idle.length > 0) {
      const entry = this.idle.pop();
      if (!entry) break;
      clearTimeout(entry.timer);
      if (entry.client.isOpen) return entry.client;
    }
    const client = new SmtpClient(this.options);
    await client.open();
    return client;
  }

  release(client: SmtpClient): void {
    if (this.closing || !client.isOpen || this.idle.length >= this.maxIdle) {
      void client.quit();
      return;
    }
    const entry = {
      client,
      timer: setTimeout(() => {
        const i = this.idle.indexOf(entry);
        if (i >= 0) this.idle.splice(i, 1);
        void client.quit();
      }, this.idleMs),
    };
    entry.timer.unref();
    // A pooled connection that Postfix closes (its own timeout) leaves the pool at once.
    // One listener per connection, not one per use: a connection reused for a million
    // messages must not collect a million listeners.
    if (!this.watched.has(client)) {
      this.watched.add(client);
      client.onceClosed(() => {
        const i = this.idle.findIndex((e) => e.client === client);
        if (i >= 0) {
          clearTimeout(this.idle[i]?.timer);
          this.idle.splice(i, 1);
        }
      });
    }
    this.idle.push(entry);
  }

  /** Discard a connection whose state is unknown (error, timeout). */
  discard(client: SmtpClient): void {
    client.destroy();
  }

  get idleCount(): number {
    return this.idle.length;
  }

  drain(): void {
    for (const { client, timer } of this.idle.splice(0)) {
      clearTimeout(timer);
      void client.quit();
    }
  }

  close(): void {
    this.closing = true;
    this.drain();
  }
}
