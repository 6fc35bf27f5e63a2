import { test } from 'node:test';
import assert from 'node:assert/strict';
import os from 'node:os';
import { pino } from 'pino';
import { formatHumanLine, humanDestination } from '../../src/observability/human-log.js';

/** The human log line: the same facts as the JSON line, in a form a person reads. */

test('a JSON log line becomes time, level, host, message, then the other fields', () => {
  const line = formatHumanLine(
    JSON.stringify({ level: 'info', time: '2026-11-26T13:02:22.123Z', pid: 7, hostname: 'mx1.example.com', name: 'borderpatrol', tx: 'ab12', event: 'transaction', action: 'reject', reply: '550 5.7.1 Message rejected as spam', rcpts: ['a@example.com'], msg: 'transaction' }),
  );
  assert.equal(line, '13:02:22.123 INFO  mx1.example.com transaction  tx=ab12 event=transaction action=reject reply="550 5.7.1 Message rejected as spam" rcpts=["a@example.com"]\n');
});

test('what is not JSON passes through as a line', () => {
  assert.equal(formatHumanLine('not json'), 'not json\n');
});

test('through pino: every line names the host', () => {
  const lines: string[] = [];
  const log = pino({ base: { pid: 1, hostname: os.hostname() }, timestamp: pino.stdTimeFunctions.isoTime, formatters: { level: (label: string) => ({ level: label }) } }, humanDestination({ write: (s: string) => lines.push(s) }));
  log.warn({ event: 'check_error', check: 'dnsbl' }, 'check failed');
  assert.equal(lines.length, 1);
  assert.match(lines[0] as string, new RegExp(`^\\d\\d:\\d\\d:\\d\\d\\.\\d{3} WARN  ${os.hostname().replace(/\./g, '\\.')} check failed  event=check_error check=dnsbl\\n$`));
});
