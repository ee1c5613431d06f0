/**
 * A customer pays a merchant-presented QR from the wallet app: a dynamic (order) QR with a fixed amount,
 * or a static store QR (EMVCo, with CRC) for which the customer types the amount. Above the configured
 * amount the customer must have confirmed with their PIN or a passkey (identity's hook decides). The steps,
 * in the order the pipeline (pipeline.ts) runs them, are below.
 */
import { createHash } from 'node:crypto';
import { assert } from '../platform/assert.ts';
import { sqlState, withTransaction } from '../platform/db/database.ts';
import { KobanError } from '../platform/errors.ts';
import { uuidv7 } from '../platform/ids.ts';
import { requireOwnWallet } from './codes.ts';
import type { SettlingAttempt } from './complete.ts';
import type { CustomerContext } from './context.ts';
import { heldForCustomer, holdForCustomer, type ConfirmationNeed } from './customer-confirmation.ts';
import type { PaymentsDeps } from './deps.ts';
import { readDynamicQrForCustomer, type DynamicQr, type QrPreview } from './dynamic-qr.ts';
import { parseStaticQrPayload } from './emvco.ts';
import { merchantFee } from './fees.ts';
import { fingerprint, lockPayment, PAYMENT_COLUMNS, readPaymentByMerchantId, toPayment, type Payment, type PaymentRow } from './model.ts';
import { paymentAnswer } from './outcomes.ts';
import { assessPaymentWithRules, walletBalanceMinor } from './risk-check.ts';
import { paymentInFlight, settledPayment } from './in-flight.ts';

/** A customer's QR payment as it passes the steps (pipeline.ts DYNAMIC_QR_PAYMENT, STATIC_QR_PAYMENT). */
export interface QrAttempt extends SettlingAttempt {
  readonly ctx: CustomerContext;
  /** What the risk engine and the strong-confirmation check are told; set by the step that finds the order or store. */
  facts?: { paymentId: string; merchantId: string; amountMinor: bigint; storeId: string | null; categoryCode: string };
  /** Set when risk asked for a strong confirmation the request did not give: the payment waits for it (issue 13's hold). */
  confirmation?: ConfirmationNeed;
  /** The customer proved this payment with the passkey they pay with: the strongest confirmation there is. */
  passkeyProved?: boolean;
}

export interface DynamicQrAttempt extends QrAttempt {
  readonly codeId: string;
  qr?: DynamicQr;
}

export interface StaticQrAttempt extends QrAttempt {
  readonly payload: string;
  readonly amountMinor: bigint;
  readonly idempotencyKey: string | null;
  store?: { merchantId: string; storeId: string };
  merchantPaymentId?: string;
  requestFingerprint?: string;
}

/**
 * A customer who pays with a passkey proves this payment with it (identity's step-up `pay`, bound to the order
 * or to the typed amount), before anything is scored or claimed; without it the payment is refused
 * (`payment_passkey_required`). After the replay check, so a retried tap gets its first answer without a new proof.
 */
export async function paymentPasskeyForOrder(deps: PaymentsDeps, attempt: DynamicQrAttempt): Promise<undefined> {
  if (attempt.ctx.paysWithPasskey !== true) return undefined;
  await deps.hooks.requirePaymentPasskey(attempt.ctx, { method: 'order_qr', codeId: attempt.codeId });
  attempt.passkeyProved = true;
  return undefined;
}

export async function paymentPasskeyForStore(deps: PaymentsDeps, attempt: StaticQrAttempt): Promise<undefined> {
  if (attempt.ctx.paysWithPasskey !== true) return undefined;
  await deps.hooks.requirePaymentPasskey(attempt.ctx, { method: 'store_qr', amountMinor: attempt.amountMinor });
  attempt.passkeyProved = true;
  return undefined;
}

export async function requireOwnWalletStep(deps: PaymentsDeps, attempt: QrAttempt): Promise<undefined> {
  await requireOwnWallet(deps.db.pool, attempt.ctx);
  return undefined;
}

/**
 * The risk engine (deny and review refuse), then confirmation — the PIN above the configured amount. When the
 * engine asks for a step-up (challenge: above the account's budget, an unusual context, a balance being
 * emptied) the payment needs a **strong** confirmation (the PIN on a device the account has known for a day,
 * or a passkey: identity's hook decides); one not given with this request is not refused but **held**, like a
 * till's (customer-confirmation.ts): staged with no transfer, answered "waiting", released from the customer's
 * established phone or with a passkey, declined, or expired. A thief on a fresh sign-in can start one, never
 * finish it.
 */
