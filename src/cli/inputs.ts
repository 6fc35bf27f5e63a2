import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import readline from 'node:readline';
import { Readable } from 'node:stream';
import { UsageError } from './common.js';
import { normalizeLineEnds } from '../session/message-reader.js';

/**
 * The messages named on a command line: files (one message each), directories (every
 * file below them, e.g. a Maildir), mbox files (split at "From " lines) and "-" (stdin,
 * a message or an mbox). Each message comes out with CRLF line ends, as SMTP carries it,
 * so `scan` sees exactly the bytes the proxy would.
 */
export interface MessageInput {
  /** File name, "file#N" for the Nth message of an mbox, "-" for stdin. */
  name: string;
  raw: Buffer;
  /** Input bytes this message accounts for (for progress). */
  bytes: number;
  /** Set when the message was over the size limit; raw is then empty. */
  oversized?: boolean;
}

export interface InputPlan {
  /** Regular files in order, or "-" for stdin. */
  sources: string[];
  /** Bytes of all files, or null when stdin is among them (size unknown). */
  totalBytes: number | null;
}

const MAX_DEPTH = 16;

/** Expand directories and check that every path exists, before any work starts. */
export async function planInputs(paths: readonly string[]): Promise<InputPlan> {
  if (paths.length === 0) throw new UsageError('no input: give one or more FILE, DIR, mbox or - (stdin)');
  const sources: string[] = [];
  let total: number | null = 0;
  const walk = async (p: string, depth: number): Promise<void> => {
    let st: fs.Stats;
    try {
      st = await fsp.stat(p);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new UsageError(`${p}: ${code === 'ENOENT' ? 'no such file or directory' : (err as Error).message}`);
    }
    if (st.isDirectory()) {
      if (depth >= MAX_DEPTH) throw new UsageError(`${p}: directories nested more than ${MAX_DEPTH} deep`);
      const entries = (await fsp.readdir(p)).filter((e) => !e.startsWith('.')).sort();
      for (const e of entries) await walk(path.join(p, e), depth + 1);
    } else if (st.isFile()) {
      sources.push(p);
      if (total !== null) total += st.size;
    }
  };
  for (const p of paths) {
    if (p === '-') {
      sources.push('-');
      total = null;
    } else await walk(p, 0);
  }
  return { sources, totalBytes: total };
}

/** Read every planned message in order. Messages over `maxSize` bytes come out flagged, not read. */
export async function* readInputs(plan: InputPlan, maxSize: number): AsyncGenerator<MessageInput> {
  for (const source of plan.sources) {
    if (source === '-') {
      const data = await readAll(process.stdin);
      if (isMbox(data)) yield* splitMbox(Readable.from([data]), '-', maxSize);
      else yield single('-', data, maxSize);
      continue;
    }
    if (isMbox(await head(source))) {
      yield* splitMbox(fs.createReadStream(source), source, maxSize);
      continue;
    }
    const size = (await fsp.stat(source)).size;
    if (size > maxSize) yield { name: source, raw: Buffer.alloc(0), bytes: size, oversized: true };
    else yield single(source, await fsp.readFile(source), maxSize);
  }
}

function single(name: string, data: Buffer, maxSize: number): MessageInput {
  if (data.length > maxSize) return { name, raw: Buffer.alloc(0), bytes: data.length, oversized: true };
  return { name, raw: normalizeLineEnds(data), bytes: data.length };
}

function isMbox(start: Buffer): boolean {
  return start.subarray(0, 5).toString('latin1') === 'From ';
}

async function head(file: string): Promise<Buffer> {
  const fh = await fsp.open(file, 'r');
  try {
    const buf = Buffer.alloc(5);
    const { bytesRead } = await fh.read(buf, 0, 5, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(typeof c === 'string' ? Buffer.from(c, 'latin1') : c);
  return Buffer.concat(chunks);
}

/**
 * Split an mbox: a line starting with "From " at the start or after an empty line opens
 * the next message; body lines escaped as ">From " (mboxo/mboxrd) lose one ">". Read line
 * by line, so an mbox of any size costs memory for one message at a time.
 */
export async function* splitMbox(input: Readable, name: string, maxSize: number): AsyncGenerator<MessageInput> {
  const lines = readline.createInterface({ input: input.setEncoding('latin1'), crlfDelay: Infinity });
  let current: string[] | null = null;
  let size = 0;
  let bytes = 0;
  let oversized = false;
  let index = 0;
  let previousEmpty = true;
  const finish = (): MessageInput => {
    const body = current ?? [];
    while (body.length > 0 && body[body.length - 1] === '') body.pop();
    index++;
    const msg: MessageInput = oversized
      ? { name: `${name}#${index}`, raw: Buffer.alloc(0), bytes, oversized: true }
      : { name: `${name}#${index}`, raw: Buffer.from(body.join('\r\n') + '\r\n', 'latin1'), bytes };
    current = null;
    size = 0;
    bytes = 0;
    oversized = false;
    return msg;
  };
  for await (const raw of lines) {
    const line = (raw as string).endsWith('\r') ? (raw as string).slice(0, -1) : (raw as string);
    if (previousEmpty && line.startsWith('From ')) {
      if (current) yield finish();
      current = [];
      bytes += line.length + 1;
      previousEmpty = false;
      continue;
    }
    previousEmpty = line === '';
    bytes += line.length + 1;
    if (!current) current = [];
    if (oversized) continue;
    const text = /^>+From /.test(line) ? line.slice(1) : line;
    size += text.length + 2;
    if (size > maxSize) {
      oversized = true;
      current.length = 0;
      continue;
    }
    current.push(text);
  }
  if (current) yield finish();
}
