import { DownstreamError, SmtpClient, type ClientOptions } from './smtp-client.js';

interface Waiter {
  resolve: (client: SmtpClient) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

/**
 * Connections to Postfix, kept for reuse so a message does not pay for a TCP connect,
 * greeting and EHLO (and a QUIT after). A connection is only returned to the pool after a
 * transaction ended cleanly (250 after "." or RSET), so a pooled connection is always
 * between transactions.
 *
 * At most `maxOpen` connections are open at once (0: no cap). Without a cap, a burst of
 * messages ending together opened one connection each, only to close all but `maxIdle` of
 * them moments later: a connect, greeting, EHLO and QUIT per message, for Postfix too, and
 * more Postfix smtpd processes than it may have. At the cap a delivery waits for the next
 * connection a transaction gives back, up to the connect timeout (what opening one may take).
 */
export class ClientPool {
  private readonly idle: Array<{ client: SmtpClient; timer: NodeJS.Timeout }> = [];
  private readonly waiters: Waiter[] = [];
  /** Connections opening or open (busy, idle or saying QUIT), until their socket closes. */
  private open = 0;
  private closing = false;

  constructor(
    private options: ClientOptions,
    private maxIdle: number,
    private idleMs: number,
    private maxOpen = 0,
  ) {}

  /** A new policy can move the target: connections to the old one are dropped. */
  reconfigure(options: ClientOptions, maxIdle: number, idleMs: number, maxOpen = 0): void {
    const moved = options.host !== this.options.host || options.port !== this.options.port || options.heloName !== this.options.heloName;
    this.options = options;
    this.maxIdle = maxIdle;
    this.idleMs = idleMs;
    this.maxOpen = maxOpen;
    if (moved) this.drain();
    this.admitWaiters();
  }

  /**
   * A connection between transactions. `pastCap`: open one even at the cap rather than wait
   * (the health probe: busy deliveries say nothing about whether Postfix answers a new one).
   */
  acquire(o: { pastCap?: boolean } = {}): Promise<SmtpClient> {
    while (this.idle.length > 0) {
      const entry = this.idle.pop();
      if (!entry) break;
      clearTimeout(entry.timer);
      if (entry.client.isOpen) return Promise.resolve(entry.client);
    }
    if (o.pastCap || this.hasRoom()) return this.openNew();
    return new Promise<SmtpClient>((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        reject,
        timer: setTimeout(() => {
          const i = this.waiters.indexOf(waiter);
          if (i >= 0) this.waiters.splice(i, 1);
          reject(new DownstreamError('timeout', `no connection to ${this.options.host}:${this.options.port} free within ${this.options.connectTimeout} ms (${this.maxOpen} busy)`));
        }, this.options.connectTimeout),
      };
      this.waiters.push(waiter);
    });
  }

  release(client: SmtpClient): void {
    if (this.closing || !client.isOpen) {
      void client.quit();
      return;
    }
    // A delivery waiting for a connection takes this one as it is: no idle round.
    const waiter = this.waiters.shift();
    if (waiter) {
      clearTimeout(waiter.timer);
      waiter.resolve(client);
      return;
    }
    if (this.idle.length >= this.maxIdle) {
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
    this.idle.push(entry);
  }

  /** Discard a connection whose state is unknown (error, timeout). */
  discard(client: SmtpClient): void {
    client.destroy();
  }

  get idleCount(): number {
    return this.idle.length;
  }

  /** Connections open now, busy or idle. */
  get openCount(): number {
    return this.open;
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
    this.admitWaiters();
  }

  /**
   * Shutting down, nothing is kept for reuse, so nothing is capped either: a delivery still
   * finishing past the grace period gets a connection of its own, as it would without a cap.
   */
  private hasRoom(): boolean {
    return this.closing || this.maxOpen <= 0 || this.open < this.maxOpen;
  }

  private async openNew(): Promise<SmtpClient> {
    this.open++;
    const client = new SmtpClient(this.options);
    // Every socket closes once, a failed connect too: the count follows the sockets. One
    // listener per connection, not one per use: a connection reused for a million messages
    // must not collect a million listeners. A pooled connection that Postfix closes (its own
    // timeout) leaves the pool at once.
    client.onceClosed(() => {
      const i = this.idle.findIndex((e) => e.client === client);
      if (i >= 0) {
        clearTimeout(this.idle[i]?.timer);
        this.idle.splice(i, 1);
      }
      this.open--;
      this.admitWaiters();
    });
    await client.open();
    return client;
  }

  /** Room freed (a connection closed, a higher cap): waiting deliveries open their own. */
  private admitWaiters(): void {
    while (this.waiters.length > 0 && this.hasRoom()) {
      const w = this.waiters.shift() as Waiter;
      clearTimeout(w.timer);
      this.openNew().then(w.resolve, w.reject);
    }
  }
}