export async function assessQrPayment(deps: PaymentsDeps, attempt: QrAttempt): Promise<undefined> {
  const { ctx, facts } = attempt;
  assert(facts !== undefined, 'the order or store is known');
  const risk = await assessPaymentWithRules(deps, {
    kind: 'payment', accountId: ctx.customerId, deviceId: ctx.deviceKey ?? ctx.deviceId, storeId: facts.storeId, merchantId: facts.merchantId, merchantCategoryCode: facts.categoryCode,
    amountMinor: facts.amountMinor, ip: ctx.ip ?? null, balanceMinor: await walletBalanceMinor(deps, ctx.walletAccountId), ref: facts.paymentId,
    ...(attempt.passkeyProved === true ? { passkeyProved: true } : {}),
  });
  if (risk.decision === 'challenge') {
    // No PIN typed with the payment is strong enough (malware on the phone has it): it waits for the PIN plus the
    // e-mailed code, or a passkey (customer-confirmation.ts). A payment proved with the passkey met the challenge.
    if (attempt.passkeyProved !== true) attempt.confirmation = { strength: 'strong', reasons: risk.rules };
    return undefined;
  }
  if (facts.amountMinor <= deps.config.strongConfirmationAboveMinor || attempt.passkeyProved === true) return undefined;
  if (!(await deps.hooks.requireStrongConfirmation(ctx, facts.amountMinor))) {
    throw new KobanError('strong_confirmation_required', { detail: `payments above ${deps.config.strongConfirmationAboveMinor} JPY need your PIN or a passkey` });
  }
  return undefined;
}

/** A payment risk asked to confirm strongly stops here, staged and waiting (202, status CREATED). */
export async function holdQrForCustomer(deps: PaymentsDeps, attempt: QrAttempt): Promise<Payment | undefined> {
  if (attempt.confirmation === undefined) return undefined;
  assert(attempt.staged !== undefined, 'the claim staged the payment');
  return holdForCustomer(deps, attempt.staged, attempt.confirmation);
}

export async function previewDynamicQr(deps: PaymentsDeps, codeId: string): Promise<QrPreview> {
  return (await readDynamicQrForCustomer(deps, codeId)).preview;
}

/** The order behind the code, and where its money goes. */
export async function readOrder(deps: PaymentsDeps, attempt: DynamicQrAttempt): Promise<undefined> {
  const { qr, preview } = await readDynamicQrForCustomer(deps, attempt.codeId);
  const merchant = await deps.tills.merchant(qr.payment.merchantId);
  attempt.qr = qr;
  attempt.target = { receivableAccountId: merchant.receivableAccountId, ledger: merchant.ledger, merchantName: preview.merchantName, storeName: preview.storeName };
  attempt.facts = { paymentId: qr.payment.id, merchantId: qr.payment.merchantId, amountMinor: qr.payment.amountMinor, storeId: qr.payment.storeId, categoryCode: merchant.categoryCode };
  return undefined;
}

/** Replay check: a second tap while this customer's first is being paid, or after it was, answers the first's outcome. */
export async function answerRepeatedTap(deps: PaymentsDeps, attempt: DynamicQrAttempt): Promise<Payment | undefined> {
  const { qr, ctx } = attempt;
  assert(qr !== undefined, 'the order was read');
  const own = qr.payment.customerId === ctx.customerId && qr.payment.walletAccountId === ctx.walletAccountId;
  if (own && heldForCustomer(qr.payment)) return qr.payment;
  if (own && paymentInFlight(qr.payment)) return paymentAnswer(await settledPayment(deps, qr.payment));
  if (own && (qr.payment.status === 'COMPLETED' || qr.payment.status === 'REFUNDED' || qr.payment.status === 'AUTHORIZED')) return qr.payment;
  return undefined;
}

/** Refused before the risk engine counts an attempt; the claim checks again under the lock. */
export function requirePayableOrder(deps: PaymentsDeps, attempt: DynamicQrAttempt): undefined {
  const { qr } = attempt;
  assert(qr !== undefined, 'the order was read');
  if (qr.status !== 'ACTIVE' || qr.payment.status !== 'CREATED') throw new KobanError('dynamic_qr_unavailable');
  if (qr.expiresAt <= deps.now() || authorizationLapsed(qr.payment, deps.now())) throw new KobanError('dynamic_qr_expired');
  return undefined;
}

