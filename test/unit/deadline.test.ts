import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitAtMost, withDeadline } from '../../src/net/deadline.js';

const later = <T>(ms: number, value: T) => new Promise<T>((r) => setTimeout(() => r(value), ms));

test('withDeadline: the result when it comes first, the given error when time runs out first', async () => {
  assert.equal(await withDeadline(later(5, 'answer'), 1000, () => new Error('late')), 'answer');
  const started = Date.now();
  await assert.rejects(withDeadline(later(1500, 'answer'), 30, () => new Error('no answer in 30 ms')), /no answer in 30 ms/);
  assert.ok(Date.now() - started < 1000, 'rejected at the deadline, not when the work ended');
  await assert.rejects(withDeadline(Promise.reject(new Error('backend down')), 1000, () => new Error('late')), /backend down/);
});

test('waitAtMost: true when the work settles in time (even by failing), false when it does not', async () => {
  assert.equal(await waitAtMost(later(5, 1), 1000), true);
  assert.equal(await waitAtMost(Promise.reject(new Error('x')), 1000), true);
  assert.equal(await waitAtMost(later(1500, 1), 30), false);
});
