import { z } from 'zod';
import os from 'node:os';
import net from 'node:net';
import { hostPort, cidr } from '../net/schema.js';
import { checkSections } from '../checks/manifests.js';
import { symbolName } from '../checks/manifest.js';
import { redisUrlProblem } from '../net/redis-url.js';
import { modeProblem } from './mode.js';
import { limitsSchema } from './limits-schema.js';

/**
 * The one schema for all policy. Defaults live here; `policies/` is what the admin edits.
 * File layout → object path: server.yaml is the root, actions.yaml is `actions`,
 * symbols.yaml is `symbols`, checks/NAME.yaml is `NAME`, lists/NAME.txt is `lists.NAME`.
 */

const relaySchema = z
  .strictObject({
    host: z.string().default('127.0.0.1'),
    port: z.number().int().min(1).max(65535).default(10025),
    /** Seconds to open a downstream connection and get its greeting. */
    connect_timeout: z.number().positive().default(5),
    /** Seconds Postfix may take to answer a command. */
    reply_timeout: z.number().positive().default(60),
    /**
     * Seconds Postfix may take to answer the final "." (Postfix's own smtp_data_done_timeout).
     * A shorter wait can tell the client "try again" for a message Postfix did accept, which
     * the client then sends twice.
     */
    data_done_timeout: z.number().positive().default(600),
    /** Idle downstream connections kept open for reuse. */
    pool_size: z.number().int().min(0).max(1000).default(16),
    /**
     * Connections to Postfix open at once, busy or idle (0: no cap). At the cap a message
     * waits for the next connection a transaction gives back, up to connect_timeout, rather
     * than opening one more only to close it moments later; Postfix also has only so many
     * smtpd processes (default_process_limit 100).
     */
    max_connections: z.number().int().min(0).max(10000).default(50),
    /** Seconds an idle pooled connection lives (Postfix's smtpd_timeout is 300 s). */
    pool_idle: z.number().positive().default(30),
    /** Send XFORWARD with the real client identity when Postfix offers it. */
    xforward: z.boolean().default(true),
  })
  .prefault({});

const recipientVerificationSchema = z
  .strictObject({
    /**
     * postfix: ask Postfix at RCPT time; list: lists/valid_recipients.txt; none: accept any local
     * recipient; auto: postfix in mx mode, none in the filter modes (Postfix already checked).
     */
    mode: z.enum(['auto', 'postfix', 'list', 'none']).default('auto'),
    /** Seconds a "recipient exists" answer is cached. */
    cache_ttl: z.number().min(0).default(300),
    /** Seconds a "no such user" answer is cached. */
    negative_cache_ttl: z.number().min(0).default(60),
    /** Answers kept at most (oldest dropped first): a dictionary attack cannot grow memory past it. */
    cache_size: z.number().int().min(0).default(10_000),
  })
  .prefault({});

const tlsSchema = z
  .strictObject({
    enabled: z.boolean().default(true),
    /** Relative paths are resolved against the policies directory. */
    key: z.string().default('../certs/server.key'),
    cert: z.string().default('../certs/server.crt'),
  })
  .prefault({});

const proxyProtocolSchema = z
  .strictObject({
    enabled: z.boolean().default(false),
    /** Only these peers may send a PROXY header; anyone else is refused. */
    trusted: z.array(cidr).default(['127.0.0.1', '::1']),
    /** Seconds to wait for the header. */
    timeout: z.number().positive().default(5),
  })
  .prefault({});

/** An IP, optionally with a port: 127.0.0.1, 127.0.0.1:5353, ::1, [::1]:5353. */
function isDnsServer(v: string): boolean {
  if (net.isIP(v) !== 0) return true;
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([\d.]+)):(\d{1,5})$/.exec(v);
  if (!m || Number(m[3]) > 65535) return false;
  return m[1] !== undefined ? net.isIP(m[1]) === 6 : net.isIP(m[2] ?? '') === 4;
}
const dnsServer = z.string().refine(isDnsServer, { message: 'must be an IP address, optionally with a port (127.0.0.1:53, [::1]:53)' });

const dnsSchema = z
  .strictObject({
    /** Resolvers to ask; empty = the system's (/etc/resolv.conf). */
    servers: z.array(dnsServer).default([]),
    /** Milliseconds one lookup may take before it counts as failed. */
    timeout: z.number().int().positive().default(1500),
    /** Seconds answers (including "no such name") are remembered. */
    cache_ttl: z.number().int().min(0).default(60),
    /** Answers kept at most (oldest dropped first), whatever names strangers make us look up. */
    cache_size: z.number().int().min(0).default(10_000),
  })
  .prefault({});

const storeSchema = z
  .strictObject({
    /** redis://, rediss://, redis+sentinel://h:p,h:p/master, redis+cluster://h:p,h:p. Empty = embedded store. */
    redis: z
      .string()
      .superRefine((url, ctx) => {
        const problem = redisUrlProblem(url);
        if (problem) ctx.addIssue({ code: 'custom', message: problem });
      })
      .default(''),
    prefix: z.string().regex(/^[^{}]*$/, 'may not contain { or } (they mark Redis Cluster hash tags)').default('bp:'),
    /** Where the embedded store persists its state. */
    data_dir: z.string().default('./data'),
    /** Milliseconds a Redis command may take before it counts as failed. */
    command_timeout: z.number().int().positive().default(250),
  })
  .prefault({});

const adminSchema = z
  .strictObject({
    enabled: z.boolean().default(true),
    listen: hostPort.default('127.0.0.1:11334'),
    /** Required for every write (learn, reload, greylist release) and for the history page. */
    password: z.string().default(''),
  })
  .prefault({});

