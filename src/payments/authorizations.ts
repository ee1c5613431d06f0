/**
 * Pre-authorisation (PayPay's "Preauth & Capture", issue 15): an order QR made with `isAuthorization` is paid
 * by a **ledger hold** — a pending transfer per debit (wallet → merchant receivable) with a timeout — instead
 * of a posted payment, and the payment is AUTHORIZED. Then exactly one of:
 *
 * - **capture** (`POST /v2/payments/capture`): the holds are posted with the captured amount (full or partial;
 *   the ledger releases the rest), the fee on the captured amount moves receivable → fee revenue in the same
 *   linked chain; the payment becomes COMPLETED with `amount_minor` = what was captured, settled and
 *   refundable like any payment;
 * - **revert** (`POST /v2/payments/preauthorize/revert`): the holds are voided; CANCELED;
 * - **expiry**: the ledger's sweeper releases the holds on its clock; the maintenance loop then marks the
 *   payment EXPIRED. A capture reaching the ledger after that is refused by it (`pending_transfer_expired`):
 *   the payment is EXPIRED and the merchant hears `authorization_expired` (OPA `ORDER_EXPIRED`); nothing moves.
 *
 * Capture and revert are one row each in `payment_authorization_actions`, whose primary key is the payment:
 * the first decision wins under the payment's row lock, a second capture or a revert racing it loses on the
 * key and answers the winner's outcome (same merchant id and body) or its refusal. Their ledger transfer ids
 * are derived from the hold's, so a retry, a racing copy and the repair sweeper all submit the same ones.
 */
import { TransferCodes, TransferFlags, type TransferRequest } from '../ledger/types.ts';
import { LEDGER_LIMITS } from '../ledger/validate.ts';
import { feeRevenueAccountOf } from '../ledger/platform-accounts.ts';
import { assert } from '../platform/assert.ts';
import { sqlState, withTransaction, type Queryable } from '../platform/db/database.ts';
import { KobanError } from '../platform/errors.ts';
import { derivedUuid } from '../platform/ids.ts';
import { targetOf, walletDebit, type Debit, type PaymentTarget } from './complete.ts';
import { noticeValues } from './customer-notices.ts';
import type { PaymentsDeps } from './deps.ts';
import { merchantFee } from './fees.ts';
import { awaitOutcome } from './in-flight.ts';
import { legsOutcome, type LegsOutcome } from './ledger-legs.ts';
import { fingerprint, lockPayment, PAYMENT_COLUMNS, readPaymentById, readPaymentByMerchantId, toPayment, type Payment, type PaymentRow } from './model.ts';
import { businessDate } from './time.ts';
import { outboxCte } from './webhooks/outbox.ts';
import { paymentEventData, paymentEventDataOf } from './views.ts';

/** The longest hold the ledger keeps (its pending timeout limit): also Koban's default when the merchant names none. */
export const AUTHORIZATION_EXPIRY_MAX_SEC = LEDGER_LIMITS.pendingTimeoutSecondsMax;
const ACTION_REPAIR_AFTER_MS = 10_000;
const SWEEP_BATCH = 100;

/** The authorisation's expiry: the merchant's `authorizationExpiry` (in the future, within the limit) or the limit itself. */
export function authorizationExpiry(now: Date, requested: Date | null): Date {
  const latest = now.getTime() + AUTHORIZATION_EXPIRY_MAX_SEC * 1000;
  if (requested === null) return new Date(latest);
  if (requested.getTime() <= now.getTime() || requested.getTime() > latest) {
    throw new KobanError('authorization_expiry_invalid', { errors: [{ pointer: '/body/authorizationExpiry', message: `must be after now and at most ${AUTHORIZATION_EXPIRY_MAX_SEC} seconds ahead` }] });
  }
  return requested;
}

// ---------------------------------------------------------------------------------------------------------
// Authorise: what "move money" and "record" do for an authorisation (complete.ts calls these).

