import net from 'node:net';
import { MilterConnection } from './connection.js';
import type { OpenSession } from '../session/types.js';
import type { CompiledPolicy } from '../policy/compiled.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { unmapIpv4 } from '../net/ip.js';
import { listenOn } from '../net/listen.js';
import { newId } from '../pipeline/transaction.js';
import type { MemoryBudget } from './message.js';

/**
 * The milter listener (mode milter). Only milter.peers may connect; at most
 * limits.max_clients connections at once. Whoever is refused, or finds us stopped, is
 * simply disconnected: Postfix then answers its client per milter_default_action.
 */
export class MilterServer {
  readonly server: net.Server;
  private readonly open = new Set<MilterConnection>();
  private accepting = true;

  constructor(
    private readonly openSession: OpenSession,
    private readonly policy: () => CompiledPolicy,
    private readonly log: Logger,
    private readonly metrics: Metrics,
    /** Message bytes in memory, one budget for the whole process (limits.max_message_memory). */
    private readonly memory: MemoryBudget | null = null,
  ) {
    this.server = net.createServer((socket) => this.accept(socket));
    this.server.on('error', (err) => this.log.error({ event: 'listener_error', err: err.message }, 'listener error'));
  }

  get connectionCount(): number {
    return this.open.size;
  }

  private accept(socket: net.Socket): void {
    const p = this.policy();
    const peer = unmapIpv4(socket.remoteAddress ?? '');
    socket.on('error', () => undefined);
    const refuse = (reason: string): void => {
      this.metrics.connectionsRefused.inc({ reason });
      this.log.info({ event: 'milter_refused', peer, reason }, 'milter connection refused');
      socket.destroy();
    };
    if (!this.accepting) return refuse('shutdown');
    if (!p.milterPeers.has(peer)) return refuse('not_milter_peer');
    if (this.open.size >= p.policy.limits.max_clients) return refuse('max_clients');
    // The Session counts it as active (its recorder); here only the accepted total.
    this.metrics.connections.inc();
    const id = newId();
    const log = this.log.child({ conn: id });
    socket.setNoDelay(true);
    const connection = new MilterConnection(socket, this.openSession, id, this.policy, log, () => {
      this.open.delete(connection);
      log.info({ event: 'milter_disconnect' }, 'milter peer disconnected');
    }, this.memory);
    this.open.add(connection);
    log.info({ event: 'milter_connect', peer, port: socket.remotePort }, 'milter peer connected');
  }

  listen(host: string, port: number): Promise<net.AddressInfo> {
    return listenOn(this.server, host, port, 1024);
  }

  /**
   * Stop: no new connections. Postfix keeps a milter connection for its whole SMTP session,
   * so connections waiting for their next packet are closed at once; one in the middle of
   * a message gets up to graceMs to answer it. Postfix answers what is left per
   * milter_default_action.
   */
  async stop(graceMs: number): Promise<void> {
    this.accepting = false;
    this.server.close();
    const deadline = Date.now() + graceMs;
    for (;;) {
      for (const c of [...this.open]) if (!c.working) c.close();
      if (this.open.size === 0 || Date.now() >= deadline) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    for (const c of [...this.open]) c.close();
  }
}
