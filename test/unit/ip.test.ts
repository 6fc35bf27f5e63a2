import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CidrSet, networkOf, parseIp } from '../../src/net/ip.js';
import { isIpOrCidr } from '../../src/net/schema.js';

test('CIDR sets match IPv4, IPv6 and IPv4-mapped addresses', () => {
  const s = new CidrSet(['192.0.2.0/24', '2001:db8::/32', '198.51.100.7']);
  assert.ok(s.has('192.0.2.200'));
  assert.ok(s.has('::ffff:192.0.2.1'));
  assert.ok(s.has('2001:db8:1::5'));
  assert.ok(s.has('198.51.100.7'));
  assert.ok(!s.has('198.51.100.8'));
  assert.ok(!s.has('2001:db9::1'));
  assert.ok(!s.has('not an ip'));
});

test('networks for greylisting: /24 and /64', () => {
  assert.equal(networkOf('192.0.2.77'), '192.0.2.0/24');
  assert.equal(networkOf('2001:db8:1:2:3:4:5:6'), '2001:db8:1:2:0:0:0:0/64');
  assert.equal(parseIp('::1')?.value, 1n);
  // IPv4 values use all 32 bits, the top one too.
  assert.deepEqual(parseIp('255.255.255.254'), { family: 4, value: 4294967294n });
  assert.deepEqual(parseIp('::ffff:192.0.2.1'), { family: 4, value: 3221225985n });
  assert.ok(new CidrSet(['128.0.0.0/1']).has('255.1.2.3'));
  assert.ok(!new CidrSet(['128.0.0.0/1']).has('127.1.2.3'));
});

test('IP/CIDR validation for list entries', () => {
  for (const ok of ['10.0.0.0/8', '::1', '2001:db8::/128', '1.2.3.4']) assert.ok(isIpOrCidr(ok), ok);
  for (const bad of ['10.0.0.0/33', '1.2.3', '::1/129', 'host', '1.2.3.4/8/9']) assert.ok(!isIpOrCidr(bad), bad);
});
