import type { TransactionContext } from './context.js';

/**
 * Spend what the accepted message costs (see TransactionContext.onAccepted), once: the
 * charges are taken off the context as they run. A failure is logged and does not change
 * the answer the client already earned.
 */
export async function chargeAccepted(ctx: TransactionContext): Promise<void> {
  const charges = [...ctx.onAccepted];
  ctx.onAccepted.clear();
  await Promise.all(
    charges.map(async ([name, charge]) => {
      try {
        await charge(ctx);
      } catch (err) {
        ctx.log.warn({ event: 'accepted_charge_failed', check: name, err: err instanceof Error ? err.message : String(err) }, 'could not record what the accepted message spent');
      }
    }),
  );
}
