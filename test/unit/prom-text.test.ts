import { test } from 'node:test';
import assert from 'node:assert/strict';
import { samples, sumBy, total } from '../../src/observability/prom-text.js';

/** Reading figures back out of Prometheus text, as /stat and /counters do. */

const TEXT = `# HELP borderpatrol_transactions_total Finished transactions by final action
# TYPE borderpatrol_transactions_total counter
borderpatrol_transactions_total{action="accept"} 7
borderpatrol_transactions_total{action="reject"} 2
borderpatrol_transactions_total_extra{action="accept"} 100
borderpatrol_symbol_hits_total{symbol="WEIRD\\\\NAME",other="a \\"quoted\\" value"} 3
borderpatrol_connections_total 9
`;

test('samples of one metric, labels unescaped; a longer name with the same prefix is another metric', () => {
  assert.deepEqual(sumBy(TEXT, 'borderpatrol_transactions_total', 'action'), { accept: 7, reject: 2 });
  assert.deepEqual(samples(TEXT, 'borderpatrol_symbol_hits_total'), [{ labels: { symbol: 'WEIRD\\NAME', other: 'a "quoted" value' }, value: 3 }]);
  assert.equal(total(TEXT, 'borderpatrol_connections_total'), 9);
  assert.equal(total(TEXT, 'borderpatrol_missing_total'), 0);
});

test('a long hostile line is read in linear time', () => {
  const line = `m{a="${'\\\\"'.repeat(50_000)}` + '\n';
  const started = performance.now();
  samples(line, 'm');
  assert.ok(performance.now() - started < 500);
});
