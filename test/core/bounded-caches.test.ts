import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { loadPolicy } from '../../src/policy/load.js';
import { DnsClient } from '../../src/net/dns.js';
import { Relay } from '../../src/relay/relay.js';
import { TestDnsServer } from '../helpers/dns-server.js';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.js';

/**
 * The caches strangers can fill (DNS answers for names in their mail, recipient answers
 * for the addresses they try) hold no more than their policy size, however much traffic.
 */

const POLICIES = path.resolve(import.meta.dirname, '..', '..', 'policies');

describe('DNS cache bounded by dns.cache_size', () => {
  let dns: TestDnsServer;
  before(async () => {
    dns = await TestDnsServer.start({ 'known.test': { A: ['192.0.2.1'] } });
  });
  after(() => dns.close());

  test('200 distinct names leave at most cache_size answers, and a cached name is not asked again', async () => {
    const client = new DnsClient({ servers: [dns.server], timeout: 1500, cache_ttl: 60, cache_size: 20 });
    for (let i = 0; i < 200; i++) {
      await client.resolve4(`n${i}.stranger.test`).catch(() => undefined);
      assert.ok(client.cachedAnswers <= 20, `after ${i + 1} names: ${client.cachedAnswers} cached`);
    }
    assert.deepEqual(await client.resolve4('known.test'), ['192.0.2.1']);
    assert.deepEqual(await client.resolve4('known.test'), ['192.0.2.1']);
    assert.equal(dns.count('known.test'), 1);
  });

  test('cache_size 0 caches nothing', async () => {
    const client = new DnsClient({ servers: [dns.server], timeout: 1500, cache_ttl: 60, cache_size: 0 });
    const before = dns.count('known.test');
    await client.resolve4('known.test');
    await client.resolve4('known.test');
    assert.equal(client.cachedAnswers, 0);
    assert.equal(dns.count('known.test') - before, 2);
  });
});

describe('recipient verification cache bounded by recipient_verification.cache_size', () => {
  let sink: SmtpSink;
  before(async () => {
    sink = await startSmtpSink();
  });
  after(() => sink.stop());

  test('a dictionary of 60 recipients leaves at most cache_size answers', async () => {
    const { compiled } = await loadPolicy(POLICIES, {
      overrides: [
        { key: 'relay.host', value: '127.0.0.1' },
        { key: 'relay.port', value: String(sink.port) },
        { key: 'recipient_verification.cache_size', value: '8' },
      ],
    });
    const relay = new Relay(compiled);
    try {
      for (let i = 0; i < 60; i++) {
        const answer = await relay.verifyRecipient(`user${i}@example.com`, compiled);
        assert.equal(answer.ok, true);
        assert.ok(relay.cachedRecipients <= 8, `after ${i + 1} recipients: ${relay.cachedRecipients} cached`);
      }
      assert.equal(relay.cachedRecipients, 8);
    } finally {
      relay.close();
    }
  });
});
