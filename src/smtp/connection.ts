import { SMTPConnection } from 'smtp-server/lib/smtp-connection.js';

const ENHANCED_PREFIX = /^[245]\.\d{1,3}\.\d{1,3} /;

/**
 * smtp-server either hides ENHANCEDSTATUSCODES or prefixes every reply with a code of its
 * own choosing from a fixed table (550 → 5.1.1 even for a relay denial). We advertise the
 * extension and write our own codes: a reply whose text already starts with an enhanced
 * code is sent as is; the library's own replies keep the library's codes.
 */
export class BorderConnection extends SMTPConnection {
  override send(code: number, data?: string | string[] | null, context?: string | false): void {
    if (typeof data === 'string' && ENHANCED_PREFIX.test(data)) return super.send(code, data, false);
    return super.send(code, data, context);
  }
}
