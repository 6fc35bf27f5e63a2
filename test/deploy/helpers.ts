import type { Store } from '../../src/stores/types.js';
import type { HistoryEntry } from '../../src/history/record.js';
import { swaks } from '../helpers/borderpatrol.js';
import type { PostfixInstance } from '../helpers/postfix.js';

/** Send one message with swaks from a chosen loopback address; returns Postfix's queue id. */
export async function send(
  port: number,
  opts: { from?: string; to?: string; id: string; localAddress?: string; helo?: string; subject?: string; headers?: string[] },
): Promise<{ code: number; out: string; queueId: string }> {
  const args = [
    '--server', `127.0.0.1:${port}`,
    '--from', opts.from ?? 'sender@origin.test',
    '--to', opts.to ?? 'user@example.com',
    '--helo', opts.helo ?? 'origin.example',
    // swaks's own field is "Message-Id": the same name replaces it.
    '--header', `Message-Id: <${opts.id}@origin.test>`,
    '--header', `Subject: ${opts.subject ?? opts.id}`,
  ];
  for (const h of opts.headers ?? []) args.push('--header', h);
  if (opts.localAddress) args.push('--local-interface', opts.localAddress);
  const r = await swaks(args);
  return { ...r, queueId: /queued as ([A-Z0-9]+)/.exec(r.out)?.[1] ?? '' };
}

/** Wait until Borderpatrol's history holds an entry that matches, newest first. */
export async function waitForHistory(store: Store, match: (e: HistoryEntry) => boolean, timeoutMs = 15_000): Promise<HistoryEntry> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const entries = (await store.historyRead(500)).map((l) => JSON.parse(l) as HistoryEntry);
    const hit = entries.find(match);
    if (hit) return hit;
    if (Date.now() > deadline) throw new Error(`no matching history entry after ${timeoutMs} ms; newest: ${JSON.stringify(entries.slice(0, 3))}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Wait until the Postfix log matches. */
export async function waitForLog(log: () => Promise<string>, re: RegExp, timeoutMs = 15_000): Promise<RegExpExecArray> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const m = re.exec(await log());
    if (m) return m;
    if (Date.now() > deadline) throw new Error(`Postfix log never matched ${re}:\n${(await log()).split('\n').slice(-30).join('\n')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export function countOf(text: string, re: RegExp): number {
  return (text.match(new RegExp(re.source, re.flags.includes('g') ? re.flags : re.flags + 'g')) ?? []).length;
}

/** Wait until a mailbox holds the message with this Message-Id (`<id@…>`), and return it. */
export async function waitForMessage(pf: PostfixInstance, user: string, id: string, timeoutMs = 15_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const msg = (await pf.messages(user)).find((m) => m.includes(`<${id}@`));
    if (msg) return msg;
    if (Date.now() > deadline) throw new Error(`no message <${id}@…> for ${user} after ${timeoutMs} ms:\n${(await pf.log()).split('\n').slice(-25).join('\n')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
