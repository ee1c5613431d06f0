/**
 * A till charges a customer-presented code: one call, completed or failed.
 *
 * Round trips are what a payment costs, so each step is one statement: (1) one read finds an earlier
 * payment with this merchantPaymentId and the code's owner; the till's store and merchant come from the
 * per-process cache (tills.ts); the risk engine scores the payment; (2) one statement claims the code
 * and writes the payment with its ledger transfer ids (atomic on its own: two tills with one code, the
 * second's UPDATE waits on the row lock, finds it used and inserts nothing); (3) the ledger moves the
 * money; (4) one statement records the outcome and the merchant event (complete.ts).
 */
import { assert } from '../platform/assert.ts';
import { sqlState, type Queryable } from '../platform/db/database.ts';
import { KobanError } from '../platform/errors.ts';
import { uuidv7 } from '../platform/ids.ts';
import { codeRefusal, hashPaymentCode, isPaymentCodeShape, PAYMENT_CODE_LENGTH, PAYMENT_CODE_PREFIX } from './codes.ts';
import { completePayment } from './complete.ts';
import type { PaymentsDeps } from './deps.ts';
import { merchantFee } from './fees.ts';
import { fingerprint, PAYMENT_COLUMNS, paymentColumnsOf, readPaymentByMerchantId, readRefunds, toPayment, type Payment, type PaymentRow, type Refund } from './model.ts';
import { settledPayment } from './in-flight.ts';
import { assessPayment, refusedByRisk } from './risk-check.ts';

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

/** The payment and its refunds as the till API answers them. */
export interface TillOutcome {
  readonly payment: Payment;
  readonly refunds: readonly Refund[];
}

interface CodeFacts { id: string; status: string; expiresAt: Date; customerId: string; deviceId: string }

export async function payWithCustomerCode(deps: PaymentsDeps, request: TillPaymentRequest): Promise<TillOutcome> {
  requirePayableAmount(deps, request.amountMinor);
  const codeHash = isPaymentCodeShape(request.code) ? hashPaymentCode(deps.pepper, request.code) : null;
  const requestFingerprint = fingerprint(['customer_code', request.amountMinor, request.storeId, request.terminalId, request.orderDescription, codeHash?.toString('hex') ?? request.code]);
  const found = await readTillRequest(deps.db.pool, request.merchantId, request.merchantPaymentId, codeHash);
  // A repeat answers what happened, even while payments are switched off: a till retrying after a
  // timeout must learn that the money moved.
  if (found.earlier !== null) return repeatOf(deps, found.earlier, requestFingerprint);
  deps.switches.assertOn('payments');
  const till = await deps.tills.require(request.merchantId, request.storeId, request.terminalId);
  const code = requireLiveCode(request.code, found.code, deps.now());
  const paymentId = uuidv7();
  const risk = await assessPayment(deps, {
    kind: 'payment', accountId: code.customerId, deviceId: code.deviceId, storeId: till.storeId, merchantCategoryCode: till.categoryCode,
    amountMinor: request.amountMinor, ref: paymentId,
  });
  // A step-up needs the customer at a screen; at a till they are not, so a challenge refuses.
  if (risk === 'challenge') throw refusedByRisk();
  assert(codeHash !== null, 'a live code has the code shape');
  let staged: Payment | null;
  try {
    staged = await stageTillPayment(deps, request, requestFingerprint, paymentId, codeHash, code);
  } catch (error) {
    // The same merchantPaymentId arrived twice at once with different codes: the loser answers like a later repeat.
    if (sqlState(error) !== '23505') throw error;
    staged = null;
  }
  if (staged === null) {
    // The claim found the code taken. A retry of this very payment (same merchantPaymentId, same code)
    // loses the claim to its original: it must answer the original's outcome, never "code used".
    const winner = await readPaymentByMerchantId(deps.db.pool, request.merchantId, request.merchantPaymentId);
    if (winner !== null) return repeatOf(deps, winner, requestFingerprint);
    throw await codeRefusalNow(deps, codeHash);
  }
  // A payment completing right now has no refunds yet.
  return { payment: await completePayment(deps, staged, till), refunds: [] };
}

export function requirePayableAmount(deps: Pick<PaymentsDeps, 'config'>, amountMinor: bigint): void {
  if (amountMinor <= 0n) throw new KobanError('invalid_amount', { errors: [{ pointer: '/body/amount', message: 'must be a positive integer' }] });
  if (amountMinor > deps.config.paymentMaxAmountMinor) {
    throw new KobanError('amount_too_large', { detail: `a payment is at most ${deps.config.paymentMaxAmountMinor} JPY`, errors: [{ pointer: '/body/amount', message: `must be at most ${deps.config.paymentMaxAmountMinor}` }] });
  }
}

/**
 * A repeated merchantPaymentId answers the earlier payment's outcome, or refuses a conflicting reuse. An
 * earlier payment still in flight is waited for (in-flight.ts), so a retry never answers CREATED as if paid.
 */
