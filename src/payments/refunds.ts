/**
 * Refunds: full or partial, several per payment, never more than was paid, idempotent by the merchant's
 * refund id. The refund is reserved against the payment under the payment row's lock (so refunds racing
 * each other are decided one at a time), then the ledger returns the money and the matching share of
 * the fee, then the outcome is recorded with its merchant event.
 */
import type pg from 'pg';
import { TransferCodes } from '../ledger/types.ts';
import { assert } from '../platform/assert.ts';
import { sqlState, withTransaction } from '../platform/db/database.ts';
import { KobanError } from '../platform/errors.ts';
import { isUuid, uuidv7 } from '../platform/ids.ts';
import { booksOf, names } from './complete.ts';
import type { PaymentsDeps } from './deps.ts';
import { feeRefund } from './fees.ts';
import { writeNotice } from './customer-notices.ts';
import { awaitOutcome } from './in-flight.ts';
import { failureCodeOf, runLegs, type LegsOutcome } from './ledger-legs.ts';
import { readRefundCredits, storeRefundCredits } from './refund-credits.ts';
import { fingerprint, lockPayment, readPaymentById, REFUND_COLUMNS, toRefund, type Payment, type Refund, type RefundRow } from './model.ts';
import { feeRevenueAccountOf } from '../ledger/platform-accounts.ts';
import { businessDate } from './time.ts';
import { paymentEventData, refundView } from './views.ts';

export const REFUND_REPAIR_AFTER_MS = 10_000;
const REPAIR_BATCH = 100;

export interface RefundRequest {
  readonly merchantId: string;
  readonly merchantRefundId: string;
  readonly paymentId: string;
  readonly amountMinor: bigint;
  readonly reason: string | null;
  readonly requestedAt: Date | null;
}

async function readRefundByMerchantId(db: Pick<pg.Pool, 'query'>, merchantId: string, merchantRefundId: string): Promise<Refund | null> {
  const result = await db.query<RefundRow>(`select ${REFUND_COLUMNS} from refunds where merchant_id = $1 and merchant_refund_id = $2`, [merchantId, merchantRefundId]);
  return result.rows[0] === undefined ? null : toRefund(result.rows[0]);
}

/** A refund as it passes the steps (pipeline.ts REFUND). */
export interface RefundAttempt {
  readonly request: RefundRequest;
  readonly requestFingerprint: string;
  reserved?: { refund: Refund; payment: Payment };
  moved?: LegsOutcome;
  recorded?: Refund | null;
}

export function refundAttempt(request: RefundRequest): RefundAttempt {
  return { request, requestFingerprint: fingerprint(['refund', request.paymentId, request.amountMinor]) };
}

export function validateRefund(_deps: PaymentsDeps, attempt: RefundAttempt): undefined {
  if (attempt.request.amountMinor <= 0n) throw new KobanError('invalid_amount', { errors: [{ pointer: '/body/amount', message: 'must be a positive integer' }] });
  // PayPay's paymentId is any string up to 64: one that cannot be a Koban payment id names no payment.
  if (!isUuid(attempt.request.paymentId)) throw new KobanError('payment_not_found');
  return undefined;
}

/** Replay check: a repeated merchantRefundId answers what happened, even while refunds are switched off. */
export async function answerRepeatedRefund(deps: PaymentsDeps, attempt: RefundAttempt): Promise<Refund | undefined> {
  const earlier = await readRefundByMerchantId(deps.db.pool, attempt.request.merchantId, attempt.request.merchantRefundId);
  return earlier === null ? undefined : repeatOf(deps, earlier, attempt.requestFingerprint, attempt.request.paymentId);
}

/** The claim of a refund: reserved against the payment under its row lock; a concurrent copy loses on the unique key and answers the first. */
export async function reserveRefundStep(deps: PaymentsDeps, attempt: RefundAttempt): Promise<Refund | undefined> {
  try {
    attempt.reserved = await withTransaction(deps.db, (client) => reserveRefund(deps, client, attempt.request, attempt.requestFingerprint));
    return undefined;
  } catch (error) {
    if (sqlState(error) !== '23505') throw error;
    const winner = await readRefundByMerchantId(deps.db.pool, attempt.request.merchantId, attempt.request.merchantRefundId);
    assert(winner !== null, 'the conflicting refund exists');
    return repeatOf(deps, winner, attempt.requestFingerprint, attempt.request.paymentId);
  }
}

export async function moveRefundMoneyStep(deps: PaymentsDeps, attempt: RefundAttempt): Promise<undefined> {
  assert(attempt.reserved !== undefined, 'the refund is reserved');
  attempt.moved = await moveRefundMoney(deps, attempt.reserved.refund, attempt.reserved.payment);
  return undefined;
}

export async function recordRefundStep(deps: PaymentsDeps, attempt: RefundAttempt): Promise<undefined> {
  assert(attempt.reserved !== undefined && attempt.moved !== undefined, 'the ledger answered');
  attempt.recorded = await recordRefundOutcome(deps, attempt.reserved.refund, attempt.reserved.payment, attempt.moved);
  return undefined;
}

