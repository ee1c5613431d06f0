/**
 * Cancel (PayPay's DELETE /v2/payments/{merchantPaymentId}) within the day's window: until the next
 * midnight JST plus the configured cutoff. What was not refunded goes back to the customer and the
 * matching fee back to the merchant, as new ledger transfers (history is never rewritten). After the
 * window: ORDER_NOT_REVERSIBLE; refunds remain possible.
 */
import type pg from 'pg';
import { TransferCodes } from '../ledger/types.ts';
import { assert } from '../platform/assert.ts';
import { withTransaction } from '../platform/db/database.ts';
import { KobanError } from '../platform/errors.ts';
import { uuidv7 } from '../platform/ids.ts';
import { booksOf, names } from './complete.ts';
import type { PaymentsDeps } from './deps.ts';
import { writeNotice } from './customer-notices.ts';
import { runLegs } from './ledger-legs.ts';
import { readRefundCredits, storeRefundCredits } from './refund-credits.ts';
import { paymentInFlight, settledPayment } from './in-flight.ts';
import { PAYMENT_COLUMNS, readPaymentByMerchantId, toPayment, type Payment, type PaymentRow } from './model.ts';
import { feeRevenueAccountOf } from '../ledger/platform-accounts.ts';
import { businessDate, cancelDeadline } from './time.ts';
import { paymentEventData } from './views.ts';

const REVERSAL_REPAIR_AFTER_MS = 10_000;
const REPAIR_BATCH = 100;

/** A cancel as it passes the steps (pipeline.ts CANCEL). */
export interface CancelAttempt {
  readonly merchantId: string;
  readonly merchantPaymentId: string;
  decided?: { payment: Payment; reverse: boolean };
  reversed?: boolean;
}

/**
 * A payment being paid right now is waited for (bounded, in-flight.ts): the cancel then applies to its
 * outcome. Still in flight after the bound: payment_in_progress (decideCancel), cancel again later.
 */
export async function awaitPaymentOutcome(deps: PaymentsDeps, attempt: CancelAttempt): Promise<undefined> {
  const current = await readPaymentByMerchantId(deps.db.pool, attempt.merchantId, attempt.merchantPaymentId);
  if (current !== null && paymentInFlight(current)) await settledPayment(deps, current);
  return undefined;
}

/**
 * The claim of a cancel, under the payment row's lock: an open order is withdrawn, a paid payment within
 * the window becomes CANCELED with its reversal's transfer ids and the merchant event; a repeat answers
 * the cancel already decided. Paid payments need the refunds switch on (checked here, under the lock).
 */
export async function decideCancelStep(deps: PaymentsDeps, attempt: CancelAttempt): Promise<Payment | undefined> {
  attempt.decided = await withTransaction(deps.db, (client) => decideCancel(deps, client, attempt.merchantId, attempt.merchantPaymentId));
  return attempt.decided.reverse ? undefined : attempt.decided.payment;
}

export async function reverseStep(deps: PaymentsDeps, attempt: CancelAttempt): Promise<undefined> {
  assert(attempt.decided !== undefined, 'the cancel is decided');
  attempt.reversed = await reverse(deps, attempt.decided.payment);
  return undefined;
}

/** The merchant event and the customer's notice were written with the decision; this relays the notice now. */
export function cancelConsequencesStep(deps: PaymentsDeps): undefined {
  deps.notices.kick();
  return undefined;
}

export function cancelAnswer(_deps: PaymentsDeps, attempt: CancelAttempt): Payment {
  assert(attempt.decided !== undefined, 'the cancel is decided');
  return attempt.decided.payment;
}

