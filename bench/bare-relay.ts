/**
 * The baseline the benchmark measures Borderpatrol against: the least a relay built from
 * the same two libraries can do. smtp-server takes the message, a nodemailer pool hands it
 * downstream, and the client hears the downstream's answer — no checks, no parsing, no
 * header stamping, no recipient verification, no logging.
 *
 * Usage: tsx bench/bare-relay.ts LISTEN_PORT RELAY_PORT [POOL_SIZE]
 * Prints "listening PORT" on stdout once it accepts connections; SIGTERM stops it.
 */
import { SMTPServer } from 'smtp-server';
import nodemailer from 'nodemailer';

const [listenArg = '0', relayArg, poolArg = '16'] = process.argv.slice(2);
if (!relayArg) {
  process.stderr.write('usage: bare-relay.ts LISTEN_PORT RELAY_PORT [POOL_SIZE]\n');
  process.exit(2);
}

const transport = nodemailer.createTransport({
  pool: true,
  host: '127.0.0.1',
  port: Number(relayArg),
  secure: false,
  ignoreTLS: true,
  // As many downstream connections as Borderpatrol keeps pooled, each reused without limit.
  maxConnections: Number(poolArg),
  maxMessages: Infinity,
});

const server = new SMTPServer({
  name: 'bare-relay.test',
  authOptional: true,
  disabledCommands: ['AUTH', 'STARTTLS'],
  // Like Borderpatrol, no reverse lookups of loopback clients.
  disableReverseLookup: true,
  maxAllowedUnauthenticatedCommands: false,
  maxClients: 2000,
  logger: false,
  onData(stream, session, callback) {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.once('end', () => {
      const from = session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
      transport.sendMail({ envelope: { from, to: session.envelope.rcptTo.map((r) => r.address) }, raw: Buffer.concat(chunks) }).then(
        (info) => callback(null, info.response),
        (err: Error & { responseCode?: number }) => {
          const e = new Error(err.message) as Error & { responseCode: number };
          e.responseCode = err.responseCode && err.responseCode >= 400 ? err.responseCode : 451;
          callback(e);
        },
      );
    });
  },
});

server.listen(Number(listenArg), '127.0.0.1', () => {
  const addr = server.server.address();
  process.stdout.write(`listening ${typeof addr === 'object' && addr ? addr.port : listenArg}\n`);
});

process.once('SIGTERM', () => {
  transport.close();
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 1000).unref();
});