export function refundConsequencesStep(deps: PaymentsDeps, attempt: RefundAttempt): undefined {
  assert(attempt.reserved !== undefined && attempt.recorded !== undefined, 'the outcome is recorded');
  if (attempt.recorded !== null) refundConsequences(deps);
  return undefined;
}

/** The refund as recorded here, or as whoever recorded it first (the repair sweeper) did. */
export async function refundAnswer(deps: PaymentsDeps, attempt: RefundAttempt): Promise<Refund> {
  assert(attempt.reserved !== undefined && attempt.recorded !== undefined, 'the outcome is recorded');
  return attempt.recorded ?? currentRefund(deps, attempt.reserved.refund);
}

/**
 * A repeat answers the first refund's outcome, waiting (bounded) while it is in flight (in-flight.ts).
 * PayPay: "when the same merchantRefundId is specified, the previous result is returned" — also with a
 * changed amount (the answer shows the amount really refunded). Its key includes the paymentId, Koban's does
 * not: the same merchantRefundId for another payment is refused rather than answered with a refund of a
 * payment the merchant did not name (and never a second refund under one id).
 */
async function repeatOf(deps: PaymentsDeps, earlier: Refund, requestFingerprint: string, paymentId: string): Promise<Refund> {
  if (earlier.requestFingerprint !== requestFingerprint && earlier.paymentId !== paymentId) throw new KobanError('merchant_refund_id_conflict');
  if (earlier.status !== 'CREATED') return earlier;
  return awaitOutcome(async () => {
    const current = await readRefundByMerchantId(deps.db.pool, earlier.merchantId, earlier.merchantRefundId);
    assert(current !== null, 'a refund row is never deleted');
    return current;
  }, (current) => current.status !== 'CREATED', () => new KobanError('refund_in_progress'));
}

async function reserveRefund(deps: PaymentsDeps, client: pg.PoolClient, request: RefundRequest, requestFingerprint: string): Promise<{ refund: Refund; payment: Payment }> {
  const payment = await readPaymentById(client, request.paymentId, true);
  if (payment === null || payment.merchantId !== request.merchantId) throw new KobanError('payment_not_found');
  if (payment.status !== 'COMPLETED' && payment.status !== 'REFUNDED') throw new KobanError('payment_not_refundable', { detail: `the payment is ${payment.status}` });
  const refundable = payment.amountMinor - payment.refundedMinor;
  if (request.amountMinor > refundable) {
    throw new KobanError('refund_exceeds_payment', { detail: `at most ${refundable} JPY can still be refunded`, errors: [{ pointer: '/body/amount', message: `must be at most ${refundable}` }] });
  }
  const feeMinor = feeRefund(payment.amountMinor, payment.feeMinor, payment.refundedMinor, request.amountMinor);
  await client.query(`update payments set refunded_minor = refunded_minor + $2, refunded_fee_minor = refunded_fee_minor + $3 where id = $1`, [payment.id, request.amountMinor, feeMinor]);
  const inserted = await client.query<RefundRow>(
    `insert into refunds (id, payment_id, merchant_id, merchant_refund_id, status, amount_minor, fee_refund_minor, reason, request_fingerprint,
       refund_transfer_id, fee_transfer_id, requested_at, created_at)
     values ($1, $2, $3, $4, 'CREATED', $5, $6, $7, $8, $9, $10, $11, $12) returning ${REFUND_COLUMNS}`,
    [uuidv7(), payment.id, payment.merchantId, request.merchantRefundId, request.amountMinor, feeMinor, request.reason, requestFingerprint,
      uuidv7(), feeMinor > 0n ? uuidv7() : null, request.requestedAt, deps.now()]);
  const refund = toRefund(inserted.rows[0] as RefundRow);
  await storeRefundCredits(client, payment, refund.amountMinor, refund.refundTransferId);
  return { refund, payment };
}

/** The ledger step, the record and the consequences of a reserved refund (the repair sweeper re-runs it). */
export async function completeRefund(deps: PaymentsDeps, refund: Refund, payment: Payment): Promise<Refund> {
  const moved = await moveRefundMoney(deps, refund, payment);
  const recorded = await recordRefundOutcome(deps, refund, payment, moved);
  if (recorded === null) return currentRefund(deps, refund);
  refundConsequences(deps);
  return recorded;
}

async function currentRefund(deps: PaymentsDeps, refund: Refund): Promise<Refund> {
  const current = await readRefundByMerchantId(deps.db.pool, refund.merchantId, refund.merchantRefundId);
  assert(current !== null, 'refund readable');
  return current;
}

/**
 * From the merchant's receivable back to the balances the payment was paid from (refund-credits.ts; the wallet
 * alone when it paid alone), and the refund's share of the fee back to the receivable: one linked chain.
 */
