/**
 * Second half of every payment: run the ledger legs chosen when the payment row was written, then record
 * the outcome and the merchant event in one transaction (the transactional outbox). The same function
 * repairs a payment left in flight by a crash (`repairInFlightPayments`): the ledger is idempotent by id,
 * so running the legs again yields the original outcome.
 */
import { assert } from '../platform/assert.ts';
import { withTransaction, type Queryable } from '../platform/db/database.ts';
import { TransferCodes } from '../ledger/types.ts';
import type { PaymentsDeps } from './deps.ts';
import { failureCodeOf, runLegs, type Leg, type LegsOutcome } from './ledger-legs.ts';
import { PAYMENT_COLUMNS, readPaymentById, toPayment, type Payment, type PaymentRow } from './model.ts';
import { feeRevenueAccountOf } from '../ledger/platform-accounts.ts';
import { businessDate } from './time.ts';
import { noticeValues } from './customer-notices.ts';
import { outboxCte } from './webhooks/outbox.ts';
import { paymentEventData, paymentEventDataOf } from './views.ts';
import { derivedUuid } from '../platform/ids.ts';
import { planPaymentSpend } from '../wallet/spending.ts';
import { holdMoney, recordAuthorized } from './authorizations.ts';

/** Payments in flight longer than this are repaired by the sweeper (the request path normally takes ms). */
export const IN_FLIGHT_REPAIR_AFTER_MS = 10_000;
const REPAIR_BATCH = 100;

/** Where a payment's money goes and what the customer's notification names (tills.ts has both). */
export interface PaymentTarget {
  readonly receivableAccountId: string;
  /** The receivable's ledger: every leg of the payment is on it (a test twin's is Ledgers.TEST_JPY). */
  readonly ledger: number;
  readonly merchantName: string;
  readonly storeName: string | null;
}

/**
 * The second half of every payment, as the pipeline's steps (pipeline.ts) run it and the repair sweeper
 * re-runs it: choose the accounts, move the money, record the outcome, then the consequences.
 */
export async function completePayment(deps: PaymentsDeps, payment: Payment, target: PaymentTarget): Promise<Payment> {
  const moved = await moveMoney(deps, payment, await chooseDebits(deps, payment), target);
  const recorded = await recordOutcome(deps, payment, moved, target);
  if (recorded.recordedHere) paymentConsequences(deps);
  return recorded.payment;
}

/** One account a payment takes money from, and how much. */
export interface Debit {
  readonly accountId: string;
  readonly amountMinor: bigint;
  /** The ledger transfer id, chosen when the payment row was written. */
  readonly transferId: string;
}

/**
 * Which accounts pay: the wallet module's spend order (`wallet/spending.ts`: prepaid, then funds-transfer,
 * or as the customer chose). A customer without a funds-transfer balance pays the whole amount from the
 * wallet the payment was staged with, as before. Otherwise the plan is stored once under the payment's
 * transfer id before money moves (`payment_debit_plans`), so the request and the repair sweeper run the
 * same legs whatever the balances are by then. The first leg always carries the payment's transfer id;
 * later legs take ids derived from it.
 */
export async function chooseDebits(deps: PaymentsDeps, payment: Payment): Promise<readonly Debit[]> {
  assert(payment.status === 'CREATED' && payment.paymentTransferId !== null && payment.walletAccountId !== null && payment.customerId !== null, 'an in-flight payment');
  const legs = await planPaymentSpend(deps.db, deps.ledger, { customerId: payment.customerId, walletAccountId: payment.walletAccountId, amountMinor: payment.amountMinor });
  if (legs === null) return [{ accountId: payment.walletAccountId, amountMinor: payment.amountMinor, transferId: payment.paymentTransferId }];
  const firstId = payment.paymentTransferId;
  return storeDebitPlan(deps.db, firstId, legs.map((leg, index) => ({ accountId: leg.accountId, amountMinor: leg.amountMinor, transferId: index === 0 ? firstId : derivedUuid('koban-payment-debit', firstId, String(index)) })));
}

