/**
 * Bytes of message content held in memory by all transactions of the process, against one
 * budget (limits.max_message_memory). Each door reserves what it buffers as the bytes
 * arrive and releases it when the transaction is over; past the budget new transfers are
 * refused with 452 4.3.1, like Postfix when its queue file system runs short, and the
 * process stays within its memory however many clients send large messages at once.
 */
export class MessageMemory {
  private used = 0;

  constructor(private limit: number) {}

  setLimit(limit: number): void {
    this.limit = limit;
  }

  get available(): number {
    return Math.max(0, this.limit - this.used);
  }

  /** Take n bytes from the budget; false (and nothing taken) when they do not fit. */
  reserve(n: number): boolean {
    if (this.used + n > this.limit) return false;
    this.used += n;
    return true;
  }

  release(n: number): void {
    this.used = Math.max(0, this.used - n);
  }
}