/** A pre-authorisation order whose authorisation expiry has passed can no longer be authorised. */
function authorizationLapsed(payment: Pick<Payment, 'isAuthorization' | 'authorizationExpiresAt'>, now: Date): boolean {
  return payment.isAuthorization && payment.authorizationExpiresAt !== null && payment.authorizationExpiresAt <= now;
}

/**
 * Claims the order for this customer under the payment row's lock, with fresh ledger transfer ids. A tap
 * that loses the claim to this customer's own earlier tap (a double tap, a retry storm) answers that tap's
 * outcome, exactly as the replay check would have had it read the order a moment later.
 */
export async function claimOrder(deps: PaymentsDeps, attempt: DynamicQrAttempt): Promise<Payment | undefined> {
  const { qr, ctx } = attempt;
  assert(qr !== undefined, 'the order was read');
  let ownEarlierTap: Payment | null = null;
  const staged = await withTransaction(deps.db, async (client): Promise<Payment | null> => {
    // The global lock order (model.ts lockPayment): the payment row, then its QR row.
    await lockPayment(client, qr.payment.id);
    const locked = await client.query<PaymentRow & { code_status: string; expires_at: Date }>(
      `select ${PAYMENT_COLUMNS.split(',').map((c) => `p.${c.trim()}`).join(', ')}, c.status as code_status, c.expires_at
       from dynamic_qr_codes c join payments p on p.id = c.payment_id where c.id = $1 for update of c`, [attempt.codeId]);
    const row = locked.rows[0];
    assert(row !== undefined, 'the code was just read');
    const own = (r: PaymentRow) => r.customer_id === ctx.customerId && r.wallet_account_id === ctx.walletAccountId;
    const claimedByThisWallet = own(row) && row.payment_transfer_id !== null;
    if (claimedByThisWallet || (own(row) && heldForCustomer(toPayment(row)))) {
      ownEarlierTap = toPayment(row);
      return null;
    }
    // Held for another customer's confirmation: that customer's order now, until they decide.
    if (heldForCustomer(toPayment(row))) throw new KobanError('payment_in_progress');
    if (row.code_status !== 'ACTIVE' || row.status !== 'CREATED') throw new KobanError('dynamic_qr_unavailable');
    if (row.expires_at <= deps.now() || authorizationLapsed(toPayment(row), deps.now())) throw new KobanError('dynamic_qr_expired');
    if (row.payment_transfer_id !== null) throw new KobanError('payment_in_progress');
    const updated = await client.query<PaymentRow>(
      `update payments set customer_id = $2, wallet_account_id = $3, device_id = $4, payment_transfer_id = $5, fee_transfer_id = $6, staged_at = $7, failure_code = null
       where id = $1 returning ${PAYMENT_COLUMNS}`,
      [row.id, ctx.customerId, ctx.walletAccountId, ctx.deviceId, uuidv7(), row.fee_minor > 0n ? uuidv7() : null, deps.now()]);
    return toPayment(updated.rows[0] as PaymentRow);
  });
  if (ownEarlierTap !== null) return answerOf(await settledPayment(deps, ownEarlierTap));
  assert(staged !== null, 'the order was claimed or answered');
  attempt.staged = staged;
  return undefined;
}

export async function previewStaticQr(deps: PaymentsDeps, payload: string): Promise<QrPreview & { merchantId: string; storeId: string }> {
  const parsed = parseStaticQrPayload(payload);
  const result = await deps.db.pool.query<{ merchant_name: string; store_name: string }>(
    `select m.name as merchant_name, s.name as store_name from stores s join merchants m on m.id = s.merchant_id
     where s.id = $1 and m.id = $2 and s.status = 'active' and m.status = 'active'`, [parsed.storeId, parsed.merchantId]);
  const row = result.rows[0];
  if (row === undefined) throw new KobanError('qr_payload_invalid', { detail: 'this store does not take payments' });
  return { merchantId: parsed.merchantId, storeId: parsed.storeId, merchantName: row.merchant_name, storeName: row.store_name, amountMinor: null, orderDescription: null, expiresAt: null };
}

