/**
 * A payment that waits for its customer (issue 14, and issue 13's hold): one state for both.
 *
 * - A till charging a customer-presented code above `KOBAN_TILL_CONFIRMATION_ABOVE` (the store typed the
 *   amount, the customer only showed a code) waits for the customer to confirm in the wallet with the charge
 *   PIN (`pin`).
 * - When the risk engine asks for a step-up on a till payment (above the account's spending budget, an
 *   unusual context, a balance being emptied), the customer is at no screen Koban controls, so the payment
 *   waits for a **strong** confirmation (`strong`; identity decides, `PaymentHooks.confirmsHeldPayment`): a
 *   passkey, or the PIN on a device the account has known for more than a day **plus** a code e-mailed for this
 *   payment (`sendConfirmationCode`) to an address the account has had for a day. A thief on a fresh sign-in
 *   cannot give the first half; malware on the customer's own phone, which watched the PIN being typed and
 *   reads its SMS, cannot give the second (issue 13).
 *
 * While it waits the payment row is `CREATED` with **no ledger transfer chosen** (so neither the in-flight
 * wait nor the repair sweeper sees it as being paid): the code is used, no money moved. The till and every
 * retry of its call answer "waiting for the customer" (OPA: 202 `REQUEST_ACCEPTED`, status `CREATED`, as
 * PayPay answers a payment the user has yet to accept); confirming chooses the transfer ids and runs the
 * usual second half (complete.ts); declining, or the deadline passing (`KOBAN_CUSTOMER_CONFIRMATION_TTL_SEC`,
 * the maintenance loop), fails the payment (`customer_declined`, `customer_confirmation_expired`) with its
 * merchant event. Nothing was held in the ledger, so nothing needs releasing.
 */
import { assert } from '../platform/assert.ts';
import { withTransaction, type Queryable } from '../platform/db/database.ts';
import { KobanError } from '../platform/errors.ts';
import { uuidv7 } from '../platform/ids.ts';
import { completePayment, targetOf } from './complete.ts';
import type { CustomerContext } from './context.ts';
import type { PaymentsDeps } from './deps.ts';
import { settledPayment } from './in-flight.ts';
import { placeName } from './place-name.ts';
import { PAYMENT_COLUMNS, readPaymentById, toPayment, type Payment, type PaymentRow } from './model.ts';
import { paymentEventData } from './views.ts';

export type ConfirmationStrength = 'pin' | 'strong';

export interface ConfirmationNeed {
  readonly strength: ConfirmationStrength;
  /** Why (rule ids, or `amount`): shown to the customer and kept with the row for operators. */
  readonly reasons: readonly string[];
}

/** Whether a till payment must wait for its customer, and how strongly they must confirm. */
export function tillConfirmationNeed(deps: Pick<PaymentsDeps, 'config'>, amountMinor: bigint, risk: { decision: string; rules: readonly string[] }): ConfirmationNeed | null {
  if (risk.decision === 'challenge') return { strength: 'strong', reasons: risk.rules };
  if (amountMinor > deps.config.tillConfirmationAboveMinor) return { strength: 'pin', reasons: ['amount'] };
  return null;
}

/** A code payment still waiting for its customer: CREATED, no ledger transfer chosen yet. */
export function awaitingCustomer(payment: Payment): boolean {
  return payment.kind === 'customer_code' && payment.status === 'CREATED' && payment.paymentTransferId === null;
}

/**
 * Any payment waiting for its customer (a till's code payment, or a QR payment risk held): CREATED with a
 * customer and no transfer. (A dynamic QR order nobody has claimed has no customer; a failed claim releases it.)
 */
export function heldForCustomer(payment: Payment): boolean {
  return payment.status === 'CREATED' && payment.paymentTransferId === null && payment.customerId !== null;
}

/**
 * Turns the payment the claim just staged into one waiting for its customer: its transfer ids are taken
 * back (milliseconds after the claim, long before the repair sweeper would look at it) and the confirmation
 * row is written, in one statement.
 */
