import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseProxyHeader, ProxyHeaderError } from '../../src/smtp/proxy-protocol.js';

const SIG = [0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a];

test('PROXY v1 TCP4 and TCP6 give the source address and port', () => {
  const r = parseProxyHeader(Buffer.from('PROXY TCP4 127.0.0.9 127.0.0.1 5000 25\r\nEHLO x\r\n'));
  assert.deepEqual(r, { done: true, address: { remoteAddress: '127.0.0.9', remotePort: 5000 }, consumed: 40 });
  const r6 = parseProxyHeader(Buffer.from('PROXY TCP6 ::1 ::1 6000 25\r\n'));
  assert.ok(r6.done && r6.address?.remoteAddress === '::1' && r6.address.remotePort === 6000);
});

test('PROXY v1 UNKNOWN keeps the socket address; partial headers wait for more', () => {
  assert.deepEqual(parseProxyHeader(Buffer.from('PROXY UNKNOWN\r\n')), { done: true, address: null, consumed: 15 });
  assert.deepEqual(parseProxyHeader(Buffer.from('PROXY TCP4 127.0')), { done: false });
});

test('PROXY v2 PROXY/TCP4, TCP6 and LOCAL', () => {
  const v4 = Buffer.from([...SIG, 0x21, 0x11, 0, 12, 127, 0, 0, 7, 127, 0, 0, 1, 0x13, 0x88, 0, 25]);
  assert.deepEqual(parseProxyHeader(v4), { done: true, address: { remoteAddress: '127.0.0.7', remotePort: 5000 }, consumed: 28 });
  const src6 = [...Array(15).fill(0), 1];
  const v6 = Buffer.from([...SIG, 0x21, 0x21, 0, 36, ...src6, ...src6, 0x17, 0x70, 0, 25]);
  const r6 = parseProxyHeader(v6);
  assert.ok(r6.done && r6.address?.remoteAddress === '0:0:0:0:0:0:0:1' && r6.address.remotePort === 6000);
  const local = Buffer.from([...SIG, 0x20, 0x00, 0, 0]);
  assert.deepEqual(parseProxyHeader(local), { done: true, address: null, consumed: 16 });
  assert.deepEqual(parseProxyHeader(v4.subarray(0, 20)), { done: false });
});

test('garbage, a bad v2 version and an over-long v1 line are errors', () => {
  assert.throws(() => parseProxyHeader(Buffer.from('EHLO x\r\n')), ProxyHeaderError);
  assert.throws(() => parseProxyHeader(Buffer.from('PROXY TCP4 1 2\r\n')), ProxyHeaderError);
  assert.throws(() => parseProxyHeader(Buffer.from([...SIG, 0x31, 0x11, 0, 0])), ProxyHeaderError);
  assert.throws(() => parseProxyHeader(Buffer.from('PROXY ' + 'x'.repeat(120))), ProxyHeaderError);
});
