import net from 'node:net';
import path from 'node:path';
import { splitHostPort } from '../../net/schema.js';

/**
 * A client for clamd's INSTREAM command (the null-terminated form, `zINSTREAM\0`): the data
 * goes in chunks, each behind its length as a 4-byte big-endian number, and a zero length
 * ends it. clamd answers once, `stream: OK` or `stream: NAME FOUND` (or `... ERROR`),
 * terminated by a NUL, and closes the connection. One connection per message: clamd's
 * IDSESSION would save a connect but ties a session to one clamd thread.
 */

export type ClamdResult = { infected: false } | { infected: true; signature: string };

/** Bytes sent per chunk: clamd reads chunks into a buffer of its own; 64 KiB keeps writes cheap. */
const CHUNK = 64 * 1024;
/** clamd's answer is one short line; anything longer is not clamd. */
const MAX_ANSWER = 1024;

export class ClamdError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ClamdError';
  }
}

function connectOptions(address: string): net.NetConnectOpts {
  if (path.isAbsolute(address)) return { path: address };
  const { host, port } = splitHostPort(address);
  return { host, port };
}

/** The INSTREAM request for `data`: command, length-prefixed chunks, end marker. */
export function instreamFrames(data: Buffer): Buffer[] {
  const frames: Buffer[] = [Buffer.from('zINSTREAM\0', 'latin1')];
  for (let off = 0; off < data.length; off += CHUNK) {
    const chunk = data.subarray(off, off + CHUNK);
    const len = Buffer.alloc(4);
    len.writeUInt32BE(chunk.length);
    frames.push(len, chunk);
  }
  frames.push(Buffer.alloc(4));
  return frames;
}

/** clamd's answer to INSTREAM; throws on anything but OK or FOUND. */
export function parseAnswer(answer: string): ClamdResult {
  const line = answer.replace(/\0+$/, '').trim();
  if (line === 'stream: OK') return { infected: false };
  const found = /^stream: (.{1,200}) FOUND$/.exec(line);
  if (found) return { infected: true, signature: printable(found[1] as string) };
  throw new ClamdError(`clamd answered: ${printable(line).slice(0, 200) || '(nothing)'}`);
}

/** Signature names go into an SMTP reply and a log line: printable ASCII only. */
function printable(s: string): string {
  let out = '';
  for (const ch of s) {
    const c = ch.charCodeAt(0);
    out += c >= 0x20 && c < 0x7f ? ch : '_';
  }
  return out;
}

/**
 * Stream `data` to clamd at `address` (HOST:PORT or a Unix socket path) and return its
 * verdict. Rejects on a connection failure, a clamd error, `timeoutMs` passing, or `signal`.
 */
export function clamdScan(address: string, data: Buffer, timeoutMs: number, signal?: AbortSignal): Promise<ClamdResult> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(connectOptions(address));
    const received: Buffer[] = [];
    let receivedBytes = 0;
    let settled = false;
    const finish = (err: Error | null, result?: ClamdResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      socket.destroy();
      if (err) reject(err);
      else resolve(result as ClamdResult);
    };
    const onAbort = (): void => finish(new ClamdError('scan aborted'));
    const timer = setTimeout(() => finish(new ClamdError(`clamd at ${address} did not answer within ${timeoutMs} ms`)), timeoutMs);
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });

    socket.once('connect', () => {
      // Written in one go: the kernel and Node's stream buffer it; clamd reads as it scans.
      for (const frame of instreamFrames(data)) socket.write(frame);
    });
    socket.on('data', (chunk: Buffer) => {
      received.push(chunk);
      receivedBytes += chunk.length;
      if (receivedBytes > MAX_ANSWER) return finish(new ClamdError('clamd answer too long'));
      // The answer ends with a NUL (the z form of the command).
      if (chunk.includes(0)) settle();
    });
    const settle = (): void => {
      try {
        finish(null, parseAnswer(Buffer.concat(received).toString('latin1')));
      } catch (err) {
        finish(err as Error);
      }
    };
    socket.once('end', settle);
    socket.once('error', (err) => finish(new ClamdError(`clamd at ${address}: ${err.message}`)));
    socket.once('close', () => finish(new ClamdError(`clamd at ${address} closed the connection without an answer`)));
  });
}
