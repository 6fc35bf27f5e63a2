import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { startPostfix, type PostfixInstance } from '../helpers/postfix.js';
import { startBorderpatrol, type TestServer } from '../helpers/borderpatrol.js';
import { startRedis, type RunningRedis } from '../helpers/redis.js';
import { RawSmtp } from '../helpers/raw-smtp.js';
import { Metrics } from '../../src/observability/metrics.js';
import type { Stats } from '../../src/history/stats.js';
import { send, waitForHistory } from './helpers.js';

type Pausable = PostfixInstance & { pause: () => Promise<void> };
const PASSWORD = 'ops-secret';

/** The value of one sample in Prometheus text, or undefined when absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-z_]+)(?:\{([^}]*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[3]);
  }
  return undefined;
}

describe('operations: health, metrics and stats of a running server', () => {
  let pf: Pausable;
  let bp: TestServer;
  let redis: RunningRedis;
  const admin = (p: string, init: RequestInit = {}) => fetch(`http://127.0.0.1:${bp.adminPort}${p}`, init);
  const metrics = async () => (await admin('/metrics')).text();

  before(async () => {
    redis = await startRedis();
    pf = (await startPostfix()) as Pausable;
    bp = await startBorderpatrol({
      relayPort: pf.port,
      set: {
        'store.redis': redis.url,
        'admin.password': PASSWORD,
        'smtp.trusted_networks': '127.0.0.1',
        'limits.max_connections_per_ip': '1',
        'relay.connect_timeout': '2',
      },
      files: { 'lists/deny_senders.txt': 'spammer@origin.test\n', 'actions.yaml': 'reject: 15\n' },
    });
  });

  after(async () => {
    await bp?.stop();
    await pf?.stop();
    await redis?.stop();
  });

  test('/healthz is ready only while listening and Postfix answers', async () => {
    let res = await admin('/healthz');
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { status: 'ok', listening: true, relay: true });
    await pf.pause();
    res = await admin('/healthz');
    assert.equal(res.status, 503);
    assert.deepEqual(await res.json(), { status: 'unavailable', listening: true, relay: false });
    await pf.start();
    res = await admin('/healthz');
    assert.equal(res.status, 200);
  });

  test('the metrics move with real traffic', async () => {
    assert.equal((await send(bp.port, { id: 'ops-1', localAddress: '127.0.0.55' })).code, 0);
    const spam = await send(bp.port, { id: 'ops-2', from: 'spammer@origin.test', localAddress: '127.0.0.55' });
    assert.match(spam.out, /550 5\.7\.1/);
    const relay = await send(bp.port, { id: 'ops-3', to: 'someone@remote.test', localAddress: '127.0.0.55' });
    assert.match(relay.out, /554 5\.7\.1/);
    // The per-IP cap refuses a second connection from one client before the greeting.
    const first = await RawSmtp.connect(bp.port, '127.0.0.1', '127.0.0.77');
    await first.reply();
    const second = await RawSmtp.connect(bp.port, '127.0.0.1', '127.0.0.77');
    assert.equal((await second.reply()).code, 421);
    let text = await metrics();
    assert.ok((sample(text, 'borderpatrol_active_connections') ?? 0) >= 1, 'an open connection is counted');
    first.close();
    second.close();

    assert.ok((sample(text, 'borderpatrol_connections_total') ?? 0) >= 4);
    assert.equal(sample(text, 'borderpatrol_connections_refused_total', { reason: 'max_connections_per_ip' }), 1);
    assert.ok((sample(text, 'borderpatrol_transactions_total', { action: 'accept' }) ?? 0) >= 1);
    assert.ok((sample(text, 'borderpatrol_transactions_total', { action: 'reject' }) ?? 0) >= 2);
    assert.equal(sample(text, 'borderpatrol_rejections_total', { phase: 'mail', reason: 'access_sender' }), 1);
    assert.equal(sample(text, 'borderpatrol_rejections_total', { phase: 'rcpt', reason: 'relay' }), 1);
    assert.ok((sample(text, 'borderpatrol_relay_seconds_count') ?? 0) >= 1);
    assert.ok((sample(text, 'borderpatrol_scan_seconds_count') ?? 0) >= 1);
    assert.ok((sample(text, 'borderpatrol_check_seconds_count', { check: 'access_sender' }) ?? 0) >= 3);
    assert.equal(sample(text, 'borderpatrol_policy_valid'), 1);
    assert.ok((sample(text, 'borderpatrol_policy_loaded_timestamp_seconds') ?? 0) > Date.now() / 1000 - 600);

    // A broken edit is kept out and shows; a good one is applied.
    const file = path.join(bp.policiesDir, 'actions.yaml');
    await fs.writeFile(file, 'reject: [not a number\n');
    assert.equal(await bp.policy.reload('test'), false);
    text = await metrics();
    assert.equal(sample(text, 'borderpatrol_policy_valid'), 0);
    assert.equal(sample(text, 'borderpatrol_policy_reloads_total', { result: 'rejected' }), 1);
    await fs.writeFile(file, '# raised\nreject: 16\n');
    assert.equal(await bp.policy.reload('test'), true);
    text = await metrics();
    assert.equal(sample(text, 'borderpatrol_policy_valid'), 1);
    assert.equal(sample(text, 'borderpatrol_policy_reloads_total', { result: 'applied' }), 1);
  });

  test('GET /stats counts the last hour by action and refusal reason, with the password only', async () => {
    assert.equal((await admin('/stats')).status, 401);
    assert.equal((await admin('/stats?window=0', { headers: { Password: PASSWORD } })).status, 400);
    await waitForHistory(bp.store, (e) => e.action === 'reject' && e.refusal === 'relay');
    const res = await admin('/stats', { headers: { Password: PASSWORD } });
    assert.equal(res.status, 200);
    const stats = (await res.json()) as Stats;
    assert.equal(stats.window, 3600);
    assert.equal(stats.truncated, false);
    assert.ok((stats.actions.accept ?? 0) >= 1);
    assert.equal(stats.reasons.access_sender, 1);
    assert.equal(stats.reasons.relay, 1);
    assert.equal(stats.total, Object.values(stats.actions).reduce((a, b) => a + b, 0));
  });

  test('a store outage shows in borderpatrol_store_errors_total while mail still flows', async () => {
    await redis.stop();
    const r = await send(bp.port, { id: 'ops-4', localAddress: '127.0.0.55' });
    assert.equal(r.code, 0, r.out);
    const deadline = Date.now() + 10_000;
    let errors = 0;
    while (Date.now() < deadline && errors === 0) {
      errors = sample(await metrics(), 'borderpatrol_store_errors_total', { operation: 'history_push' }) ?? 0;
      if (errors === 0) await new Promise((res) => setTimeout(res, 100));
    }
    assert.ok(errors >= 1, 'the failed history write is counted');
  });

  test('every metric the server defines is updated somewhere in the code', async () => {
    const m = new Metrics({ defaults: false });
    const names = Object.entries(m)
      .filter(([, v]) => v && typeof v === 'object' && typeof (v as { get?: unknown }).get === 'function' && 'name' in (v as object))
      .map(([k]) => k);
    assert.ok(names.length >= 12, names.join(','));
    const files: string[] = [];
    const walk = async (dir: string): Promise<void> => {
      for (const d of await fs.readdir(dir, { withFileTypes: true })) {
        const p = path.join(dir, d.name);
        if (d.isDirectory()) await walk(p);
        else if (p.endsWith('.ts') && !p.endsWith(path.join('observability', 'metrics.ts'))) files.push(await fs.readFile(p, 'utf8'));
      }
    };
    await walk(path.resolve('src'));
    const code = files.join('\n');
    for (const n of names) {
      assert.match(code, new RegExp(`\\.${n}\\s*\\.(inc|dec|set|observe|startTimer|reset)\\(`), `metric ${n} is never updated`);
    }
  });
});