const smtpSchema = z
  .strictObject({
    /** reject: 550 5.5.2 like Postfix's smtpd_forbid_bare_newline; normalize: turn into CRLF. */
    bare_newline: z.enum(['reject', 'normalize']).default('reject'),
    /** Banner text after the hostname. */
    banner: z.string().default('Borderpatrol'),
    /**
     * Milliseconds the greeting is held back; a client that talks before it (a bot that
     * does not wait for the server) is refused with 421. auto: 100 in mx mode, 0 in
     * content_filter and proxy_filter modes, where the client is Postfix.
     */
    // Numbers given as text (--set smtp.greet_delay=0) are read as numbers.
    greet_delay: z.union([z.literal('auto'), z.coerce.number().int().min(0).max(30_000)]).default('auto'),
    /** Trusted networks (e.g. Postfix in content-filter mode) may send XFORWARD. */
    xforward_hosts: z.array(cidr).default([]),
    /** Networks treated as our own (skip greylisting and rate limits). */
    trusted_networks: z.array(cidr).default(['127.0.0.0/8', '::1']),
    /** In content_filter mode: what a reject turns into, so no bounce is created. */
    after_queue_reject: z.enum(['discard', 'add_header']).default('add_header'),
  })
  .prefault({});

const milterSchema = z
  .strictObject({
    /**
     * In milter mode, the Postfix hosts that may connect to the milter port; anyone else is
     * disconnected at once (a stranger could otherwise probe the scoring and spend greylist
     * and rate-limit state for others).
     */
    peers: z.array(cidr).default(['127.0.0.1', '::1']),
  })
  .prefault({});

const actionsSchema = z
  .strictObject({
    reject: z.number().default(15),
    greylist: z.number().nullable().default(10),
    rewrite_subject: z.number().nullable().default(null),
    add_header: z.number().default(6),
    subject_tag: z.string().default('***SPAM***'),
  })
  .prefault({});

const symbolSchema = z.strictObject({
  score: z.number(),
  description: z.string().default(''),
});

const historySchema = z
  .strictObject({
    /** Verdicts kept for the history page and `policy whatif`. */
    size: z.number().int().min(0).default(10_000),
    /** The name each entry gives the instance that handled it ('' = this machine's hostname). */
    instance: z.string().default(''),
  })
  .prefault({});

export const policySchema = z
  .strictObject({
    mode: z.enum(['mx', 'content_filter', 'proxy_filter', 'milter']).default('mx'),
    hostname: z.string().min(1).default(os.hostname()),
    listen: hostPort.default('0.0.0.0:25'),
    dry_run: z.boolean().default(false),
    /**
     * Processes sharing the listening socket, to use more than one core. auto: one per core
     * with store.redis, else 1. More than one needs store.redis: the embedded store lives in
     * one process. Read at start only.
     */
    // Numbers given as text (--set workers=2) are read as numbers.
    workers: z.union([z.literal('auto'), z.coerce.number().int().min(1).max(64)]).default(1),
    /** No network lookups at all (DNS blocklists, SPF/DKIM/DMARC, rDNS): every DNS-using check must honour it. */
    offline: z.boolean().default(false),
    local_domains: z.array(z.string().min(1)).default([]),
    relay: relaySchema,
    recipient_verification: recipientVerificationSchema,
    tls: tlsSchema,
    proxy_protocol: proxyProtocolSchema,
    limits: limitsSchema,
    dns: dnsSchema,
    store: storeSchema,
    admin: adminSchema,
    smtp: smtpSchema,
    milter: milterSchema,
    history: historySchema,
    actions: actionsSchema,
    symbols: z.record(symbolName, symbolSchema).default({}),
    lists: z.record(z.string(), z.array(z.string())).default({}),
    ...checkSections,
  })
  .superRefine((p, ctx) => {
    const a = p.actions;
    // Runs even when other sections have errors (see `when`): the optional thresholds may be anything.
    const greylist = typeof a.greylist === 'number' ? a.greylist : null;
    const rewriteSubject = typeof a.rewrite_subject === 'number' ? a.rewrite_subject : null;
    if (a.reject <= a.add_header) {
      ctx.addIssue({ code: 'custom', path: ['actions', 'reject'], message: `reject must be a number greater than add_header (${a.add_header})` });
    }
    if (greylist !== null && (greylist < a.add_header || greylist >= a.reject)) {
      ctx.addIssue({
        code: 'custom',
        path: ['actions', 'greylist'],
        message: `greylist must be at least add_header (${a.add_header}) and below reject (${a.reject})`,
      });
    }
    if (rewriteSubject !== null && (rewriteSubject < a.add_header || rewriteSubject >= a.reject)) {
      ctx.addIssue({
        code: 'custom',
        path: ['actions', 'rewrite_subject'],
        message: `rewrite_subject must be at least add_header (${a.add_header}) and below reject (${a.reject})`,
      });
    }
  }, { when: (payload) => thresholdsReadable(payload.value) })
  .superRefine((p, ctx) => {
    const problem = modeProblem(p);
    if (problem) ctx.addIssue({ code: 'custom', path: problem.path, message: problem.message });
  })
  .superRefine((p, ctx) => {
    if (typeof p.workers === 'number' && p.workers > 1 && !p.store.redis) {
      ctx.addIssue({ code: 'custom', path: ['workers'], message: `workers: ${p.workers} needs store.redis: the embedded store lives in one process (use 1, or auto)` });
    }
  });

/** The threshold cross-check needs reject and add_header as numbers; other errors may exist. */
function thresholdsReadable(value: unknown): boolean {
  const a = (value as { actions?: Record<string, unknown> } | null)?.actions;
  return !!a && typeof a.reject === 'number' && typeof a.add_header === 'number';
}

export type PolicyInput = z.input<typeof policySchema>;
export type Policy = z.output<typeof policySchema>;
