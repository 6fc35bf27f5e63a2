import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startBorderpatrol, type TestServer } from '../helpers/borderpatrol.js';
import { openData } from './harness.js';

/**
 * A downstream that breaks the protocol must never make the client believe its message was
 * taken: a reply other than 354 to DATA that is no refusal, or a reply to the final "." that
 * is not a final 2xx/4xx/5xx, becomes 451 4.4.1 (the client tries again later).
 */

type Misbehaviour = 'data-250' | 'dot-354' | 'dot-199';

/** A small SMTP server on loopback that answers like Postfix except for one reply. */
function fakeDownstream(mode: () => Misbehaviour): Promise<{ port: number; close: () => Promise<void>; delivered: () => number }> {
  let delivered = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let inData = false;
    let buffer = '';
    socket.write('220 fake.test ESMTP\r\n');
    socket.on('data', (d) => {
      buffer += d.toString('latin1');
      for (;;) {
        if (inData) {
          const end = buffer.indexOf('\r\n.\r\n');
          if (end < 0) return;
          buffer = buffer.slice(end + 5);
          inData = false;
          const m = mode();
          socket.write(m === 'dot-354' ? '354 go on\r\n' : m === 'dot-199' ? '199 maybe\r\n' : '250 2.0.0 Ok: queued as FAKE\r\n');
          if (m !== 'dot-354' && m !== 'dot-199') delivered++;
          continue;
        }
        const nl = buffer.indexOf('\r\n');
        if (nl < 0) return;
        const line = buffer.slice(0, nl).toUpperCase();
        buffer = buffer.slice(nl + 2);
        if (line.startsWith('EHLO')) socket.write('250-fake.test\r\n250 8BITMIME\r\n');
        else if (line.startsWith('DATA')) {
          const m = mode();
          if (m === 'data-250') socket.write('250 2.0.0 Ok\r\n');
          else {
            socket.write('354 End data with <CR><LF>.<CR><LF>\r\n');
            inData = true;
          }
        } else if (line.startsWith('QUIT')) socket.end('221 2.0.0 Bye\r\n');
        else socket.write('250 2.0.0 Ok\r\n');
      }
    });
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      resolve({
        port,
        delivered: () => delivered,
        close: () =>
          new Promise((r) => {
            for (const s of sockets) s.destroy();
            server.close(() => r());
          }),
      });
    });
  });
}

describe('a downstream that breaks the protocol', () => {
  let mode: Misbehaviour = 'data-250';
  let fake: Awaited<ReturnType<typeof fakeDownstream>>;
  let bp: TestServer;

  before(async () => {
    fake = await fakeDownstream(() => mode);
    bp = await startBorderpatrol({ relayPort: fake.port, set: { 'recipient_verification.mode': 'none', 'smtp.greet_delay': '0' } });
  });

  after(async () => {
    await bp?.stop();
    await fake?.close();
  });

  for (const m of ['data-250', 'dot-354', 'dot-199'] as const) {
    test(`${m}: the client gets 451 4.4.1, never a 250 for a message nobody took`, async () => {
      mode = m;
      const c = await openData(bp.port);
      c.write(`Subject: ${m}\r\nMessage-ID: <${m}@origin.test>\r\n\r\nhello\r\n.\r\n`);
      const r = await c.reply(20_000);
      c.close();
      assert.equal(r.code, 451, r.text);
      assert.match(r.text, /^451 4\.4\.1 /);
    });
  }
});
