/**
 * A customer pays a merchant-presented QR from the wallet app: a dynamic (order) QR with a fixed amount,
 * or a static store QR (EMVCo, with CRC) for which the customer types the amount. Above the configured
 * amount the customer must have confirmed with their PIN or a passkey (identity's hook decides).
 */
import { createHash } from 'node:crypto';
import { assert } from '../platform/assert.ts';
import { sqlState, withTransaction } from '../platform/db/database.ts';
import { KobanError } from '../platform/errors.ts';
import { uuidv7 } from '../platform/ids.ts';
import { requireOwnWallet } from './codes.ts';
import { completePayment } from './complete.ts';
import type { CustomerContext } from './context.ts';
import type { PaymentsDeps } from './deps.ts';
import { readDynamicQrForCustomer, type QrPreview } from './dynamic-qr.ts';
import { parseStaticQrPayload } from './emvco.ts';
import { merchantFee } from './fees.ts';
import { fingerprint, PAYMENT_COLUMNS, readPaymentByMerchantId, toPayment, type Payment, type PaymentRow } from './model.ts';
import { assessPayment } from './risk-check.ts';
import { requirePayableAmount } from './till.ts';

/**
 * Before money moves: the kill switch, then the risk engine (deny and review refuse), then strong
 * confirmation — above the configured amount, or whenever the engine asks for a step-up (challenge).
 */
async function clearPayment(deps: PaymentsDeps, ctx: CustomerContext, facts: { paymentId: string; amountMinor: bigint; storeId: string | null; categoryCode: string }): Promise<void> {
  deps.switches.assertOn('payments');
  const risk = await assessPayment(deps, {
    kind: 'payment', accountId: ctx.customerId, deviceId: ctx.deviceId, storeId: facts.storeId, merchantCategoryCode: facts.categoryCode,
    amountMinor: facts.amountMinor, ref: facts.paymentId,
  });
  const aboveThreshold = facts.amountMinor > deps.config.strongConfirmationAboveMinor;
  if (!aboveThreshold && risk === 'allow') return;
  if (!(await deps.hooks.requireStrongConfirmation(ctx, facts.amountMinor))) {
    const detail = aboveThreshold ? `payments above ${deps.config.strongConfirmationAboveMinor} JPY need your PIN or a passkey` : 'confirm this payment with your PIN or a passkey';
    throw new KobanError('strong_confirmation_required', { detail });
  }
}

/** The outcome of a customer's attempt: a completed payment, or the reason it did not go through. */
function requireCompleted(payment: Payment): Payment {
  if (payment.status === 'COMPLETED') return payment;
  if (payment.failureCode === 'insufficient_funds') throw new KobanError('insufficient_funds');
  if (payment.failureCode === 'wallet_frozen') throw new KobanError('wallet_frozen');
  throw new KobanError('payment_refused_by_risk', { detail: `payment failed: ${payment.failureCode ?? 'unknown'}` });
}

export async function previewDynamicQr(deps: PaymentsDeps, codeId: string): Promise<QrPreview> {
  return (await readDynamicQrForCustomer(deps, codeId)).preview;
}

export async function payDynamicQr(deps: PaymentsDeps, ctx: CustomerContext, codeId: string): Promise<Payment> {
  await requireOwnWallet(deps.db.pool, ctx);
  const { qr, preview } = await readDynamicQrForCustomer(deps, codeId);
  // A retry by the customer who paid (their first answer lost with a node, a connection, a timeout) gets the
  // original outcome, not "already paid" for a payment that went through.
  if (paidFrom(qr.payment, ctx.walletAccountId)) return qr.payment;
  // Refused before the risk engine counts an attempt; the staging transaction checks again under the lock.
  if (qr.status !== 'ACTIVE' || qr.payment.status !== 'CREATED') throw new KobanError('dynamic_qr_unavailable');
  if (qr.expiresAt <= deps.now()) throw new KobanError('dynamic_qr_expired');
  const merchant = await deps.tills.merchant(qr.payment.merchantId);
  await clearPayment(deps, ctx, { paymentId: qr.payment.id, amountMinor: qr.payment.amountMinor, storeId: qr.payment.storeId, categoryCode: merchant.categoryCode });
  const staged = await withTransaction(deps.db, async (client) => {
    const locked = await client.query<PaymentRow & { code_status: string; expires_at: Date }>(
      `select ${PAYMENT_COLUMNS.split(',').map((c) => `p.${c.trim()}`).join(', ')}, c.status as code_status, c.expires_at
       from dynamic_qr_codes c join payments p on p.id = c.payment_id where c.id = $1 for update of c, p`, [codeId]);
    const row = locked.rows[0];
    assert(row !== undefined, 'the code was just read');
    if (paidFrom(toPayment(row), ctx.walletAccountId)) return { repeat: true as const, payment: toPayment(row) };
    if (row.code_status !== 'ACTIVE' || row.status !== 'CREATED') throw new KobanError('dynamic_qr_unavailable');
    if (row.expires_at <= deps.now()) throw new KobanError('dynamic_qr_expired');
    if (row.payment_transfer_id !== null) throw new KobanError('payment_in_progress');
    const updated = await client.query<PaymentRow>(
      `update payments set customer_id = $2, wallet_account_id = $3, device_id = $4, payment_transfer_id = $5, fee_transfer_id = $6, staged_at = $7, failure_code = null
       where id = $1 returning ${PAYMENT_COLUMNS}`,
      [row.id, ctx.customerId, ctx.walletAccountId, ctx.deviceId, uuidv7(), row.fee_minor > 0n ? uuidv7() : null, deps.now()]);
    return { repeat: false as const, payment: toPayment(updated.rows[0] as PaymentRow) };
  });
  if (staged.repeat) return staged.payment;
  return requireCompleted(await completePayment(deps, staged.payment, { receivableAccountId: merchant.receivableAccountId, merchantName: preview.merchantName, storeName: preview.storeName }));
}