async function repeatOf(deps: PaymentsDeps, earlier: Payment, requestFingerprint: string): Promise<TillOutcome> {
  if (earlier.requestFingerprint !== requestFingerprint) throw new KobanError('merchant_payment_id_conflict');
  const settled = await settledPayment(deps, earlier);
  return { payment: settled, refunds: await readRefunds(deps.db.pool, settled.id) };
}

type TillRequestRow = { [K in keyof PaymentRow]: PaymentRow[K] | null } & {
  code_id: string | null; code_status: string | null; code_expires_at: Date | null; code_customer_id: string | null; code_device_id: string | null;
};

/** One read: an earlier payment with this merchantPaymentId, and the code's owner and state. */
async function readTillRequest(db: Queryable, merchantId: string, merchantPaymentId: string, codeHash: Buffer | null): Promise<{ earlier: Payment | null; code: CodeFacts | null }> {
  const result = await db.query<TillRequestRow>({
    name: 'payments_till_request',
    text: `select ${paymentColumnsOf('p')}, c.id as code_id, c.status as code_status, c.expires_at as code_expires_at,
             c.customer_id as code_customer_id, c.device_id as code_device_id
           from (values (1)) as one (x)
           left join payments p on p.merchant_id = $1 and p.merchant_payment_id = $2
           left join payment_codes c on c.code_hash = $3::bytea`,
    values: [merchantId, merchantPaymentId, codeHash],
  });
  const row = result.rows[0];
  assert(row !== undefined, 'the lookup answers one row');
  const earlier = row.id === null ? null : toPayment(row as PaymentRow);
  const code = row.code_id === null || row.code_status === null || row.code_expires_at === null || row.code_customer_id === null || row.code_device_id === null
    ? null : { id: row.code_id, status: row.code_status, expiresAt: row.code_expires_at, customerId: row.code_customer_id, deviceId: row.code_device_id };
  return { earlier, code };
}

function requireLiveCode(code: string, facts: CodeFacts | null, now: Date): CodeFacts {
  if (!isPaymentCodeShape(code)) throw new KobanError('payment_code_not_found', { detail: 'not a Koban payment code', errors: [{ pointer: '/body/code', message: `must be ${PAYMENT_CODE_LENGTH} digits starting with ${PAYMENT_CODE_PREFIX}` }] });
  const refusal = codeRefusal(facts === null ? null : { status: facts.status, expiresAt: facts.expiresAt }, now);
  if (refusal !== null) throw refusal;
  assert(facts !== null, 'a live code was found');
  return facts;
}

/**
 * Claims the code and writes the payment in one statement. The claim names the customer and device the
 * risk engine scored, so the payment is always the one that was assessed.
 */
async function stageTillPayment(deps: PaymentsDeps, request: TillPaymentRequest, requestFingerprint: string, paymentId: string, codeHash: Buffer, code: CodeFacts): Promise<Payment | null> {
  const now = deps.now();
  const feeMinor = merchantFee(request.amountMinor, deps.config.merchantFeeBps);
  const inserted = await deps.db.pool.query<PaymentRow>({
    name: 'payments_till_stage',
    text: `with claimed as (
             update payment_codes set status = 'used', used_at = $13, payment_id = $1
             where code_hash = $14 and status = 'live' and expires_at > $13 and customer_id = $15 and device_id = $16
             returning id, customer_id, wallet_account_id, device_id
           )
           insert into payments (id, merchant_id, merchant_payment_id, kind, status, amount_minor, fee_minor, store_id, terminal_id, order_description,
             request_fingerprint, customer_id, wallet_account_id, device_id, code_id, payment_transfer_id, fee_transfer_id, requested_at, created_at, staged_at)
           select $1, $2, $3, 'customer_code', 'CREATED', $4, $5, $6, $7, $8, $9, c.customer_id, c.wallet_account_id, c.device_id, c.id, $10, $11, $12, $13, $13
           from claimed c
           returning ${PAYMENT_COLUMNS}`,
    values: [paymentId, request.merchantId, request.merchantPaymentId, request.amountMinor, feeMinor, request.storeId, request.terminalId,
      request.orderDescription, requestFingerprint, uuidv7(), feeMinor > 0n ? uuidv7() : null, request.requestedAt, now, codeHash, code.customerId, code.deviceId],
  });
  const row = inserted.rows[0];
  // null: the code was taken between the read and the claim (by another till, or by this payment's original).
  return row === undefined ? null : toPayment(row);
}

/** Why a code cannot be claimed now (used, expired, refreshed meanwhile). */
async function codeRefusalNow(deps: PaymentsDeps, codeHash: Buffer): Promise<KobanError> {
  const current = await deps.db.pool.query<{ status: string; expires_at: Date }>('select status, expires_at from payment_codes where code_hash = $1', [codeHash]);
  const state = current.rows[0];
  return codeRefusal(state === undefined ? null : { status: state.status, expiresAt: state.expires_at }, deps.now()) ?? new KobanError('payment_code_expired');
}