async function decideCancel(deps: PaymentsDeps, client: pg.PoolClient, merchantId: string, merchantPaymentId: string): Promise<{ payment: Payment; reverse: boolean }> {
  const payment = await readPaymentByMerchantId(client, merchantId, merchantPaymentId, true);
  if (payment === null) throw new KobanError('payment_not_found');
  if (payment.status === 'CANCELED' || payment.status === 'FAILED') return { payment, reverse: false };
  if (payment.status === 'CREATED') return { payment: await cancelOpenOrder(client, payment), reverse: false };
  // A pre-authorisation not captured holds money but was never paid: it is reverted (or has expired), not cancelled.
  if (payment.status === 'EXPIRED') return { payment, reverse: false };
  if (payment.status === 'AUTHORIZED') throw new KobanError('payment_not_reversible', { detail: 'an authorisation is released with POST /v2/payments/preauthorize/revert' });
  assert(payment.acceptedAt !== null, 'a completed payment has its acceptance time');
  // Cancelling a paid payment returns money to the customer, as a refund does: the refunds switch governs it.
  deps.switches.assertOn('refunds');
  const now = deps.now();
  if (now >= cancelDeadline(payment.acceptedAt, deps.config.cancelCutoffMinutes)) {
    throw new KobanError('payment_not_reversible', { detail: 'the cancel window has closed; refund the payment instead' });
  }
  const amount = payment.amountMinor - payment.refundedMinor;
  if (amount === 0n) throw new KobanError('payment_not_reversible', { detail: 'the payment was fully refunded' });
  const fee = payment.feeMinor - payment.refundedFeeMinor;
  const updated = await client.query<PaymentRow>(
    `update payments set status = 'CANCELED', canceled_at = $2, cancel_business_date = $3, cancel_amount_minor = $4, cancel_fee_minor = $5,
       cancel_transfer_id = $6, cancel_fee_transfer_id = $7, reversal_pending = true where id = $1 returning ${PAYMENT_COLUMNS}`,
    [payment.id, now, businessDate(now), amount, fee, uuidv7(), fee > 0n ? uuidv7() : null]);
  const canceled = toPayment(updated.rows[0] as PaymentRow);
  assert(canceled.cancelTransferId !== null, 'a decided cancel has its transfer id');
  await storeRefundCredits(client, canceled, amount, canceled.cancelTransferId);
  await deps.events.record(client, { type: 'payment.canceled', merchantId, paymentId: canceled.id, data: await paymentEventData(client, canceled) });
  if (canceled.customerId !== null) {
    await writeNotice(client, canceled.customerId, { type: 'payment.canceled', paymentId: canceled.id, amountMinor: amount, ...(await names(client, canceled)), at: now });
  }
  return { payment: canceled, reverse: true };
}

/** An order nobody has paid yet: its QR stops working. One being paid right now cannot be cancelled yet. */
async function cancelOpenOrder(client: pg.PoolClient, payment: Payment): Promise<Payment> {
  if (payment.paymentTransferId !== null) throw new KobanError('payment_in_progress');
  await client.query(`update dynamic_qr_codes set status = 'DELETED' where payment_id = $1 and status = 'ACTIVE'`, [payment.id]);
  const updated = await client.query<PaymentRow>(`update payments set status = 'FAILED', failure_code = 'canceled_by_merchant' where id = $1 returning ${PAYMENT_COLUMNS}`, [payment.id]);
  return toPayment(updated.rows[0] as PaymentRow);
}

/** Moves the money back and records it (reversal_pending false); a refusal stays pending for operations (false). */
async function reverse(deps: PaymentsDeps, payment: Payment): Promise<boolean> {
  assert(payment.cancelTransferId !== null && payment.cancelAmountMinor !== null && payment.walletAccountId !== null, 'a decided cancel');
  const { receivable, ledger } = await booksOf(deps, payment.merchantId);
  const reference = `cancel:${payment.id}`;
  // The balances the payment was paid from, less what its refunds returned (refund-credits.ts); the wallet alone when it paid alone.
  const credits = await readRefundCredits(deps.db.pool, payment.cancelTransferId)
    ?? [{ accountId: payment.walletAccountId, amountMinor: payment.cancelAmountMinor, transferId: payment.cancelTransferId }];
  assert(credits.reduce((sum, c) => sum + c.amountMinor, 0n) === payment.cancelAmountMinor, 'the credits add up to the cancel');
  const outcome = await runLegs(deps.ledger, [
    ...credits.map((c) => ({ id: c.transferId, debitAccountId: receivable, creditAccountId: c.accountId, amountMinor: c.amountMinor, code: TransferCodes.refund, reference, ledger })),
    ...(payment.cancelFeeTransferId === null ? [] : [{ id: payment.cancelFeeTransferId, debitAccountId: feeRevenueAccountOf(ledger), creditAccountId: receivable, amountMinor: payment.cancelFeeMinor ?? 0n, code: TransferCodes.fee, reference, ledger }]),
  ]);
  // A refused reversal (e.g. the wallet was closed meanwhile) stays pending for operations to resolve:
  // the cancel was promised to the merchant, so it is never silently dropped.
  if (!outcome.ok) {
    deps.log.error({ paymentId: payment.id, result: outcome.result }, 'cancel reversal refused by the ledger');
    return false;
  }
  await deps.db.pool.query(`update payments set reversal_pending = false where id = $1`, [payment.id]);
  return true;
}

export async function repairPendingReversals(deps: PaymentsDeps): Promise<number> {
  const before = new Date(deps.now().getTime() - REVERSAL_REPAIR_AFTER_MS);
  const stuck = await deps.db.pool.query<PaymentRow>(`select ${PAYMENT_COLUMNS} from payments where reversal_pending and canceled_at < $1 order by canceled_at limit $2`, [before, REPAIR_BATCH]);
  for (const row of stuck.rows) await reverse(deps, toPayment(row));
  return stuck.rows.length;
}
