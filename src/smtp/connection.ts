import { SMTPConnection } from 'smtp-server/lib/smtp-connection.js';

const ENHANCED_PREFIX = /^[245]\.\d{1,3}\.\d{1,3} /;

/**
 * smtp-server either hides ENHANCEDSTATUSCODES or prefixes every reply with a code of its
 * own choosing from a fixed table (550 → 5.1.1 even for a relay denial). We advertise the
 * extension and write our own codes: a reply whose text already starts with an enhanced
 * code is sent as is; the library's own replies keep the library's codes.
 */
export class BorderConnection extends SMTPConnection {
  /**
   * smtp-server's useXForward list compares exact addresses; policy gives CIDRs
   * (smtp.xforward_hosts). The front decides per connection and sets this, so XFORWARD is
   * neither advertised to nor accepted from anyone else.
   */
  xforwardAllowed = false;

  override _proxyCommandAllowed(command: string, option: 'useXClient' | 'useXForward'): boolean {
    if (command === 'XFORWARD' && !this.xforwardAllowed) return false;
    return super._proxyCommandAllowed(command, option);
  }

  /** A MAIL consumed the XFORWARD attributes sent before it. */
  private xforwardUsed = false;

  /**
   * XFORWARD attributes describe the next transaction only (Postfix reuses its connection
   * to a content filter for mail from different clients, and sends just SOURCE=LOCAL for
   * mail it picked up locally). smtp-server keeps them for the whole connection, so the
   * first XFORWARD after a MAIL starts from an empty set; ADDR:DEFAULT (the real peer,
   * recorded by smtp-server) is kept.
   */
  override handler_XFORWARD(command: Buffer, callback: () => void): void {
    if (this.xforwardUsed) {
      for (const key of [...this._xForward.keys()]) if (key !== 'ADDR:DEFAULT') this._xForward.delete(key);
      this.xforwardUsed = false;
    }
    super.handler_XFORWARD(command, callback);
  }

  override handler_MAIL(command: Buffer, callback: () => void): void {
    this.xforwardUsed = this._xForward.size > 0;
    super.handler_MAIL(command, callback);
  }

  override send(code: number, data?: string | string[] | null, context?: string | false): void {
    if (typeof data === 'string' && ENHANCED_PREFIX.test(data)) return super.send(code, data, false);
    return super.send(code, data, context);
  }
}