/** The whole payment from the wallet it was staged with: the debit of a customer with one balance (the group commit's). */
export function walletDebit(payment: Payment): readonly Debit[] {
  assert(payment.paymentTransferId !== null && payment.walletAccountId !== null, 'an in-flight payment');
  return [{ accountId: payment.walletAccountId, amountMinor: payment.amountMinor, transferId: payment.paymentTransferId }];
}

/** The first stored plan wins: a second path that planned otherwise runs the stored one. */
async function storeDebitPlan(db: PaymentsDeps['db'], paymentTransferId: string, planned: readonly Debit[]): Promise<readonly Debit[]> {
  const json = JSON.stringify(planned.map((d) => ({ accountId: d.accountId, amountMinor: d.amountMinor.toString(), transferId: d.transferId })));
  await db.pool.query('insert into payment_debit_plans (payment_transfer_id, debits) values ($1, $2::jsonb) on conflict (payment_transfer_id) do nothing', [paymentTransferId, json]);
  const stored = await db.pool.query<{ debits: Array<{ accountId: string; amountMinor: string; transferId: string }> }>(
    'select debits from payment_debit_plans where payment_transfer_id = $1', [paymentTransferId]);
  const row = stored.rows[0];
  assert(row !== undefined, 'the debit plan was stored');
  return row.debits.map((d) => ({ accountId: d.accountId, amountMinor: BigInt(d.amountMinor), transferId: d.transferId }));
}

/** The debits to the merchant's receivable and the fee from it, one linked chain: all move or none. */
export async function moveMoney(deps: PaymentsDeps, payment: Payment, debits: readonly Debit[], target: PaymentTarget): Promise<LegsOutcome> {
  // A pre-authorisation's money is held, not paid: pending transfers until capture, revert or expiry (authorizations.ts).
  const outcome = payment.isAuthorization ? await holdMoney(deps, payment, debits, target) : await runLegs(deps.ledger, paymentLegs(payment, debits, target));
  if (outcome.ok) return outcome;
  // A path that planned other legs than the ones that already moved (the customer was verified in between)
  // is refused as `exists_with_different_fields`; the first leg existing means the original chain moved.
  const first = debits[0];
  assert(first !== undefined, 'a payment has a debit');
  const original = await deps.ledger.lookupTransfer(first.transferId);
  return original?.state === 'created' ? { ok: true } : outcome;
}

/** The payment's ledger legs: each debit into the receivable, then the fee out of it (one linked chain). */
export function paymentLegs(payment: Payment, debits: readonly Debit[], target: PaymentTarget): Leg[] {
  assert(debits.reduce((sum, d) => sum + d.amountMinor, 0n) === payment.amountMinor, 'the debits add up to the payment');
  const reference = `payment:${payment.id}`;
  const { receivableAccountId, ledger } = target;
  return [
    ...debits.map((debit) => ({ id: debit.transferId, debitAccountId: debit.accountId, creditAccountId: receivableAccountId, amountMinor: debit.amountMinor, code: TransferCodes.payment, reference, ledger })),
    ...(payment.feeTransferId === null ? [] : [{ id: payment.feeTransferId, debitAccountId: receivableAccountId, creditAccountId: feeRevenueAccountOf(ledger), amountMinor: payment.feeMinor, code: TransferCodes.fee, reference, ledger }]),
  ];
}

/** Records what the ledger answered; `recordedHere` is false when another path (repair, request) recorded it first. */
export async function recordOutcome(deps: PaymentsDeps, payment: Payment, moved: LegsOutcome, target: PaymentTarget): Promise<{ payment: Payment; recordedHere: boolean }> {
  if (!moved.ok) return { payment: await recordFailed(deps, payment, failureCodeOf(moved.result)), recordedHere: false };
  if (payment.isAuthorization) return recordAuthorized(deps, payment);
  const { completed, recordedHere } = await recordCompleted(deps, payment, target);
  return { payment: completed, recordedHere };
}

/**
 * What follows a recorded payment: the merchant event and the customer's notice were written with the
 * outcome (same statement); this relays the notice now rather than at the next maintenance round.
 */
export function paymentConsequences(deps: PaymentsDeps): void {
  deps.notices.kick();
}

/**
 * One statement: the payment becomes COMPLETED, a dynamic QR becomes PAID, and the merchant event with its
 * deliveries is written — all or nothing, and only if this call is the one that moved the payment on.
 */