/** The holds: each debit as a pending transfer into the receivable, timing out at the authorisation's expiry; one linked chain. */
export async function holdMoney(deps: PaymentsDeps, payment: Payment, debits: readonly Debit[], target: PaymentTarget): Promise<LegsOutcome> {
  assert(payment.isAuthorization && payment.authorizationExpiresAt !== null, 'an authorisation has its expiry');
  const left = Math.ceil((payment.authorizationExpiresAt.getTime() - deps.now().getTime()) / 1000);
  const timeoutSeconds = Math.min(Math.max(left, 1), AUTHORIZATION_EXPIRY_MAX_SEC);
  const requests: TransferRequest[] = debits.map((debit, index) => ({
    id: debit.transferId, debitAccountId: debit.accountId, creditAccountId: target.receivableAccountId, amount: debit.amountMinor, pendingId: null,
    ledger: target.ledger, code: TransferCodes.payment, flags: TransferFlags.pending | (index < debits.length - 1 ? TransferFlags.linked : 0),
    timeoutSeconds, reference: `payment:${payment.id}`,
  }));
  return legsOutcome(await deps.ledger.createTransfers(requests));
}

/**
 * One statement: the payment becomes AUTHORIZED, its QR PAID, and the `payment.authorized` event is written —
 * only if this call moved it on (the request and the repair sweeper may both record).
 */
export async function recordAuthorized(deps: PaymentsDeps, payment: Payment): Promise<{ payment: Payment; recordedHere: boolean }> {
  const authorizedAt = deps.now();
  const authorized: Payment = { ...payment, status: 'AUTHORIZED', authorizedAt };
  const event = deps.events.prepare({ type: 'payment.authorized', merchantId: payment.merchantId, paymentId: payment.id, data: paymentEventDataOf(authorized, []) });
  const updated = await deps.db.pool.query<PaymentRow>(
    `with done as (
       update payments set status = 'AUTHORIZED', authorized_at = $3
       where id = $1 and status = 'CREATED' and payment_transfer_id = $2 and is_authorization returning ${PAYMENT_COLUMNS}
     ), paid_qr as (
       update dynamic_qr_codes set status = 'PAID' where payment_id in (select id from done)
     ), ${outboxCte(4, 'done')}
     select ${PAYMENT_COLUMNS} from done`,
    [payment.id, payment.paymentTransferId, authorizedAt, ...event.values]);
  const row = updated.rows[0];
  if (row !== undefined) return { payment: toPayment(row), recordedHere: true };
  const current = await readPaymentById(deps.db.pool, payment.id);
  assert(current !== null, 'a payment row is never deleted');
  return { payment: current, recordedHere: false };
}

// ---------------------------------------------------------------------------------------------------------
// Capture and revert: the steps of pipeline.ts CAPTURE and REVERT.

export type ActionKind = 'capture' | 'revert';

interface Action {
  readonly paymentId: string;
  readonly kind: ActionKind;
  readonly merchantActionId: string;
  readonly requestFingerprint: string;
  readonly amountMinor: bigint | null;
  readonly feeMinor: bigint | null;
}

export interface CaptureRequest {
  readonly merchantId: string;
  readonly merchantPaymentId: string;
  readonly merchantCaptureId: string;
  readonly amountMinor: bigint;
  readonly orderDescription: string | null;
  readonly requestedAt: Date | null;
}

export interface RevertRequest {
  readonly merchantId: string;
  /** PayPay's paymentId: Koban's payment id (any other string is simply not found). */
  readonly paymentId: string;
  readonly merchantRevertId: string;
  readonly reason: string | null;
  readonly requestedAt: Date | null;
}

/** A capture or revert as it passes its table's steps. */
export interface AuthorizationAttempt {
  readonly kind: ActionKind;
  readonly merchantId: string;
  readonly merchantActionId: string;
  readonly amountMinor: bigint | null;
  readonly note: string | null;
  readonly requestedAt: Date | null;
  /** How the payment is named: by the merchant's id (capture) or Koban's (revert). */
  readonly paymentRef: { readonly merchantPaymentId: string } | { readonly paymentId: string };
  payment?: Payment;
  action?: Action;
  target?: PaymentTarget;
  moved?: LegsOutcome;
  recorded?: { readonly payment: Payment; readonly recordedHere: boolean };
}

