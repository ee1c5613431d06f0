/**
 * The "tier payment limit" step (issue 19) of every customer payment table (pipeline.ts): after risk, before
 * the claim, a payment that would take the customer's paid total over their tier's 24-hour or 30-day payment
 * limit is refused with `payment_limit_exceeded` (OPA `LIMIT_EXCEEDED`) and nothing is written or moved.
 * The wallet owns tiers and what counts as spent (`paymentLimitRefusal`, one statement); payments only asks.
 */
import { assert } from '../platform/assert.ts';
import { paymentLimitRefusal } from '../wallet/spending.ts';
import type { QrAttempt } from './customer-pay.ts';
import type { PaymentsDeps } from './deps.ts';
import { flushPendingRisk, type CodeAttempt } from './till.ts';

async function refuseOverTierLimit(deps: PaymentsDeps, customerId: string, amountMinor: bigint, beforeRefusing: () => Promise<void> = async () => undefined): Promise<undefined> {
  const refusal = await paymentLimitRefusal(deps.tierLimits, deps.db.pool, customerId, amountMinor, deps.now());
  if (refusal === null) return undefined;
  await beforeRefusing();
  throw refusal;
}

/** The till path: the code's owner pays the amount the till asked for. */
export async function tierLimitForCode(deps: PaymentsDeps, attempt: CodeAttempt): Promise<undefined> {
  assert(attempt.code != null, 'the code step found the code');
  if (attempt.deferredRisk != null) {
    // The score is the group commit's (till.ts assessCodePayment), and so is the limit: read for the whole batch in one
    // statement and applied after the score, so the order stays risk, then limit (issue 11: one statement less a payment).
    attempt.tierLimitPending = true;
    return undefined;
  }
  // The risk engine's allow was left for the group commit to record; refused here, it is recorded now (every decision visible).
  return refuseOverTierLimit(deps, attempt.code.customerId, attempt.request.amountMinor, () => flushPendingRisk(deps, attempt));
}

/** A QR path (order or store): the signed-in customer pays the order's or the typed amount. */
export async function tierLimitForQr(deps: PaymentsDeps, attempt: QrAttempt): Promise<undefined> {
  assert(attempt.facts !== undefined, 'the order or store is known');
  return refuseOverTierLimit(deps, attempt.ctx.customerId, attempt.facts.amountMinor);
}
