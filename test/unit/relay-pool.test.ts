import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { ClientPool } from '../../src/relay/pool.js';
import { DownstreamError, type ClientOptions } from '../../src/relay/smtp-client.js';

/** A downstream that greets, answers EHLO and QUIT, and counts the connections it was given. */
let server: net.Server;
let port = 0;
let connections = 0;
let open = 0;
let mostOpen = 0;

before(async () => {
  server = net.createServer((socket) => {
    connections++;
    mostOpen = Math.max(mostOpen, ++open);
    socket.once('close', () => open--);
    socket.on('error', () => undefined);
    socket.write('220 sink ESMTP\r\n');
    let buffered = '';
    socket.on('data', (chunk) => {
      buffered += chunk.toString('latin1');
      let i: number;
      while ((i = buffered.indexOf('\r\n')) >= 0) {
        const line = buffered.slice(0, i).toUpperCase();
        buffered = buffered.slice(i + 2);
        if (line.startsWith('EHLO')) socket.write('250-sink\r\n250 PIPELINING\r\n');
        else if (line === 'QUIT') socket.end('221 bye\r\n');
        else socket.write('250 ok\r\n');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as net.AddressInfo).port;
});
after(() => new Promise<void>((resolve) => server.close(() => resolve())));

const options = (connectTimeout = 2000): ClientOptions => ({ host: '127.0.0.1', port, connectTimeout, replyTimeout: 2000, heloName: 'bp.test' });
const settle = () => new Promise((r) => setTimeout(r, 50));

test('at the cap the health probe still gets a connection at once instead of waiting behind deliveries', async () => {
  connections = 0;
  const pool = new ClientPool(options(10_000), 1, 30_000, 2);
  const [a, b] = await Promise.all([pool.acquire(), pool.acquire()]);
  const probe = await Promise.race([pool.acquire({ pastCap: true }), new Promise<null>((r) => setTimeout(() => r(null), 2000))]);
  assert.ok(probe, 'the probe is not queued until the connect timeout');
  assert.equal(connections, 3);
  for (const c of [a, b, probe]) pool.release(c);
  pool.close();
  await settle();
});

test('at the cap a delivery waits for the next connection given back, instead of opening one more', async () => {
  connections = 0;
  mostOpen = 0;
  const pool = new ClientPool(options(), 1, 30_000, 2);
  const [a, b] = await Promise.all([pool.acquire(), pool.acquire()]);
  let third: unknown = null;
  const waiting = pool.acquire().then((c) => (third = c));
  await settle();
  assert.equal(third, null, 'no third connection while two are busy');
  assert.equal(pool.openCount, 2);
  pool.release(a);
  await waiting;
  assert.equal(third, a, 'the waiting delivery takes the connection given back');
  pool.release(b);
  pool.release(a);
  pool.close();
  await settle();
  assert.equal(connections, 2);
  assert.equal(mostOpen, 2);
  assert.equal(pool.openCount, 0);
});

test('a connection that ends while others wait makes room for a new one', async () => {
  connections = 0;
  const pool = new ClientPool(options(), 1, 30_000, 1);
  const a = await pool.acquire();
  const waiting = pool.acquire();
  pool.discard(a);
  const b = await waiting;
  assert.notEqual(b, a);
  assert.ok(b.isOpen);
  assert.equal(connections, 2);
  pool.discard(b);
  pool.close();
  await settle();
  assert.equal(pool.openCount, 0);
});

test('a delivery waits no longer than the connect timeout for a free connection', async () => {
  const pool = new ClientPool(options(200), 1, 30_000, 1);
  const a = await pool.acquire();
  const started = Date.now();
  await assert.rejects(pool.acquire(), (err: unknown) => err instanceof DownstreamError && err.kind === 'timeout');
  assert.ok(Date.now() - started < 1500);
  pool.release(a);
  pool.close();
});

test('without a cap (0) every delivery that finds no idle connection opens its own', async () => {
  connections = 0;
  const pool = new ClientPool(options(), 1, 30_000, 0);
  const clients = await Promise.all([pool.acquire(), pool.acquire(), pool.acquire()]);
  assert.equal(connections, 3);
  for (const c of clients) pool.release(c);
  await settle();
  // One is kept idle (pool_size), the others said QUIT.
  assert.equal(pool.idleCount, 1);
  pool.close();
  await settle();
  assert.equal(pool.openCount, 0);
});

test('a delivery still waiting when the pool closes gets a connection of its own, as without a cap', async () => {
  const pool = new ClientPool(options(), 1, 30_000, 1);
  const a = await pool.acquire();
  const waiting = pool.acquire();
  pool.close();
  const b = await waiting;
  assert.notEqual(b, a);
  assert.ok(b.isOpen);
  pool.release(a);
  pool.release(b);
  await settle();
  assert.equal(pool.openCount, 0);
});