async function moveRefundMoney(deps: PaymentsDeps, refund: Refund, payment: Payment): Promise<LegsOutcome> {
  assert(payment.walletAccountId !== null && payment.customerId !== null, 'a refunded payment was paid by a customer');
  const { receivable, ledger } = await booksOf(deps, payment.merchantId);
  const reference = `refund:${refund.id}`;
  const credits = await readRefundCredits(deps.db.pool, refund.refundTransferId)
    ?? [{ accountId: payment.walletAccountId, amountMinor: refund.amountMinor, transferId: refund.refundTransferId }];
  assert(credits.reduce((sum, c) => sum + c.amountMinor, 0n) === refund.amountMinor, 'the credits add up to the refund');
  return runLegs(deps.ledger, [
    ...credits.map((c) => ({ id: c.transferId, debitAccountId: receivable, creditAccountId: c.accountId, amountMinor: c.amountMinor, code: TransferCodes.refund, reference, ledger })),
    ...(refund.feeTransferId === null ? [] : [{ id: refund.feeTransferId, debitAccountId: feeRevenueAccountOf(ledger), creditAccountId: receivable, amountMinor: refund.feeRefundMinor, code: TransferCodes.fee, reference, ledger }]),
  ]);
}

/** The outcome and the merchant event in one transaction; null when another path recorded it first. */
async function recordRefundOutcome(deps: PaymentsDeps, refund: Refund, payment: Payment, outcome: LegsOutcome): Promise<Refund | null> {
  const at = deps.now();
  const where = outcome.ok ? await names(deps.db.pool, payment) : null;
  return withTransaction(deps.db, async (client) => {
    // The global lock order for refunds and cancels: the payment row first, then its refund rows. The
    // reservation locks the payment before inserting a refund; recording here locked the refund first,
    // and two copies of one refund deadlocked (the insert's unique check waits on the refund row).
    await lockPayment(client, payment.id);
    const updated = outcome.ok
      ? await client.query<RefundRow>(`update refunds set status = 'REFUNDED', completed_at = $2, business_date = $3 where id = $1 and status = 'CREATED' returning ${REFUND_COLUMNS}`, [refund.id, at, businessDate(at)])
      : await client.query<RefundRow>(`update refunds set status = 'REFUND_FAILED', failure_code = $2, completed_at = $3 where id = $1 and status = 'CREATED' returning ${REFUND_COLUMNS}`, [refund.id, failureCodeOf(outcome.result), at]);
    const row = updated.rows[0];
    if (row === undefined) return null; // the repair sweeper or the request path recorded it first
    const done = toRefund(row);
    const current = outcome.ok
      ? await client.query(`update payments set status = case when refunded_minor = amount_minor then 'REFUNDED' else status end where id = $1`, [payment.id])
      : await client.query(`update payments set refunded_minor = refunded_minor - $2, refunded_fee_minor = refunded_fee_minor - $3 where id = $1`, [payment.id, done.amountMinor, done.feeRefundMinor]);
    assert(current.rowCount === 1, 'the refunded payment exists');
    const after = await readPaymentById(client, payment.id);
    assert(after !== null, 'payment readable');
    await deps.events.record(client, { type: outcome.ok ? 'refund.completed' : 'refund.failed', merchantId: done.merchantId, paymentId: payment.id, data: { ...(await paymentEventData(client, after)), refund: refundView(done, after) } });
    if (where !== null) {
      assert(payment.customerId !== null, 'refunds go to a customer');
      await writeNotice(client, payment.customerId, { type: 'refund.completed', paymentId: payment.id, refundId: done.id, amountMinor: done.amountMinor, ...where, at });
    }
    return done;
  });
}

/** The merchant event and the customer's notice were written with the outcome; this relays the notice now. */
function refundConsequences(deps: PaymentsDeps): void {
  deps.notices.kick();
}

export async function getRefund(deps: PaymentsDeps, merchantId: string, merchantRefundId: string): Promise<{ refund: Refund; payment: Payment }> {
  const refund = await readRefundByMerchantId(deps.db.pool, merchantId, merchantRefundId);
  if (refund === null) throw new KobanError('refund_not_found');
  const payment = await readPaymentById(deps.db.pool, refund.paymentId);
  assert(payment !== null, 'a refund names its payment');
  return { refund, payment };
}

/** Finishes refunds a crash left between the reservation and the outcome. Bounded per run. */
export async function repairInFlightRefunds(deps: PaymentsDeps): Promise<number> {
  const before = new Date(deps.now().getTime() - REFUND_REPAIR_AFTER_MS);
  const stuck = await deps.db.pool.query<RefundRow>(`select ${REFUND_COLUMNS} from refunds where status = 'CREATED' and created_at < $1 order by created_at limit $2`, [before, REPAIR_BATCH]);
  for (const row of stuck.rows) {
    const refund = toRefund(row);
    const payment = await readPaymentById(deps.db.pool, refund.paymentId);
    assert(payment !== null, 'a refund names its payment');
    await completeRefund(deps, refund, payment);
  }
  return stuck.rows.length;
}