export function captureAttempt(request: CaptureRequest): AuthorizationAttempt {
  return {
    kind: 'capture', merchantId: request.merchantId, merchantActionId: request.merchantCaptureId, amountMinor: request.amountMinor,
    note: request.orderDescription, requestedAt: request.requestedAt, paymentRef: { merchantPaymentId: request.merchantPaymentId },
  };
}

export function revertAttempt(request: RevertRequest): AuthorizationAttempt {
  return {
    kind: 'revert', merchantId: request.merchantId, merchantActionId: request.merchantRevertId, amountMinor: null,
    note: request.reason, requestedAt: request.requestedAt, paymentRef: { paymentId: request.paymentId },
  };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The authorisation the request names, of this merchant only; anything else is not found. */
export async function readAuthorization(deps: PaymentsDeps, attempt: AuthorizationAttempt): Promise<undefined> {
  const ref = attempt.paymentRef;
  let payment: Payment | null = null;
  if ('merchantPaymentId' in ref) payment = await readPaymentByMerchantId(deps.db.pool, attempt.merchantId, ref.merchantPaymentId);
  else if (UUID.test(ref.paymentId)) payment = await readPaymentById(deps.db.pool, ref.paymentId);
  if (payment === null || payment.merchantId !== attempt.merchantId) throw new KobanError('payment_not_found');
  if (!payment.isAuthorization) throw new KobanError(attempt.kind === 'capture' ? 'payment_not_capturable' : 'payment_not_revertible', { detail: 'the payment is not a pre-authorisation' });
  attempt.payment = payment;
  return undefined;
}

function fingerprintOf(attempt: AuthorizationAttempt, paymentId: string): string {
  return fingerprint([attempt.kind, paymentId, attempt.amountMinor, attempt.note]);
}

/**
 * Replay check: the merchant's capture/revert id seen before answers that operation's outcome (waiting,
 * bounded, while it is in flight), even while payments are switched off; the same id with another body is a
 * duplicate.
 */
export async function answerRepeatedAction(deps: PaymentsDeps, attempt: AuthorizationAttempt): Promise<Payment | undefined> {
  const { payment } = attempt;
  assert(payment !== undefined, 'the authorisation was read');
  const earlier = await readActionByMerchantId(deps.db.pool, attempt.merchantId, attempt.kind, attempt.merchantActionId);
  if (earlier === null) return undefined;
  if (earlier.paymentId !== payment.id || earlier.requestFingerprint !== fingerprintOf(attempt, payment.id)) throw new KobanError('merchant_action_id_conflict');
  return actionAnswer(earlier.kind, await settledAuthorization(deps, payment.id));
}

/** Refused before anything is written; the claim checks again under the lock. */
export function requireOpenAuthorization(_deps: PaymentsDeps, attempt: AuthorizationAttempt): undefined {
  const { payment } = attempt;
  assert(payment !== undefined, 'the authorisation was read');
  refuseClosed(attempt.kind, payment);
  if (attempt.amountMinor !== null) {
    assert(payment.authorizedAmountMinor !== null, 'an authorisation has its amount');
    if (attempt.amountMinor > payment.authorizedAmountMinor) {
      throw new KobanError('validation_failed', { errors: [{ pointer: '/body/amount/amount', message: `must not exceed the authorised amount (${payment.authorizedAmountMinor})` }] });
    }
  }
  return undefined;
}

/** Why a capture or revert cannot apply to a payment that is no longer AUTHORIZED (or not yet). */
function refuseClosed(kind: ActionKind, payment: Payment): void {
  switch (payment.status) {
    case 'AUTHORIZED': return;
    case 'EXPIRED': throw new KobanError('authorization_expired');
    case 'CREATED': throw new KobanError(kind === 'capture' ? 'payment_not_capturable' : 'payment_not_revertible', { detail: 'the customer has not authorised the payment yet' });
    case 'COMPLETED':
    case 'REFUNDED': throw new KobanError(kind === 'capture' ? 'payment_already_captured' : 'payment_not_revertible', { detail: 'the authorisation was captured' });
    default: throw new KobanError(kind === 'capture' ? 'payment_not_capturable' : 'payment_not_revertible', { detail: `the authorisation is ${payment.status}` });
  }
}

/**
 * The claim: under the payment row's lock, the capture or revert becomes this authorisation's one decision
 * (the table's primary key is the payment). Losing to this merchant's own earlier request with the same id
 * answers its outcome; losing to another decision is that decision's refusal.
 */
export async function claimAction(deps: PaymentsDeps, attempt: AuthorizationAttempt): Promise<Payment | undefined> {
  const { payment } = attempt;
  assert(payment !== undefined, 'the authorisation was read');
  const requestFingerprint = fingerprintOf(attempt, payment.id);
  const feeMinor = attempt.amountMinor === null ? null : merchantFee(attempt.amountMinor, deps.config.merchantFeeBps);
  let claimed: { action: Action } | { earlier: Action };
  try {
    claimed = await withTransaction(deps.db, async (client) => {
      await lockPayment(client, payment.id);
      const existing = await readAction(client, payment.id);
      if (existing !== null) return { earlier: existing };
      const current = await readPaymentById(client, payment.id);
      assert(current !== null, 'a payment row is never deleted');
      refuseClosed(attempt.kind, current);
      await client.query(
        `insert into payment_authorization_actions (payment_id, merchant_id, kind, merchant_action_id, request_fingerprint, amount_minor, fee_minor, note, requested_at, created_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
        [payment.id, attempt.merchantId, attempt.kind, attempt.merchantActionId, requestFingerprint, attempt.amountMinor, feeMinor, attempt.note, attempt.requestedAt, deps.now()]);
      return { action: { paymentId: payment.id, kind: attempt.kind, merchantActionId: attempt.merchantActionId, requestFingerprint, amountMinor: attempt.amountMinor, feeMinor } };
    });
  } catch (error) {
    // The merchant's id is already another authorisation's capture/revert.
    if (sqlState(error) === '23505') throw new KobanError('merchant_action_id_conflict');
    throw error;
  }
  if ('earlier' in claimed) {
    const { earlier } = claimed;
    const settled = await settledAuthorization(deps, payment.id);
    if (earlier.kind === attempt.kind && earlier.merchantActionId === attempt.merchantActionId) {
      if (earlier.requestFingerprint !== requestFingerprint) throw new KobanError('merchant_action_id_conflict');
      return actionAnswer(earlier.kind, settled);
    }
    refuseClosed(attempt.kind, settled);
    // Still AUTHORIZED after the bounded wait: the other decision is in flight.
    throw new KobanError('payment_in_progress');
  }
  attempt.action = claimed.action;
  attempt.target = await targetOf(deps, payment);
  return undefined;
}

/** Capture: post each hold with its share of the amount (or void a hold that gets none), then the fee; one linked chain. */
export async function resolveHoldsStep(deps: PaymentsDeps, attempt: AuthorizationAttempt): Promise<undefined> {
  assert(attempt.payment !== undefined && attempt.action !== undefined && attempt.target !== undefined, 'the action is claimed');
  attempt.moved = await resolveHolds(deps, attempt.payment, attempt.action, attempt.target);
  return undefined;
}

async function resolveHolds(deps: PaymentsDeps, payment: Payment, action: Action, target: PaymentTarget): Promise<LegsOutcome> {
  const holds = await heldDebits(deps, payment);
  let left = action.amountMinor ?? 0n;
  const requests: TransferRequest[] = holds.map((hold) => {
    const share = left < hold.amountMinor ? left : hold.amountMinor;
    left -= share;
    const post = action.kind === 'capture' && share > 0n;
    return {
      id: derivedUuid(`koban-authorization-${action.kind}`, hold.transferId), debitAccountId: null, creditAccountId: null, amount: post ? share : null,
      pendingId: hold.transferId, ledger: target.ledger, code: TransferCodes.payment,
      flags: post ? TransferFlags.postPendingTransfer : TransferFlags.voidPendingTransfer, timeoutSeconds: 0, reference: `payment:${payment.id}`,
    };
  });
  assert(left === 0n, 'the capture is within the holds');
  if (action.kind === 'capture' && action.feeMinor !== null && action.feeMinor > 0n) {
    assert(payment.feeTransferId !== null, 'a payment with a fee has its fee transfer id');
    requests.push({
      id: payment.feeTransferId, debitAccountId: target.receivableAccountId, creditAccountId: feeRevenueAccountOf(target.ledger), amount: action.feeMinor, pendingId: null,
      ledger: target.ledger, code: TransferCodes.fee, flags: TransferFlags.none, timeoutSeconds: 0, reference: `payment:${payment.id}`,
    });
  }
  const chained = requests.map((request, index) => ({ ...request, flags: request.flags | (index < requests.length - 1 ? TransferFlags.linked : 0) }));
  return legsOutcome(await deps.ledger.createTransfers(chained));
}

/** The holds of an authorisation: the stored debit plan when the payer had several balances, else the whole amount from the wallet. */
async function heldDebits(deps: PaymentsDeps, payment: Payment): Promise<readonly Debit[]> {
  assert(payment.paymentTransferId !== null && payment.authorizedAmountMinor !== null, 'an authorised payment has its hold');
  const stored = await deps.db.pool.query<{ debits: Array<{ accountId: string; amountMinor: string; transferId: string }> }>(
    'select debits from payment_debit_plans where payment_transfer_id = $1', [payment.paymentTransferId]);
  const plan = stored.rows[0];
  if (plan === undefined) return walletDebit({ ...payment, amountMinor: payment.authorizedAmountMinor });
  return plan.debits.map((d) => ({ accountId: d.accountId, amountMinor: BigInt(d.amountMinor), transferId: d.transferId }));
}

/** Records the ledger's answer: COMPLETED (capture), CANCELED (revert) or EXPIRED (the ledger let the hold go first). */
export async function recordActionStep(deps: PaymentsDeps, attempt: AuthorizationAttempt): Promise<undefined> {
  assert(attempt.payment !== undefined && attempt.action !== undefined && attempt.moved !== undefined && attempt.target !== undefined, 'the ledger answered');
  attempt.recorded = await recordAction(deps, attempt.payment, attempt.action, attempt.moved, attempt.target);
  return undefined;
}

async function recordAction(deps: PaymentsDeps, payment: Payment, action: Action, moved: LegsOutcome, target: PaymentTarget): Promise<{ payment: Payment; recordedHere: boolean }> {
  if (!moved.ok && moved.result === 'pending_transfer_expired') return recordExpired(deps, payment.id);
  if (!moved.ok) {
    // Any other refusal (the merchant's account closed…): nothing moved, the authorisation stays open, and
    // the sticky transfer ids make a retry answer the same. Operators see it in the log.
    deps.log.error({ paymentId: payment.id, result: moved.result, kind: action.kind }, 'the ledger refused an authorisation capture or revert');
    throw new KobanError('payment_failed', { detail: `the ledger refused the ${action.kind}: ${moved.result}` });
  }
  const at = deps.now();
  return withTransaction(deps.db, async (client) => {
    await lockPayment(client, payment.id);
    const updated = action.kind === 'capture'
      ? await client.query<PaymentRow>(
        `update payments set status = 'COMPLETED', amount_minor = $2, fee_minor = $3, accepted_at = $4, business_date = $5
         where id = $1 and status = 'AUTHORIZED' returning ${PAYMENT_COLUMNS}`, [payment.id, action.amountMinor, action.feeMinor, at, businessDate(at)])
      : await client.query<PaymentRow>(`update payments set status = 'CANCELED', canceled_at = $2 where id = $1 and status = 'AUTHORIZED' returning ${PAYMENT_COLUMNS}`, [payment.id, at]);
    const row = updated.rows[0];
    if (row === undefined) return { payment: await currentPayment(client, payment.id), recordedHere: false };
    const done = toPayment(row);
    assert(done.customerId !== null && done.authorizedAmountMinor !== null, 'an authorised payment has its customer');
    await deps.events.record(client, { type: action.kind === 'capture' ? 'payment.completed' : 'payment.canceled', merchantId: done.merchantId, paymentId: done.id, data: await paymentEventData(client, done) });
    const [id, json] = noticeValues({
      type: action.kind === 'capture' ? 'payment.completed' : 'payment.canceled', paymentId: done.id,
      amountMinor: action.kind === 'capture' ? done.amountMinor : done.authorizedAmountMinor, merchantName: target.merchantName, storeName: target.storeName, at,
    });
    await client.query('insert into payment_customer_notices (id, customer_id, event, created_at) values ($1, $2, $3::jsonb, $4)', [id, done.customerId, json, at]);
    return { payment: done, recordedHere: true };
  });
}

/** The hold is gone on the ledger's clock: the payment becomes EXPIRED with its event, once. */
async function recordExpired(deps: PaymentsDeps, paymentId: string): Promise<{ payment: Payment; recordedHere: boolean }> {
  return withTransaction(deps.db, async (client) => {
    await lockPayment(client, paymentId);
    const updated = await client.query<PaymentRow>(`update payments set status = 'EXPIRED' where id = $1 and status = 'AUTHORIZED' returning ${PAYMENT_COLUMNS}`, [paymentId]);
    const row = updated.rows[0];
    if (row === undefined) return { payment: await currentPayment(client, paymentId), recordedHere: false };
    const expired = toPayment(row);
    await deps.events.record(client, { type: 'payment.expired', merchantId: expired.merchantId, paymentId, data: await paymentEventData(client, expired) });
    return { payment: expired, recordedHere: true };
  });
}

export function actionConsequencesStep(deps: PaymentsDeps, attempt: AuthorizationAttempt): undefined {
  if (attempt.recorded?.recordedHere === true) deps.notices.kick();
  return undefined;
}

export function actionAnswerStep(_deps: PaymentsDeps, attempt: AuthorizationAttempt): Payment {
  assert(attempt.recorded !== undefined, 'the outcome is recorded');
  return actionAnswer(attempt.kind, attempt.recorded.payment);
}

/** A capture answers the captured payment, a revert the cancelled one; an authorisation that expired first answers that. */
function actionAnswer(kind: ActionKind, payment: Payment): Payment {
  if (payment.status === 'EXPIRED') throw new KobanError('authorization_expired');
  if (kind === 'capture' && (payment.status === 'COMPLETED' || payment.status === 'REFUNDED' || (payment.status === 'CANCELED' && payment.acceptedAt !== null))) return payment;
  if (kind === 'revert' && payment.status === 'CANCELED' && payment.acceptedAt === null) return payment;
  if (payment.status === 'AUTHORIZED') throw new KobanError('payment_in_progress');
  throw new KobanError(kind === 'capture' ? 'payment_not_capturable' : 'payment_not_revertible', { detail: `the authorisation is ${payment.status}` });
}

/** The payment once a decided capture/revert is recorded (no longer AUTHORIZED): bounded wait, else payment_in_progress. */
async function settledAuthorization(deps: PaymentsDeps, paymentId: string): Promise<Payment> {
  return awaitOutcome(() => currentPayment(deps.db.pool, paymentId), (p) => p.status !== 'AUTHORIZED', () => new KobanError('payment_in_progress'));
}

async function currentPayment(db: Queryable, paymentId: string): Promise<Payment> {
  const current = await readPaymentById(db, paymentId);
  assert(current !== null, 'a payment row is never deleted');
  return current;
}

interface ActionRow { payment_id: string; kind: ActionKind; merchant_action_id: string; request_fingerprint: string; amount_minor: bigint | null; fee_minor: bigint | null }
const ACTION_COLUMNS = 'payment_id, kind, merchant_action_id, request_fingerprint, amount_minor, fee_minor';
function toAction(row: ActionRow): Action {
  return { paymentId: row.payment_id, kind: row.kind, merchantActionId: row.merchant_action_id, requestFingerprint: row.request_fingerprint, amountMinor: row.amount_minor, feeMinor: row.fee_minor };
}

async function readAction(db: Queryable, paymentId: string): Promise<Action | null> {
  const result = await db.query<ActionRow>(`select ${ACTION_COLUMNS} from payment_authorization_actions where payment_id = $1`, [paymentId]);
  return result.rows[0] === undefined ? null : toAction(result.rows[0]);
}

async function readActionByMerchantId(db: Queryable, merchantId: string, kind: ActionKind, merchantActionId: string): Promise<Action | null> {
  const result = await db.query<ActionRow>(
    `select ${ACTION_COLUMNS} from payment_authorization_actions where merchant_id = $1 and kind = $2 and merchant_action_id = $3`, [merchantId, kind, merchantActionId]);
  return result.rows[0] === undefined ? null : toAction(result.rows[0]);
}

// ---------------------------------------------------------------------------------------------------------
// The maintenance loop: finish captures/reverts a crash left between the ledger and the record, and mark
// authorisations EXPIRED once the ledger has released their holds.

/** Captures and reverts decided but not recorded after a while: re-submit the same transfer ids, record the ledger's answer. */
export async function repairAuthorizationActions(deps: PaymentsDeps): Promise<number> {
  const before = new Date(deps.now().getTime() - ACTION_REPAIR_AFTER_MS);
  type StuckRow = PaymentRow & { action_kind: ActionKind; merchant_action_id: string; action_fingerprint: string; action_amount: bigint | null; action_fee: bigint | null };
  const stuck = await deps.db.pool.query<StuckRow>(
    `select ${PAYMENT_COLUMNS.split(',').map((c) => `p.${c.trim()}`).join(', ')}, a.kind as action_kind, a.merchant_action_id,
       a.request_fingerprint as action_fingerprint, a.amount_minor as action_amount, a.fee_minor as action_fee
     from payment_authorization_actions a join payments p on p.id = a.payment_id
     where p.status = 'AUTHORIZED' and a.created_at < $1 order by a.created_at limit $2`, [before, SWEEP_BATCH]);
  for (const row of stuck.rows) {
    const payment = toPayment(row);
    const action: Action = { paymentId: payment.id, kind: row.action_kind, merchantActionId: row.merchant_action_id, requestFingerprint: row.action_fingerprint, amountMinor: row.action_amount, feeMinor: row.action_fee };
    const target = await targetOf(deps, payment);
    await recordAction(deps, payment, action, await resolveHolds(deps, payment, action, target), target).catch((error: unknown) => {
      deps.log.error({ err: error, paymentId: payment.id }, 'repairing an authorisation capture or revert failed');
    });
  }
  return stuck.rows.length;
}

/**
 * Authorisations past their expiry: once the ledger has released the hold
 * (its own sweeper, on the database clock; asked to run now when a due hold is still pending), the payment
 * becomes EXPIRED with its event. A hold the ledger has not yet found due is left for the next round.
 */
export async function expireAuthorizations(deps: PaymentsDeps): Promise<number> {
  const due = await deps.db.pool.query<PaymentRow>(
    // With or without a capture/revert decided: only the ledger's word counts. A hold it posted or voided is not
    // `expired`; one it let expire under a decided capture (refused since) must not stay AUTHORIZED for ever.
    `select ${PAYMENT_COLUMNS} from payments where status = 'AUTHORIZED' and authorization_expires_at <= $1
     order by authorization_expires_at limit $2`, [deps.now(), SWEEP_BATCH]);
  let expired = 0;
  let swept = false;
  for (const row of due.rows) {
    const payment = toPayment(row);
    assert(payment.paymentTransferId !== null, 'an authorised payment has its hold');
    let hold = await deps.ledger.holdStatus(payment.paymentTransferId);
    if (hold?.status === 'pending' && !swept) {
      swept = true;
      await deps.ledger.expireDueHolds();
      hold = await deps.ledger.holdStatus(payment.paymentTransferId);
    }
    if (hold?.status !== 'expired') continue;
    if ((await recordExpired(deps, payment.id)).recordedHere) expired += 1;
  }
  return expired;
}