async function recordCompleted(deps: PaymentsDeps, payment: Payment, target: PaymentTarget): Promise<{ completed: Payment; recordedHere: boolean }> {
  // Refunds need a COMPLETED payment, so one completing now has none: the event's refund list is empty.
  assert(payment.refundedMinor === 0n, 'a payment completing now has no refunds');
  assert(payment.customerId !== null, 'a payment being completed has its customer');
  const acceptedAt = deps.now();
  const completing: Payment = { ...payment, status: 'COMPLETED', acceptedAt, businessDate: businessDate(acceptedAt) };
  const event = deps.events.prepare({ type: 'payment.completed', merchantId: payment.merchantId, paymentId: payment.id, data: paymentEventDataOf(completing, []) });
  const notice = noticeValues({ type: 'payment.completed', paymentId: payment.id, amountMinor: payment.amountMinor, merchantName: target.merchantName, storeName: target.storeName, at: acceptedAt });
  const updated = await deps.db.pool.query<PaymentRow>({
    name: 'payments_record_completed',
    text: `with done as (
             update payments set status = 'COMPLETED', accepted_at = $3, business_date = $4
             where id = $1 and status = 'CREATED' and payment_transfer_id = $2 returning ${PAYMENT_COLUMNS}
           ), paid_qr as (
             update dynamic_qr_codes set status = 'PAID' where payment_id in (select id from done)
           ), customer_notice as (
             insert into payment_customer_notices (id, customer_id, event, created_at) select $12, customer_id, $13::jsonb, $3 from done
           ), ${outboxCte(5, 'done')}
           select ${PAYMENT_COLUMNS} from done`,
    values: [payment.id, payment.paymentTransferId, acceptedAt, completing.businessDate, ...event.values, ...notice],
  });
  const row = updated.rows[0];
  if (row === undefined) return { completed: await currentState(deps.db.pool, payment.id), recordedHere: false };
  return { completed: toPayment(row), recordedHere: true };
}

/**
 * A customer-code or static-QR payment fails for good (the till or the customer starts again). A dynamic
 * QR's order stays open: the claim is released with fresh transfer ids (the failed ids stay failed in the
 * ledger), so this customer can top up and retry, or another can pay.
 */
async function recordFailed(deps: PaymentsDeps, payment: Payment, failureCode: string): Promise<Payment> {
  return withTransaction(deps.db, async (client) => {
    if (payment.kind === 'dynamic_qr') {
      const released = await client.query<PaymentRow>(
        `update payments set customer_id = null, wallet_account_id = null, device_id = null, payment_transfer_id = null, fee_transfer_id = null, staged_at = null, failure_code = $3
         where id = $1 and status = 'CREATED' and payment_transfer_id = $2 returning ${PAYMENT_COLUMNS}`,
        [payment.id, payment.paymentTransferId, failureCode]);
      return released.rows[0] === undefined ? currentState(client, payment.id) : { ...toPayment(released.rows[0]), failureCode };
    }
    const updated = await client.query<PaymentRow>(
      `update payments set status = 'FAILED', failure_code = $3 where id = $1 and status = 'CREATED' and payment_transfer_id = $2 returning ${PAYMENT_COLUMNS}`,
      [payment.id, payment.paymentTransferId, failureCode]);
    const row = updated.rows[0];
    if (row === undefined) return currentState(client, payment.id);
    const failed = toPayment(row);
    await deps.events.record(client, { type: 'payment.failed', merchantId: failed.merchantId, paymentId: failed.id, data: await paymentEventData(client, failed) });
    return failed;
  });
}

async function currentState(client: Parameters<typeof readPaymentById>[0], paymentId: string): Promise<Payment> {
  // Someone else (the repair sweeper, or the request path) recorded the outcome first: theirs stands.
  const current = await readPaymentById(client, paymentId);
  assert(current !== null, 'a payment row is never deleted');
  return current;
}

