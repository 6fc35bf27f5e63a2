import { z } from 'zod';
import path from 'node:path';
import { hostPort } from '../../net/schema.js';
import { checkBase, defineManifest } from '../manifest.js';

/**
 * Antivirus through clamd (ClamAV's daemon): each message is streamed to it with INSTREAM
 * at end of DATA, and a hit refuses the message with 554 5.7.1 naming the signature.
 * Off by default: it needs a clamd to talk to.
 */

/** HOST:PORT for clamd's TCPSocket, or the absolute path of its LocalSocket. */
const clamdAddress = z.union([hostPort, z.string().refine((s) => path.isAbsolute(s), 'must be HOST:PORT or the absolute path of a Unix socket')]);

export const antivirusSchema = z
  .strictObject({
    ...checkBase,
    enabled: z.boolean().default(false),
    /** Scanning a large message takes clamd a while; past this the check counts as failed. */
    timeout: z.number().int().positive().default(15_000),
    clamd: clamdAddress.default('/run/clamav/clamd.ctl'),
    /**
     * Bytes of a message streamed at most: clamd closes a stream longer than its
     * StreamMaxLength (25 MB by default), so keep this at or below it. Only the first
     * max_size bytes of a larger message are scanned.
     */
    max_size: z.number().int().positive().default(26_214_400),
  })
  .prefault({});

export type AntivirusSection = z.output<typeof antivirusSchema>;

export const antivirusManifest = defineManifest({
  name: 'antivirus',
  runs: { antivirus: 'data' },
  schema: antivirusSchema,
  symbols: [],
});
