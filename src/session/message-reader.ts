import type { Readable } from 'node:stream';

/** Limits applied while the message streams in; the message is buffered only up to maxSize. */
export interface ReadLimits {
  maxSize: number;
  maxLineLength: number;
  /** The process's budget for message bytes in memory; the caller releases `reserved`. */
  memory?: { reserve(n: number): boolean; release(n: number): void };
}

export interface ReadMessage {
  /** The message as received (empty when it was over the size limit). */
  raw: Buffer;
  /** Bytes the client sent, counted even past the limit. */
  size: number;
  oversized: boolean;
  /** The memory budget ran out while the message arrived: nothing of it is kept. */
  overBudget?: boolean;
  /** Bytes taken from the memory budget, for the caller to release when done. */
  reserved?: number;
  /** A LF not preceded by CR, or a CR not followed by LF, was seen. */
  bareNewline: boolean;
  longestLine: number;
}

/**
 * Read the DATA stream that smtp-server hands us (already un-dot-stuffed, without the
 * final "."), checking line ends and line length on the fly. smtp-server only ends DATA
 * at <CRLF>.<CRLF>, so every other end-of-data variant (<LF>.<LF>, <CR>.<CR>, …) shows up
 * here as a bare LF or CR inside the message and is caught below — that is what makes
 * SMTP smuggling impossible: such bytes never reach Postfix as a second transaction.
 */
export function readMessage(stream: Readable, limits: ReadLimits): Promise<ReadMessage> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let oversized = false;
    let overBudget = false;
    let reserved = 0;
    let bareNewline = false;
    let prevCr = false; // the previous chunk ended in CR
    let lineLength = 0;
    let longestLine = 0;

    stream.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (!oversized && !overBudget) {
        if (size > limits.maxSize) {
          oversized = true;
          chunks.length = 0;
        } else if (limits.memory && !limits.memory.reserve(chunk.length)) {
          overBudget = true;
          chunks.length = 0;
        } else {
          if (limits.memory) reserved += chunk.length;
          chunks.push(chunk);
        }
        // What is no longer kept goes back to the budget at once.
        if ((oversized || overBudget) && reserved > 0) {
          limits.memory?.release(reserved);
          reserved = 0;
        }
      }
      // Line-end scan with indexOf: much faster than a byte loop on large messages.
      let pos = 0;
      if (prevCr) {
        if (chunk[0] !== 0x0a) bareNewline = true;
        else pos = 1;
        prevCr = false;
      }
      while (pos < chunk.length) {
        const cr = chunk.indexOf(0x0d, pos);
        const lf = chunk.indexOf(0x0a, pos);
        if (lf >= 0 && (cr < 0 || lf < cr)) {
          // A LF that is not right after a CR.
          bareNewline = true;
          lineLength += lf - pos;
          longestLine = Math.max(longestLine, lineLength);
          lineLength = 0;
          pos = lf + 1;
          continue;
        }
        if (cr < 0) {
          lineLength += chunk.length - pos;
          longestLine = Math.max(longestLine, lineLength);
          break;
        }
        lineLength += cr - pos;
        longestLine = Math.max(longestLine, lineLength);
        if (cr === chunk.length - 1) {
          prevCr = true;
          pos = chunk.length;
        } else if (chunk[cr + 1] === 0x0a) {
          lineLength = 0;
          pos = cr + 2;
        } else {
          bareNewline = true;
          lineLength = 0;
          pos = cr + 1;
        }
      }
    });
    stream.once('end', () => {
      // smtp-server strips the final <CRLF>.<CRLF> but keeps the CRLF ending the last line;
      // a lone CR at the very end is bare.
      if (prevCr) bareNewline = true;
      resolve({
        raw: oversized || overBudget ? Buffer.alloc(0) : Buffer.concat(chunks, size),
        size,
        oversized,
        overBudget,
        reserved,
        bareNewline,
        longestLine,
      });
    });
    stream.once('error', (err) => {
      if (reserved > 0) limits.memory?.release(reserved);
      reserved = 0;
      reject(err);
    });
  });
}

/** Turn every bare CR and bare LF into CRLF (the `normalize` choice for bare newlines). */
export function normalizeLineEnds(raw: Buffer): Buffer {
  // Most messages already end every line in CRLF: found with native searches, they are
  // passed on as they are instead of copied through a string (25 MB held the event loop).
  if (onlyCrlf(raw)) return raw;
  return Buffer.from(raw.toString('latin1').replace(/\r\n|\r|\n/g, '\r\n'), 'latin1');
}

/** Whether every CR in raw is followed by LF and every LF preceded by CR. */
function onlyCrlf(raw: Buffer): boolean {
  for (let i = raw.indexOf(10); i >= 0; i = raw.indexOf(10, i + 1)) if (i === 0 || raw[i - 1] !== 13) return false;
  for (let i = raw.indexOf(13); i >= 0; i = raw.indexOf(13, i + 1)) if (raw[i + 1] !== 10) return false;
  return true;
}