/** The payment went through from this wallet (and may since have been refunded): a repeat answers it. */
function paidFrom(payment: Payment, walletAccountId: string): boolean {
  return (payment.status === 'COMPLETED' || payment.status === 'REFUNDED') && payment.walletAccountId === walletAccountId;
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
 * `idempotencyKey` (from the app) makes a double tap one payment: the same key and amount answer the
 * first payment; the same key with another amount is a conflict.
 */
export async function payStaticQr(deps: PaymentsDeps, ctx: CustomerContext, payload: string, amountMinor: bigint, idempotencyKey: string | null = null): Promise<Payment> {
  requirePayableAmount(deps, amountMinor);
  await requireOwnWallet(deps.db.pool, ctx);
  const store = await previewStaticQr(deps, payload);
  const merchantPaymentId = idempotencyKey === null ? `st-${uuidv7()}` : `st-${createHash('sha256').update(`${ctx.customerId}:${idempotencyKey}`).digest('base64url').slice(0, 40)}`;
  const requestFingerprint = fingerprint(['static_qr', amountMinor, store.storeId, ctx.customerId]);
  const earlier = await readPaymentByMerchantId(deps.db.pool, store.merchantId, merchantPaymentId);
  // A double tap answers the first payment, even while payments are switched off.
  if (earlier !== null) return repeatOf(earlier, requestFingerprint);
  const till = await deps.tills.require(store.merchantId, store.storeId, null);
  const paymentId = uuidv7();
  await clearPayment(deps, ctx, { paymentId, amountMinor, storeId: store.storeId, categoryCode: till.categoryCode });
  let staged: Payment;
  try {
    staged = await withTransaction(deps.db, async (client) => {
      const now = deps.now();
      const feeMinor = merchantFee(amountMinor, deps.config.merchantFeeBps);
      const inserted = await client.query<PaymentRow>(
        `insert into payments (id, merchant_id, merchant_payment_id, kind, status, amount_minor, fee_minor, store_id, request_fingerprint,
           customer_id, wallet_account_id, device_id, payment_transfer_id, fee_transfer_id, created_at, staged_at)
         values ($1, $2, $3, 'static_qr', 'CREATED', $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13) returning ${PAYMENT_COLUMNS}`,
        [paymentId, store.merchantId, merchantPaymentId, amountMinor, feeMinor, store.storeId, requestFingerprint,
          ctx.customerId, ctx.walletAccountId, ctx.deviceId, uuidv7(), feeMinor > 0n ? uuidv7() : null, now]);
      return toPayment(inserted.rows[0] as PaymentRow);
    });
  } catch (error) {
    if (sqlState(error) !== '23505') throw error;
    const winner = await readPaymentByMerchantId(deps.db.pool, store.merchantId, merchantPaymentId);
    assert(winner !== null, 'the conflicting payment exists');
    return repeatOf(winner, requestFingerprint);
  }
  return requireCompleted(await completePayment(deps, staged, till));
}

function repeatOf(earlier: Payment, requestFingerprint: string): Payment {
  if (earlier.requestFingerprint !== requestFingerprint) throw new KobanError('merchant_payment_id_conflict', { detail: 'this idempotency key was used for another payment' });
  return earlier.status === 'CREATED' ? earlier : requireCompleted(earlier);
}