/** The merchant's and store's names; `db` is the caller's transaction when it holds one (never a second pool connection then). */
export async function names(db: Queryable, payment: Pick<Payment, 'merchantId' | 'storeId'>): Promise<{ merchantName: string; storeName: string | null }> {
  const result = await db.query<{ merchant_name: string; store_name: string | null }>(
    `select m.name as merchant_name, s.name as store_name from merchants m left join stores s on s.id = $2 where m.id = $1`, [payment.merchantId, payment.storeId]);
  return { merchantName: result.rows[0]?.merchant_name ?? '', storeName: result.rows[0]?.store_name ?? null };
}

export async function receivableOf(deps: Pick<PaymentsDeps, 'tills'>, merchantId: string): Promise<string> {
  return (await deps.tills.merchant(merchantId)).receivableAccountId;
}

/** The merchant's receivable and the ledger it is on (refunds and cancels move money back on it). */
export async function booksOf(deps: Pick<PaymentsDeps, 'tills'>, merchantId: string): Promise<{ receivable: string; ledger: number }> {
  const merchant = await deps.tills.merchant(merchantId);
  return { receivable: merchant.receivableAccountId, ledger: merchant.ledger };
}

/** The target of a payment already written (repairs): receivable from the cache, names as stored. */
export async function targetOf(deps: Pick<PaymentsDeps, 'db' | 'tills'>, payment: Pick<Payment, 'merchantId' | 'storeId'>): Promise<PaymentTarget> {
  const merchant = await deps.tills.merchant(payment.merchantId);
  return { receivableAccountId: merchant.receivableAccountId, ledger: merchant.ledger, ...(await names(deps.db.pool, payment)) };
}

/** Finishes payments a crash left between the ledger and the outcome row. Bounded per run. */
export async function repairInFlightPayments(deps: PaymentsDeps): Promise<number> {
  const before = new Date(deps.now().getTime() - IN_FLIGHT_REPAIR_AFTER_MS);
  const stuck = await deps.db.pool.query<PaymentRow>(
    `select ${PAYMENT_COLUMNS} from payments where status = 'CREATED' and payment_transfer_id is not null and staged_at < $1 order by staged_at limit $2`,
    [before, REPAIR_BATCH]);
  for (const row of stuck.rows) {
    const payment = toPayment(row);
    await completePayment(deps, payment, await targetOf(deps, payment));
  }
  return stuck.rows.length;
}

/** What the settling steps (choose accounts, move money, record, consequences) read and leave on an attempt. */
export interface SettlingAttempt {
  /** The payment row as the claim wrote it (CREATED, transfer ids chosen). */
  staged?: Payment;
  target?: PaymentTarget;
  debits?: readonly Debit[];
  moved?: LegsOutcome;
  recorded?: { readonly payment: Payment; readonly recordedHere: boolean };
}

export async function chooseAccountsStep(deps: PaymentsDeps, attempt: SettlingAttempt): Promise<undefined> {
  assert(attempt.staged !== undefined, 'the claim staged the payment');
  attempt.debits = await chooseDebits(deps, attempt.staged);
  return undefined;
}

export async function moveMoneyStep(deps: PaymentsDeps, attempt: SettlingAttempt): Promise<undefined> {
  assert(attempt.staged !== undefined && attempt.debits !== undefined && attempt.target !== undefined, 'staged, with its debits and target');
  attempt.moved = await moveMoney(deps, attempt.staged, attempt.debits, attempt.target);
  return undefined;
}

export async function recordStep(deps: PaymentsDeps, attempt: SettlingAttempt): Promise<undefined> {
  assert(attempt.staged !== undefined && attempt.moved !== undefined, 'the ledger answered');
  assert(attempt.target !== undefined, 'the target is known');
  attempt.recorded = await recordOutcome(deps, attempt.staged, attempt.moved, attempt.target);
  return undefined;
}

export function consequencesStep(deps: PaymentsDeps, attempt: SettlingAttempt): undefined {
  assert(attempt.recorded !== undefined && attempt.target !== undefined, 'the outcome is recorded');
  if (attempt.recorded.recordedHere) paymentConsequences(deps);
  return undefined;
}

/** The recorded payment (for the answer step). */
export function recordedPayment(attempt: SettlingAttempt): Payment {
  assert(attempt.recorded !== undefined, 'the outcome is recorded');
  return attempt.recorded.payment;
}
