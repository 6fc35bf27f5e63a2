import net from 'node:net';
import type { SMTPServer } from 'smtp-server';
import { BorderConnection, connectionPacing } from './connection.js';
import { readProxyHeader } from './proxy-protocol.js';
import { formatReply, Replies, type SmtpReply } from '../decision/replies.js';
import type { CompiledPolicy } from '../policy/compiled.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { unmapIpv4 } from '../net/ip.js';
import { listenOn } from '../net/listen.js';
import { newId } from '../pipeline/transaction.js';
import type { MessageMemory } from '../pipeline/message-memory.js';
import { isFilterMode } from '../policy/mode.js';

/**
 * The listening socket in front of smtp-server. It owns what must happen before an SMTP
 * session exists: the PROXY header (v1 and v2, from trusted balancers only), the cap on
 * concurrent clients and on connections per IP (answered 421 4.7.0 with our own text),
 * and the list of open sockets for a graceful shutdown.
 */
export class SmtpListener {
  readonly server: net.Server;
  private readonly perIp = new Map<string, number>();
  private open = 0;
  private accepting = true;

  constructor(
    private readonly smtp: SMTPServer,
    private readonly policy: () => CompiledPolicy,
    private readonly log: Logger,
    private readonly metrics: Metrics,
    private readonly memory: MessageMemory,
  ) {
    this.server = net.createServer({ pauseOnConnect: true }, (socket) => void this.accept(socket));
    this.server.on('error', (err) => this.log.error({ event: 'listener_error', err: err.message }, 'listener error'));
  }

  get connectionCount(): number {
    return this.open;
  }

  private refuse(socket: net.Socket, r: SmtpReply, reason: string): void {
    this.metrics.connectionsRefused.inc({ reason });
    socket.on('error', () => undefined);
    socket.end(formatReply(r) + '\r\n');
    setTimeout(() => socket.destroy(), 1000).unref();
  }

  private async accept(socket: net.Socket): Promise<void> {
    const p = this.policy();
    const limits = p.policy.limits;
    if (!this.accepting) return this.refuse(socket, Replies.shuttingDown(), 'shutdown');
    if (this.open >= limits.max_clients) return this.refuse(socket, Replies.tooManyConnections(), 'max_clients');
    let remoteAddress = unmapIpv4(socket.remoteAddress ?? '');
    let remotePort = socket.remotePort ?? 0;
    // Counted from here, so a slow PROXY header also counts against the limits.
    this.open++;
    let counted = remoteAddress;
    this.perIp.set(counted, (this.perIp.get(counted) ?? 0) + 1);
    socket.once('close', () => {
      this.open--;
      const n = (this.perIp.get(counted) ?? 1) - 1;
      if (n <= 0) this.perIp.delete(counted);
      else this.perIp.set(counted, n);
    });
    socket.on('error', (err) => this.log.debug({ event: 'socket_error', ip: remoteAddress, err: err.message }, 'socket error'));

    if (p.policy.proxy_protocol.enabled && p.proxyTrusted.has(remoteAddress)) {
      socket.resume();
      try {
        const proxied = await readProxyHeader(socket, p.policy.proxy_protocol.timeout * 1000);
        if (proxied) {
          remoteAddress = unmapIpv4(proxied.remoteAddress);
          remotePort = proxied.remotePort;
          this.moveCount(counted, remoteAddress);
          counted = remoteAddress;
        }
      } catch (err) {
        this.log.warn({ event: 'proxy_header_error', peer: socket.remoteAddress, err: (err as Error).message }, 'bad PROXY header');
        this.metrics.connectionsRefused.inc({ reason: 'proxy_header' });
        socket.destroy();
        return;
      }
    }
    const xforwardAllowed = p.xforwardHosts.has(remoteAddress);
    // Behind Postfix every connection comes from Postfix: only it may hand mail over (our
    // relay target trusts us to relay anywhere), and the per-IP cap would only cap Postfix.
    const filter = isFilterMode(p.policy);
    if (filter && !xforwardAllowed) return this.refuse(socket, Replies.filterPeerDenied(), 'not_xforward_host');
    if (!filter && (this.perIp.get(counted) ?? 0) > limits.max_connections_per_ip && !p.trustedNetworks.has(remoteAddress)) {
      return this.refuse(socket, Replies.tooManyConnectionsFromIp(), 'max_connections_per_ip');
    }
    this.metrics.connections.inc();
    const connection = new BorderConnection(this.smtp, socket, { id: newId(), remoteAddress, remotePort });
    connection.xforwardAllowed = xforwardAllowed;
    connection.pacing = connectionPacing(p.policy);
    connection.memory = this.memory;
    this.smtp.connections.add(connection);
    connection.on('error', (err: Error) => this.log.debug({ event: 'smtp_error', ip: remoteAddress, err: err.message }, 'connection error'));
    connection.on('early_talker', () => {
      this.metrics.connectionsRefused.inc({ reason: 'early_talker' });
      this.log.info({ event: 'early_talker', conn: connection.id, ip: remoteAddress }, 'client talked before the greeting: 421');
    });
    connection.on('too_slow', (phase: string) => this.log.info({ event: 'too_slow', conn: connection.id, ip: remoteAddress, phase }, 'client sends too slowly: 421'));
    connection.on('too_many_junk_commands', () => this.log.info({ event: 'junk_commands', conn: connection.id, ip: remoteAddress }, 'too many NOOP/RSET/VRFY commands: 421'));
    connection.on('too_many_errors', () => this.log.info({ event: 'too_many_errors', conn: connection.id, ip: remoteAddress }, 'too many error replies: 421'));
    connection.init();
    socket.resume();
  }

  private moveCount(from: string, to: string): void {
    const n = (this.perIp.get(from) ?? 1) - 1;
    if (n <= 0) this.perIp.delete(from);
    else this.perIp.set(from, n);
    this.perIp.set(to, (this.perIp.get(to) ?? 0) + 1);
  }

  listen(host: string, port: number): Promise<net.AddressInfo> {
    return listenOn(this.server, host, port, 1024);
  }

  /** Stop accepting; open connections are left to the SMTP layer to finish. */
  stopAccepting(): Promise<void> {
    this.accepting = false;
    // close() stops the listener at once; its callback would wait for every open socket.
    this.server.close();
    return Promise.resolve();
  }
}
