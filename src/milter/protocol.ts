/**
 * The Sendmail milter protocol, version 6, as Postfix's `smtpd_milters` speaks it.
 *
 * No RFC describes it; the sources are Sendmail's libmilter (`include/libmilter/mfdef.h`,
 * the constants below), Postfix's MTA side (`src/milter/milter8.c`, which says what Postfix
 * actually sends and accepts), Postfix's MILTER_README, and the Internet-Draft
 * draft-adams-milter-protocol. Summary:
 *
 * - Every packet, both ways: a 4-byte big-endian length (counting the command byte and the
 *   data), one command byte, then the data. Strings are NUL-terminated; numbers are 32-bit
 *   big-endian, except the client port in CONNECT (16-bit).
 * - The MTA opens with OPTNEG (version, the actions it allows, the protocol steps it can
 *   skip); the filter answers OPTNEG with the version it speaks, the actions it will use and
 *   the steps it wants skipped or not answered.
 * - Then per SMTP event the MTA sends MACRO (the macros of the next event, no reply) and the
 *   event; the filter answers each event with one reply, except events negotiated as
 *   "no reply" (SMFIP_NR_*) and ABORT, MACRO, QUIT. At end of body the filter may send
 *   header edits before its final reply.
 * - Postfix opens one filter connection per SMTP client connection; one connection carries
 *   every transaction of that client (ABORT between them when a transaction is cut short).
 */

export const MILTER_VERSION = 6;

/** Commands, MTA → filter (SMFIC_*). */
export const Cmd = {
  ABORT: 0x41, // 'A' abort the current message; no reply
  BODY: 0x42, // 'B' a chunk of the body (at most 65535 bytes from Postfix)
  CONNECT: 0x43, // 'C' hostname\0 family [port(u16) address\0]
  MACRO: 0x44, // 'D' event byte, then name\0value\0 pairs; no reply
  BODYEOB: 0x45, // 'E' end of body: the filter's final word on the message
  HELO: 0x48, // 'H' helo\0
  QUIT_NC: 0x4b, // 'K' quit, but another SMTP connection follows on this socket
  HEADER: 0x4c, // 'L' name\0value\0
  MAIL: 0x4d, // 'M' <sender>\0 [esmtp args\0 …]
  EOH: 0x4e, // 'N' end of headers
  OPTNEG: 0x4f, // 'O' version(u32) actions(u32) protocol(u32)
  QUIT: 0x51, // 'Q' close; no reply
  RCPT: 0x52, // 'R' <recipient>\0 [esmtp args\0 …]
  DATA: 0x54, // 'T' the DATA command (protocol v4+)
  UNKNOWN: 0x55, // 'U' an SMTP command the MTA did not know
} as const;

/** Replies, filter → MTA (SMFIR_*). */
export const Reply = {
  ACCEPT: 0x61, // 'a' accept the message (at connect/helo: the whole connection)
  CONTINUE: 0x63, // 'c' go on
  DISCARD: 0x64, // 'd' accept and drop the message
  ADDHEADER: 0x68, // 'h' name\0value\0, appended
  INSHEADER: 0x69, // 'i' index(u32) name\0value\0
  CHGHEADER: 0x6d, // 'm' index(u32) name\0value\0; an empty value deletes
  REJECT: 0x72, // 'r' 5xx with the MTA's own text
  TEMPFAIL: 0x74, // 't' 4xx with the MTA's own text
  REPLYCODE: 0x79, // 'y' "ddd d.d.d text\0": our own SMTP reply
  OPTNEG: 0x4f, // 'O' the answer to OPTNEG
} as const;

/** Actions the filter may take at end of body (SMFIF_*), announced in OPTNEG. */
export const Action = {
  ADDHDRS: 1 << 0,
  CHGBODY: 1 << 1,
  ADDRCPT: 1 << 2,
  DELRCPT: 1 << 3,
  CHGHDRS: 1 << 4,
  QUARANTINE: 1 << 5,
} as const;

/** Protocol steps the filter wants skipped or not answered (SMFIP_*), announced in OPTNEG. */
export const Step = {
  NOCONNECT: 1 << 0,
  NOHELO: 1 << 1,
  NOMAIL: 1 << 2,
  NORCPT: 1 << 3,
  NOBODY: 1 << 4,
  NOHDRS: 1 << 5,
  NOEOH: 1 << 6,
  /** No reply to each HEADER (Postfix's "no_header_reply"). */
  NR_HDR: 1 << 7,
  NOUNKNOWN: 1 << 8,
  NODATA: 1 << 9,
  NR_CONN: 1 << 12,
  NR_HELO: 1 << 13,
  NR_MAIL: 1 << 14,
  NR_RCPT: 1 << 15,
  NR_DATA: 1 << 16,
  NR_UNKN: 1 << 17,
  NR_EOH: 1 << 18,
  NR_BODY: 1 << 19,
  /** Header values keep the space after the colon, both ways: the header block is rebuilt byte for byte. */
  HDR_LEADSPC: 1 << 20,
} as const;

/**
 * What Borderpatrol asks for: headers may be added and changed (X-Spam-*, the subject tag,
 * Authentication-Results); no body or recipient edits. Of the protocol it needs the client
 * (CONNECT, HELO), the envelope (MAIL, RCPT) and the whole message (headers, body); it
 * skips the DATA command and unknown commands, does not answer each header line, and wants
 * header values with their leading space.
 */
export const WANTED_ACTIONS = Action.ADDHDRS | Action.CHGHDRS;
export const WANTED_STEPS = Step.NODATA | Step.NOUNKNOWN | Step.NR_HDR | Step.HDR_LEADSPC;

/** Postfix's own chunk size for BODY (MILTER_CHUNK_SIZE); a packet carries one chunk and the command byte. */
export const BODY_CHUNK = 65_535;
