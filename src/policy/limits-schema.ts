import { z } from 'zod';

/** limits: what one client, one message and the whole server may use. */
export const limitsSchema = z
  .strictObject({
    max_message_size: z.number().int().positive().default(26_214_400),
    max_recipients: z.number().int().positive().default(100),
    max_line_length: z.number().int().positive().default(65_536),
    max_headers: z.number().int().positive().default(1000),
    max_header_size: z.number().int().positive().default(1_048_576),
    max_clients: z.number().int().positive().default(1000),
    max_connections_per_ip: z.number().int().positive().default(20),
    /**
     * Seconds a client may stay silent before the connection is closed; also the time one
     * command line may take from its first byte to its end (so one byte a second is no way
     * to hold a connection open, like Postfix's smtpd_per_record_deadline).
     */
    idle_timeout: z.number().positive().default(300),
    /**
     * Bytes per second a message must keep arriving at (Postfix's smtpd_min_data_rate): what
     * arrives extends the deadline for the rest by its time at this rate, never to more than
     * idle_timeout from now, so a burst banks no credit. 0 turns the check off.
     */
    min_data_rate: z.number().int().min(0).default(500),
    /** NOOP, RSET, VRFY, HELP and ETRN commands between two MAIL commands before 421 (Postfix's smtpd_junk_command_limit). */
    max_junk_commands: z.number().int().positive().default(100),
    /** Error replies (4xx/5xx) in one connection before 421 and close (Postfix's smtpd_hard_error_limit). */
    max_errors: z.number().int().positive().default(20),
    /** Seconds to wait for transactions in flight on shutdown. */
    shutdown_grace: z.number().positive().default(30),
    /** MIME nesting beyond this is not parsed further (and scores MIME_TOO_DEEP). */
    max_mime_depth: z.number().int().positive().default(50),
    /**
     * Bytes of messages all connections may hold in memory at once. Past it a transfer gets
     * 452 4.3.1 (at MAIL when SIZE= announces more than is left, at DATA when less than
     * 64 KiB is left, else at the end of DATA) and nothing more of it is kept. A message in
     * flight costs the process a few times its size (the copies parsing and relaying make).
     */
    max_message_memory: z.number().int().positive().default(67_108_864),
    /** Content scans run at once; more wait in line. */
    max_concurrent_scans: z.number().int().positive().default(64),
    /** MIME parts beyond this are not parsed (and score MIME_TOO_MANY_PARTS). */
    max_mime_parts: z.number().int().positive().default(500),
    /** Milliseconds a message parse may take; the rest of the message is then left unread. */
    max_parse_ms: z.number().int().positive().default(1000),
    /** Bytes of decoded text/HTML kept per message for content rules and Bayes. */
    max_text_size: z.number().int().positive().default(1_048_576),
    /**
     * Milliseconds the content rules may spend on one message; rules not reached by then are
     * skipped (and logged). Each rule's time is linear in max_body_chars; this caps their sum.
     */
    max_content_rules_ms: z.number().int().positive().default(250),
    /** URLs collected per message (for URL rules and domain blocklists). */
    max_urls: z.number().int().positive().default(200),
  })
  .prefault({});