export async function holdForCustomer(deps: PaymentsDeps, staged: Payment, need: ConfirmationNeed): Promise<Payment> {
  assert(staged.status === 'CREATED' && staged.paymentTransferId !== null && staged.customerId !== null, 'a freshly staged payment');
  const now = deps.now();
  const expiresAt = new Date(now.getTime() + deps.config.customerConfirmationTtlSec * 1000);
  const held = await deps.db.pool.query<PaymentRow>(
    `with held as (
       update payments set payment_transfer_id = null, fee_transfer_id = null, staged_at = null
       where id = $1 and status = 'CREATED' and payment_transfer_id = $2 returning ${PAYMENT_COLUMNS}
     ), waiting as (
       insert into payment_confirmations (payment_id, customer_id, strength, reasons, expires_at, created_at)
       select id, customer_id, $3, $4::jsonb, $5, $6 from held
     )
     select * from held`,
    [staged.id, staged.paymentTransferId, need.strength, JSON.stringify(need.reasons), expiresAt, now]);
  const row = held.rows[0];
  assert(row !== undefined, 'nothing else moves a payment staged milliseconds ago');
  return toPayment(row);
}

export interface WaitingConfirmation {
  readonly paymentId: string;
  readonly amountMinor: bigint;
  readonly merchantName: string;
  readonly storeName: string | null;
  readonly strength: ConfirmationStrength;
  readonly reasons: readonly string[];
  readonly expiresAt: Date;
  readonly createdAt: Date;
}

const WAITING_LIST_MAX = 20;

/** What waits for this customer's confirmation now (the wallet's banner polls it). */
export async function waitingConfirmations(deps: Pick<PaymentsDeps, 'db' | 'now'>, ctx: CustomerContext): Promise<WaitingConfirmation[]> {
  const result = await deps.db.pool.query<{ payment_id: string; amount_minor: bigint; merchant_name: string; store_name: string | null; strength: ConfirmationStrength; reasons: string[]; expires_at: Date; created_at: Date }>(
    `select c.payment_id, p.amount_minor, m.name as merchant_name, s.name as store_name, c.strength, c.reasons, c.expires_at, c.created_at
     from payment_confirmations c join payments p on p.id = c.payment_id join merchants m on m.id = p.merchant_id left join stores s on s.id = p.store_id
     where c.customer_id = $1 and c.status = 'waiting' and c.expires_at > $2 order by c.created_at limit $3`,
    [ctx.customerId, deps.now(), WAITING_LIST_MAX]);
  return result.rows.map((r) => ({ paymentId: r.payment_id, amountMinor: r.amount_minor, merchantName: r.merchant_name, storeName: r.store_name,
    strength: r.strength, reasons: r.reasons, expiresAt: r.expires_at, createdAt: r.created_at }));
}

interface ConfirmationRow { payment_id: string; customer_id: string; strength: ConfirmationStrength; status: string; expires_at: Date }

async function readConfirmation(db: Queryable, ctx: CustomerContext, paymentId: string): Promise<ConfirmationRow> {
  const result = await db.query<ConfirmationRow>('select payment_id, customer_id, strength, status, expires_at from payment_confirmations where payment_id = $1 and customer_id = $2',
    [paymentId, ctx.customerId]);
  const row = result.rows[0];
  // Another customer's payment is "not found", as an unknown one is.
  if (row === undefined) throw new KobanError('confirmation_not_found');
  return row;
}

/**
 * The customer confirms: identity checks the proof for the strength asked (PIN; for `strong`, on an
 * established device), then the payment gets its transfer ids under the confirmation's row lock and is
 * completed like any other. A repeat after it was confirmed answers the payment's outcome.
 */
export async function confirmHeldPayment(deps: PaymentsDeps, ctx: CustomerContext, paymentId: string): Promise<Payment> {
  const before = await readConfirmation(deps.db.pool, ctx, paymentId);
  if (before.status !== 'waiting') return finalAnswer(deps, before);
  const held = await readPaymentById(deps.db.pool, paymentId);
  assert(held !== null, 'a confirmation names its payment');
  await deps.hooks.confirmsHeldPayment(ctx, before.strength, { id: held.id, amountMinor: held.amountMinor });
  const staged = await withTransaction(deps.db, async (client) => {
    const locked = await client.query<ConfirmationRow>(`select payment_id, customer_id, strength, status, expires_at from payment_confirmations where payment_id = $1 for update`, [paymentId]);
    const row = locked.rows[0];
    assert(row !== undefined, 'the confirmation was read');
    if (row.status !== 'waiting' || row.expires_at <= deps.now()) return null;
    await client.query(`update payment_confirmations set status = 'confirmed', decided_at = $2, decided_device_id = $3 where payment_id = $1`, [paymentId, deps.now(), ctx.deviceKey ?? ctx.deviceId]);
    const updated = await client.query<PaymentRow>(
      `update payments p set payment_transfer_id = $2, fee_transfer_id = case when p.fee_minor > 0 then $3::uuid end, staged_at = $4
       where id = $1 and status = 'CREATED' and payment_transfer_id is null returning ${PAYMENT_COLUMNS}`,
      [paymentId, uuidv7(), uuidv7(), deps.now()]);
    assert(updated.rows[0] !== undefined, 'a waiting payment is CREATED without a transfer');
    return toPayment(updated.rows[0]);
  });
  if (staged === null) {
    // Expired (or declined) meanwhile: settle it as such and answer that.
    await expireConfirmations(deps);
    return finalAnswer(deps, await readConfirmation(deps.db.pool, ctx, paymentId));
  }
  return completePayment(deps, staged, await targetOf(deps, staged));
}

