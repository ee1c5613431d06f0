/**
 * A till charges a customer-presented code: one call, completed or failed. The first transaction claims
 * the code and writes the payment with its ledger transfer ids (two tills with one code: the second finds
 * it used); then the ledger moves the money; then the outcome is recorded with its merchant event.
 */
import type pg from 'pg';
import { assert } from '../platform/assert.ts';
import { sqlState, withTransaction, type Queryable } from '../platform/db/database.ts';
import { KobanError } from '../platform/errors.ts';
import { uuidv7 } from '../platform/ids.ts';
import { claimPaymentCode, hashPaymentCode, isPaymentCodeShape } from './codes.ts';
import { completePayment, receivableOf } from './complete.ts';
import type { PaymentsDeps } from './deps.ts';
import { merchantFee } from './fees.ts';
import { fingerprint, PAYMENT_COLUMNS, readPaymentByMerchantId, toPayment, type Payment, type PaymentRow } from './model.ts';

export interface TillPaymentRequest {
  readonly merchantId: string;
  readonly merchantPaymentId: string;
  readonly code: string;
  readonly amountMinor: bigint;
  readonly storeId: string;
  readonly terminalId: string;
  readonly orderDescription: string | null;
  readonly requestedAt: Date | null;
}

export async function payWithCustomerCode(deps: PaymentsDeps, request: TillPaymentRequest): Promise<Payment> {
  requirePayableAmount(deps, request.amountMinor);
  const codeDigest = isPaymentCodeShape(request.code) ? hashPaymentCode(deps.pepper, request.code).toString('hex') : request.code;
  const requestFingerprint = fingerprint(['customer_code', request.amountMinor, request.storeId, request.terminalId, request.orderDescription, codeDigest]);
  const earlier = await readPaymentByMerchantId(deps.db.pool, request.merchantId, request.merchantPaymentId);
  if (earlier !== null) return repeatOf(deps, earlier, requestFingerprint);
  let staged: Payment;
  try {
    staged = await withTransaction(deps.db, (client) => stageTillPayment(deps, client, request, requestFingerprint));
  } catch (error) {
    // The same merchantPaymentId arrived twice at once: the loser answers like a later repeat.
    if (sqlState(error) !== '23505') throw error;
    const winner = await readPaymentByMerchantId(deps.db.pool, request.merchantId, request.merchantPaymentId);
    assert(winner !== null, 'the conflicting payment exists');
    return repeatOf(deps, winner, requestFingerprint);
  }
  return completePayment(deps, staged, await receivableOf(deps, request.merchantId));
}

export function requirePayableAmount(deps: Pick<PaymentsDeps, 'config'>, amountMinor: bigint): void {
  if (amountMinor <= 0n) throw new KobanError('invalid_amount', { errors: [{ pointer: '/body/amount', message: 'must be a positive integer' }] });
  if (amountMinor > deps.config.paymentMaxAmountMinor) {
    throw new KobanError('amount_too_large', { detail: `a payment is at most ${deps.config.paymentMaxAmountMinor} JPY`, errors: [{ pointer: '/body/amount', message: `must be at most ${deps.config.paymentMaxAmountMinor}` }] });
  }
}

/** A repeated merchantPaymentId answers the earlier payment, or refuses a conflicting reuse. */
async function repeatOf(deps: PaymentsDeps, earlier: Payment, requestFingerprint: string): Promise<Payment> {
  if (earlier.requestFingerprint !== requestFingerprint) throw new KobanError('merchant_payment_id_conflict');
  return earlier;
}

async function stageTillPayment(deps: PaymentsDeps, client: pg.PoolClient, request: TillPaymentRequest, requestFingerprint: string): Promise<Payment> {
  await requireTill(client, request.merchantId, request.storeId, request.terminalId);
  const paymentId = uuidv7();
  const now = deps.now();
  const claimed = await claimPaymentCode(client, deps.pepper, request.code, paymentId, now);
  const feeMinor = merchantFee(request.amountMinor, deps.config.merchantFeeBps);
  const inserted = await client.query<PaymentRow>(
    `insert into payments (id, merchant_id, merchant_payment_id, kind, status, amount_minor, fee_minor, store_id, terminal_id, order_description,
       request_fingerprint, customer_id, wallet_account_id, device_id, code_id, payment_transfer_id, fee_transfer_id, requested_at, created_at, staged_at)
     values ($1, $2, $3, 'customer_code', 'CREATED', $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $17)
     returning ${PAYMENT_COLUMNS}`,
    [paymentId, request.merchantId, request.merchantPaymentId, request.amountMinor, feeMinor, request.storeId, request.terminalId,
      request.orderDescription, requestFingerprint, claimed.customerId, claimed.walletAccountId, claimed.deviceId, claimed.codeId,
      uuidv7(), feeMinor > 0n ? uuidv7() : null, request.requestedAt, now]);
  const row = inserted.rows[0];
  assert(row !== undefined, 'payment inserted');
  return toPayment(row);
}

/** The store must be the merchant's and open; the terminal must be in that store and enabled. */
export async function requireTill(db: Queryable, merchantId: string, storeId: string, terminalId: string | null): Promise<void> {
  const store = await db.query<{ status: string }>(`select status from stores where id = $1 and merchant_id = $2`, [storeId, merchantId]);
  if (store.rows[0]?.status !== 'active') throw new KobanError('store_not_found', { errors: [{ pointer: '/body/storeId', message: 'is not an open store of this merchant' }] });
  if (terminalId === null) return;
  const terminal = await db.query<{ status: string }>(`select status from terminals where id = $1 and store_id = $2`, [terminalId, storeId]);
  if (terminal.rows[0]?.status !== 'active') throw new KobanError('terminal_not_found', { errors: [{ pointer: '/body/terminalId', message: 'is not an enabled terminal of this store' }] });
}
