import assert from 'node:assert/strict';
import v8 from 'node:v8';
import vm from 'node:vm';
import { RawSmtp } from '../helpers/raw-smtp.js';
import type { PostfixInstance } from '../helpers/postfix.js';

/**
 * Shared pieces of the hostile-input tests: a well-behaved client to prove the server
 * still serves, a memory reading after a full garbage collection, and the check that the
 * downstream Postfix only ever holds whole messages.
 */

v8.setFlagsFromString('--expose-gc');
const collect = vm.runInNewContext('gc') as (() => void) | undefined;

/** Heap plus Buffer memory after full collections, MB (Borderpatrol runs in this process). */
export async function liveMemoryMb(): Promise<number> {
  for (let i = 0; i < 3; i++) {
    collect?.();
    await new Promise((r) => setTimeout(r, 20));
  }
  const m = process.memoryUsage();
  return (m.heapUsed + m.arrayBuffers) / 1024 / 1024;
}

/** Let timers and sockets of a finished attack settle, then assert memory is back near where it was. */
export async function assertMemoryBack(baselineMb: number, what: string, slackMb = 15): Promise<void> {
  let now = await liveMemoryMb();
  const deadline = Date.now() + 5000;
  while (now > baselineMb + slackMb && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 250));
    now = await liveMemoryMb();
  }
  assert.ok(now <= baselineMb + slackMb, `${what}: live memory ${now.toFixed(1)} MB, was ${baselineMb.toFixed(1)} MB before`);
}

let sequence = 0;

/** A complete message whose last line names it, so a truncated copy is easy to spot. */
export function wholeMessage(id: string, body = 'A normal message.'): string {
  return `From: <sender@origin.test>\r\nTo: <user@example.com>\r\nSubject: ${id}\r\nMessage-ID: <${id}@origin.test>\r\n\r\n${body}\r\nEND-OF-MESSAGE ${id}\r\n`;
}

/** One ordinary transaction: returns the reply to the final "." and the message id. */
export async function normalDelivery(port: number, label = 'normal', givenId?: string, from = 'sender@origin.test'): Promise<{ code: number; text: string; id: string }> {
  const id = givenId ?? `${label}-${process.pid}-${++sequence}`;
  const c = await RawSmtp.connect(port);
  try {
    await c.hello('client.origin.test');
    const mail = await c.command(`MAIL FROM:<${from}>`);
    if (mail.code !== 250) return { code: mail.code, text: mail.text, id };
    const rcpt = await c.command('RCPT TO:<user@example.com>');
    if (rcpt.code !== 250) return { code: rcpt.code, text: rcpt.text, id };
    const data = await c.command('DATA');
    if (data.code !== 354) return { code: data.code, text: data.text, id };
    c.write(wholeMessage(id) + '.\r\n');
    const end = await c.reply(30_000);
    await c.command('QUIT').catch(() => undefined);
    return { code: end.code, text: end.text, id };
  } finally {
    c.close();
  }
}

/** A normal client gets its message through (250) and Postfix has it. */
export async function assertServes(port: number, pf: PostfixInstance, label: string): Promise<void> {
  const r = await normalDelivery(port, label);
  assert.equal(r.code, 250, `${label}: ${r.text}`);
  const deadline = Date.now() + 15_000;
  for (;;) {
    const msgs = await pf.messages('user');
    if (msgs.some((m) => m.includes(`<${r.id}@origin.test>`))) return;
    assert.ok(Date.now() < deadline, `${label}: message ${r.id} never reached Postfix`);
    await new Promise((res) => setTimeout(res, 100));
  }
}

/** Wait until a mailbox holds the message with this id; returns how many copies it holds. */
export async function waitForMessage(pf: PostfixInstance, user: string, id: string, timeoutMs = 15_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const copies = (await pf.messages(user)).filter((m) => m.includes(`<${id}@origin.test>`)).length;
    if (copies > 0 || Date.now() > deadline) return copies;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Every message in the mailbox ends with its own end marker, and none arrived twice. */
export async function assertOnlyWholeMessages(pf: PostfixInstance, user = 'user'): Promise<string[]> {
  const msgs = await pf.messages(user);
  const ids: string[] = [];
  for (const m of msgs) {
    const id = /^Message-ID: <([^>]+)@origin\.test>$/im.exec(m)?.[1];
    if (!id) continue;
    assert.ok(m.includes(`END-OF-MESSAGE ${id}`), `message ${id} in Postfix is not whole`);
    ids.push(id);
  }
  assert.equal(new Set(ids).size, ids.length, `a message was delivered twice: ${ids.join(', ')}`);
  return ids;
}

/** Open a transaction up to the 354 reply to DATA. */
export async function openData(port: number, rcpt = 'user@example.com'): Promise<RawSmtp> {
  const c = await RawSmtp.connect(port);
  await c.hello('client.origin.test');
  assert.equal((await c.command('MAIL FROM:<sender@origin.test>')).code, 250);
  assert.equal((await c.command(`RCPT TO:<${rcpt}>`)).code, 250);
  assert.equal((await c.command('DATA')).code, 354);
  return c;
}

/** Write a large payload in pieces, honouring back-pressure; stops quietly if the server hangs up. */
export async function writeAll(c: RawSmtp, chunks: Iterable<Buffer | string>): Promise<void> {
  for (const chunk of chunks) {
    if (c.closed) return;
    if (!c.socket.write(chunk)) {
      await new Promise<void>((resolve) => {
        const done = () => {
          c.socket.off('drain', done);
          c.socket.off('close', done);
          resolve();
        };
        c.socket.on('drain', done);
        c.socket.on('close', done);
      });
    }
  }
}

export function* repeat(piece: string | Buffer, times: number): Generator<Buffer | string> {
  for (let i = 0; i < times; i++) yield piece;
}

/**
 * Read `n` replies from a socket as they stream in, without keeping them: returns the count
 * per reply code (multi-line replies count once). For floods of many thousand replies.
 */
export function countReplies(socket: import('node:net').Socket, n: number, timeoutMs: number): Promise<{ counts: Map<number, number>; order: number[]; closed: boolean }> {
  return new Promise((resolve) => {
    const counts = new Map<number, number>();
    // The codes in order, with runs of the same code merged (e.g. [250, 452]).
    const order: number[] = [];
    let seen = 0;
    let partial = '';
    const finish = (closed: boolean) => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
      resolve({ counts, order, closed });
    };
    const onData = (d: Buffer) => {
      const text = partial + d.toString('latin1');
      const lines = text.split('\r\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        if (line[3] === '-') continue;
        const code = Number(line.slice(0, 3));
        counts.set(code, (counts.get(code) ?? 0) + 1);
        if (order[order.length - 1] !== code) order.push(code);
        if (++seen === n) return finish(false);
      }
    };
    const onClose = () => finish(true);
    const timer = setTimeout(() => finish(false), timeoutMs);
    socket.on('data', onData);
    socket.on('close', onClose);
  });
}

/** Greeting waits of fresh connections, sampled until `done` settles. */
export async function greetingWaits(port: number, done: Promise<unknown>): Promise<number[]> {
  const waits: number[] = [];
  let finished = false;
  void done.finally(() => (finished = true));
  while (!finished && waits.length < 50) {
    const started = performance.now();
    const c = await RawSmtp.connect(port);
    await c.reply(60_000);
    waits.push(performance.now() - started);
    c.close();
  }
  return waits;
}