/**
 * E-mails the code that, with the PIN, releases a payment held for a strong confirmation (identity sends it; a
 * resend replaces it, within the code's send limit). Only for a payment of this customer still waiting for a
 * strong confirmation: a `pin` one needs the PIN alone.
 */
export async function sendConfirmationCode(deps: PaymentsDeps, ctx: CustomerContext, paymentId: string): Promise<{ sentTo: string }> {
  const waiting = (await waitingConfirmations(deps, ctx)).find((w) => w.paymentId === paymentId);
  if (waiting === undefined) throw new KobanError('confirmation_not_found');
  if (waiting.strength !== 'strong') throw new KobanError('email_code_not_needed');
  return deps.hooks.sendConfirmationCode(ctx, { id: waiting.paymentId, amountMinor: waiting.amountMinor, place: placeName(waiting.merchantName, waiting.storeName) });
}

/** The customer declines: the payment fails with `customer_declined`, nothing moved. */
export async function declineHeldPayment(deps: PaymentsDeps, ctx: CustomerContext, paymentId: string): Promise<Payment> {
  const before = await readConfirmation(deps.db.pool, ctx, paymentId);
  if (before.status === 'waiting') await endWaiting(deps, paymentId, 'declined', 'customer_declined');
  return finalAnswer(deps, await readConfirmation(deps.db.pool, ctx, paymentId));
}

const EXPIRE_BATCH = 100;

/** Fails the payments whose customer did not answer in time (maintenance loop). Bounded per run. */
export async function expireConfirmations(deps: PaymentsDeps): Promise<number> {
  const due = await deps.db.pool.query<{ payment_id: string }>(
    `select payment_id from payment_confirmations where status = 'waiting' and expires_at <= $1 order by expires_at limit $2`, [deps.now(), EXPIRE_BATCH]);
  for (const row of due.rows) await endWaiting(deps, row.payment_id, 'expired', 'customer_confirmation_expired');
  return due.rows.length;
}

/** Declined or expired: the confirmation ends and the payment fails with its merchant event, in one transaction. */
async function endWaiting(deps: PaymentsDeps, paymentId: string, status: 'declined' | 'expired', failureCode: string): Promise<void> {
  await withTransaction(deps.db, async (client) => {
    const ended = await client.query(`update payment_confirmations set status = $2, decided_at = $3 where payment_id = $1 and status = 'waiting'`, [paymentId, status, deps.now()]);
    if (ended.rowCount !== 1) return;
    const failed = await client.query<PaymentRow>(
      `update payments set status = 'FAILED', failure_code = $2 where id = $1 and status = 'CREATED' and payment_transfer_id is null returning ${PAYMENT_COLUMNS}`, [paymentId, failureCode]);
    const row = failed.rows[0];
    assert(row !== undefined, 'a waiting payment is CREATED without a transfer');
    const payment = toPayment(row);
    await deps.events.record(client, { type: 'payment.failed', merchantId: payment.merchantId, paymentId: payment.id, data: await paymentEventData(client, payment) });
  });
}

/** The payment as it ended (a confirmed one still in flight is waited for, bounded: in-flight.ts). */
async function finalAnswer(deps: PaymentsDeps, confirmation: ConfirmationRow): Promise<Payment> {
  const payment = await readPaymentById(deps.db.pool, confirmation.payment_id);
  assert(payment !== null, 'a payment row is never deleted');
  return settledPayment(deps, payment);
}