/**
 * The store behind the payload; `idempotencyKey` (from the app) makes a double tap one payment: the same
 * key and amount answer the first payment, the same key with another amount is a conflict.
 */
export async function readStore(deps: PaymentsDeps, attempt: StaticQrAttempt): Promise<undefined> {
  const store = await previewStaticQr(deps, attempt.payload);
  attempt.store = store;
  const key = attempt.idempotencyKey;
  attempt.merchantPaymentId = key === null ? `st-${uuidv7()}` : `st-${createHash('sha256').update(`${attempt.ctx.customerId}:${key}`).digest('base64url').slice(0, 40)}`;
  attempt.requestFingerprint = fingerprint(['static_qr', attempt.amountMinor, store.storeId, attempt.ctx.customerId]);
  return undefined;
}

/** Replay check: a double tap answers the first payment, even while payments are switched off. */
export async function answerRepeatedStaticPayment(deps: PaymentsDeps, attempt: StaticQrAttempt): Promise<Payment | undefined> {
  const { store, merchantPaymentId, requestFingerprint } = attempt;
  assert(store !== undefined && merchantPaymentId !== undefined && requestFingerprint !== undefined, 'the store was read');
  const earlier = await readPaymentByMerchantId(deps.db.pool, store.merchantId, merchantPaymentId);
  return earlier === null ? undefined : repeatOf(deps, earlier, requestFingerprint);
}

export async function resolveStore(deps: PaymentsDeps, attempt: StaticQrAttempt): Promise<undefined> {
  assert(attempt.store !== undefined, 'the store was read');
  const till = await deps.tills.require(attempt.store.merchantId, attempt.store.storeId, null);
  attempt.target = till;
  attempt.facts = { paymentId: uuidv7(), merchantId: attempt.store.merchantId, amountMinor: attempt.amountMinor, storeId: till.storeId, categoryCode: till.categoryCode };
  return undefined;
}

/** Writes the payment with its ledger transfer ids; a concurrent double tap loses on the unique key and answers the first. */
export async function stageStaticPayment(deps: PaymentsDeps, attempt: StaticQrAttempt): Promise<Payment | undefined> {
  const { store, merchantPaymentId, requestFingerprint, facts, ctx, amountMinor } = attempt;
  assert(store !== undefined && merchantPaymentId !== undefined && requestFingerprint !== undefined && facts !== undefined, 'the store was read');
  try {
    attempt.staged = await withTransaction(deps.db, async (client) => {
      const now = deps.now();
      const feeMinor = merchantFee(amountMinor, deps.config.merchantFeeBps);
      const inserted = await client.query<PaymentRow>(
        `insert into payments (id, merchant_id, merchant_payment_id, kind, status, amount_minor, fee_minor, store_id, request_fingerprint,
           customer_id, wallet_account_id, device_id, payment_transfer_id, fee_transfer_id, created_at, staged_at)
         values ($1, $2, $3, 'static_qr', 'CREATED', $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13) returning ${PAYMENT_COLUMNS}`,
        [facts.paymentId, store.merchantId, merchantPaymentId, amountMinor, feeMinor, store.storeId, requestFingerprint,
          ctx.customerId, ctx.walletAccountId, ctx.deviceId, uuidv7(), feeMinor > 0n ? uuidv7() : null, now]);
      return toPayment(inserted.rows[0] as PaymentRow);
    });
    return undefined;
  } catch (error) {
    if (sqlState(error) !== '23505') throw error;
    const winner = await readPaymentByMerchantId(deps.db.pool, store.merchantId, merchantPaymentId);
    assert(winner !== null, 'the conflicting payment exists');
    return repeatOf(deps, winner, requestFingerprint);
  }
}

/** A double tap answers the first payment's outcome, waiting (bounded) while it is in flight (in-flight.ts). */
async function repeatOf(deps: PaymentsDeps, earlier: Payment, requestFingerprint: string): Promise<Payment> {
  if (earlier.requestFingerprint !== requestFingerprint) throw new KobanError('merchant_payment_id_conflict', { detail: 'this idempotency key was used for another payment' });
  return answerOf(await settledPayment(deps, earlier));
}

/** A settled payment's answer; one waiting for its customer's confirmation is answered as it stands. */
function answerOf(payment: Payment): Payment {
  return heldForCustomer(payment) ? payment : paymentAnswer(payment);
}
