import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startPostfix, type PostfixInstance } from '../helpers/postfix.js';
import { startBorderpatrol, type TestServer } from '../helpers/borderpatrol.js';
import { RawSmtp } from '../helpers/raw-smtp.js';

async function openTransaction(port: number, rcpt = 'user@example.com', mailArgs = ''): Promise<RawSmtp> {
  const c = await RawSmtp.connect(port);
  await c.hello();
  assert.equal((await c.command(`MAIL FROM:<sender@origin.test>${mailArgs}`)).code, 250);
  assert.equal((await c.command(`RCPT TO:<${rcpt}>`)).code, 250);
  return c;
}

async function sendData(c: RawSmtp, data: string): Promise<{ code: number; text: string }> {
  assert.equal((await c.command('DATA')).code, 354);
  c.write(data + '\r\n.\r\n');
  return c.reply(20_000);
}

/**
 * Limits that need a socket: buffering DATA (the door reads it), idle and connection caps.
 * SIZE=, recipient count, line length and header count are Session rules, specified
 * socket-free in test/session/session.test.ts.
 */
describe('limits answer with clear codes', () => {
  let pf: PostfixInstance;
  let bp: TestServer;

  before(async () => {
    pf = await startPostfix({ users: ['user', 'u1', 'u2', 'u3', 'u4'] });
    bp = await startBorderpatrol({
      relayPort: pf.port,
      set: {
        'limits.max_message_size': '20000',
        'limits.max_recipients': '3',
        'limits.max_line_length': '1000',
        'limits.max_headers': '20',
        'limits.max_clients': '4',
        'limits.max_connections_per_ip': '3',
        'limits.idle_timeout': '1',
        // Loopback is normally trusted (exempt from the per-IP cap); not here.
        'smtp.trusted_networks': '',
      },
    });
  });

  after(async () => {
    await bp?.stop();
    await pf?.stop();
  });

  test('a body over the limit is refused at end of data with 552 5.3.4', async () => {
    const c = await openTransaction(bp.port);
    const r = await sendData(c, 'Subject: big\r\n\r\n' + ('x'.repeat(99) + '\r\n').repeat(300));
    assert.equal(r.code, 552);
    assert.match(r.text, /5\.3\.4/);
    c.close();
  });

  test('an idle client is disconnected after idle_timeout', async () => {
    const c = await RawSmtp.connect(bp.port);
    await c.hello();
    const started = Date.now();
    const r = await c.reply(5000);
    assert.equal(r.code, 421);
    assert.ok(Date.now() - started < 4000);
    assert.ok(await c.waitClosed());
  });

  test('connections past max_connections_per_ip get 421 4.7.0', async () => {
    const held: RawSmtp[] = [];
    for (let i = 0; i < 3; i++) {
      const c = await RawSmtp.connect(bp.port);
      await c.reply();
      held.push(c);
    }
    const extra = await RawSmtp.connect(bp.port);
    const r = await extra.reply();
    assert.equal(r.code, 421);
    assert.match(r.text, /4\.7\.0/);
    assert.ok(await extra.waitClosed());
    for (const c of held) c.close();
  });

  test('connections past max_clients get 421 4.7.0, from any address', async () => {
    // Different loopback source addresses, so the per-IP cap is not what answers.
    const held: net.Socket[] = [];
    for (let i = 0; i < 4; i++) {
      held.push(
        await new Promise<net.Socket>((resolve, reject) => {
          const s = net.connect({ host: '127.0.0.1', port: bp.port, localAddress: `127.0.0.${10 + i}` });
          s.once('connect', () => resolve(s));
          s.once('error', reject);
        }),
      );
    }
    await new Promise((r) => setTimeout(r, 100));
    const extra = await new Promise<string>((resolve, reject) => {
      const s = net.connect({ host: '127.0.0.1', port: bp.port, localAddress: '127.0.0.20' });
      let data = '';
      s.on('data', (d) => (data += d.toString()));
      s.on('close', () => resolve(data));
      s.on('error', reject);
    });
    assert.match(extra, /^421 4\.7\.0 /);
    for (const s of held) s.destroy();
  });
});
