/**
 * A till charges a customer-presented code: one call, completed or failed. The steps, in the order the
 * pipeline (pipeline.ts, CUSTOMER_CODE_PAYMENT) runs them, are below.
 *
 * Round trips are what a payment costs, so each step is one statement: one read finds an earlier payment
 * with this merchantPaymentId and the code's owner; the till's store and merchant come from the per-process
 * cache (tills.ts); the risk engine scores the payment; one statement claims the code and writes the
 * payment with its ledger transfer ids (atomic on its own: two tills with one code, the second's UPDATE
 * waits on the row lock, finds it used and inserts nothing); the ledger moves the money; one statement
 * records the outcome and the merchant event (complete.ts).
 */
import type { OrderDetails, OrderItem } from './order-details.ts';
import { assert } from '../platform/assert.ts';
import { sqlState, type Queryable } from '../platform/db/database.ts';
import { KobanError } from '../platform/errors.ts';
import { uuidv7 } from '../platform/ids.ts';
import { codeRefusal, hashPaymentCode, isPaymentCodeShape, PAYMENT_CODE_LENGTH, PAYMENT_CODE_PREFIX } from './codes.ts';
import type { SettlingAttempt } from './complete.ts';
import type { PaymentRiskEvent, PaymentsDeps, PendingRiskDecision } from './deps.ts';
import { merchantFee } from './fees.ts';
import { canceledIdRefusal } from './merchant-orders.ts';
import { fingerprint, PAYMENT_COLUMNS, paymentColumnsOf, readPaymentByMerchantId, readRefunds, toPayment, type Payment, type PaymentRow, type Refund } from './model.ts';
import { settledPayment } from './in-flight.ts';
import { holdForCustomer, tillConfirmationNeed, type ConfirmationNeed } from './customer-confirmation.ts';
import { assessPaymentPending, recordPendingRisk, walletBalanceMinor } from './risk-check.ts';
import type { GroupOutcome } from './group-commit.ts';
import type { TillFacts } from './tills.ts';
import { countingCodeFailures, requireTerminalNotThrottled, type ThrottleRow } from './terminal/code-throttle.ts';
import type { StandingRow } from '../merchants/standing.ts';
import { availableBalance } from '../ledger/types.ts';
import { paymentLimitRefusal } from '../wallet/spending.ts';

export interface TillPaymentRequest {
  readonly merchantId: string;
  readonly merchantPaymentId: string;
  readonly code: string;
  readonly amountMinor: bigint;
  readonly storeId: string;
  readonly terminalId: string;
  readonly orderDescription: string | null;
  readonly requestedAt: Date | null;
  /** The merchant's own store/terminal ids as sent, echoed in answers (order-details.ts). */
  readonly details?: OrderDetails;
}

/** The payment and its refunds as the till API answers them. */
export interface TillOutcome {
  readonly payment: Payment;
  readonly refunds: readonly Refund[];
}

/** A till payment's outcome with the order details kept for its merchantPaymentId, which the answer echoes. */
export interface TillAnswer extends TillOutcome {
  readonly orderDetails: OrderDetails;
}

/** The code as the till's read finds it; `passkeyProved`: minted after the customer proved it with their passkey (issue 13). */
interface CodeFacts { id: string; status: string; expiresAt: Date; customerId: string; deviceId: string; walletAccountId: string; mintedIp: string | null; deviceKey: string | null; passkeyProved: boolean }

/** One customer-code payment as it passes the steps: what each step learnt, for the ones after it. */
export interface CodeAttempt extends SettlingAttempt {
  readonly request: TillPaymentRequest;
  readonly codeHash: Buffer | null;
  readonly requestFingerprint: string;
  readonly paymentId: string;
  /** The signed till API: a merchantPaymentId cancelled before any payment (merchant-orders.ts) is refused by the replay step. */
  readonly refuseCanceledId?: boolean;
  code?: CodeFacts | null;
  till?: TillFacts;
  staged?: Payment;
  /** Set by the risk step: the payment waits for its customer (customer-confirmation.ts). */
  confirmation?: ConfirmationNeed | null;
  /** An allow the risk step left unrecorded: the group commit records it in its transaction, else `flushPendingRisk`. */
  pendingRisk?: PendingRiskDecision | null;
  /** The risk event left for the group commit to score with its batch (`assessBatch`); null once scored. */
  deferredRisk?: PaymentRiskEvent | null;
  /** With a deferred score: the tier payment limit's refusal, applied after the score as the pipeline orders them. */
  tierRefusal?: KobanError | null;
  /** With a deferred score: the tier payment limit is read with it, by the group commit for its whole batch (one statement). */
  tierLimitPending?: boolean;
  /** Read by the replay step in the same statement as the earlier payment and the code (issue 11): for the steps after it. */
  facts?: TillRequestFacts;
}

/** What the steps after the replay check need, read with it in one statement, uncached. */
export interface TillRequestFacts {
  /** The merchant's and store's states (undefined: no such merchant), for the standing step. */
  readonly standing: StandingRow | undefined;
  /** The terminal's code-failure count (null: none), for the code step's throttle. */
  readonly throttle: ThrottleRow | null;
  /** What the code's wallet holds now (null: no code or no account), for the risk engine's balance rules. */
  readonly walletBalanceMinor: bigint | null;
  /** The merchant cancelled this merchantPaymentId before any payment had it (merchant-orders.ts). */
  readonly canceledId: boolean;
  /** The ledger of the code's wallet (null: no code or no account), for the "test or live money" step (standing-step.ts). */
  readonly walletLedger: number | null;
  /**
   * The order details kept for this merchantPaymentId (null: none), for the answer. The till writes its own before
   * this read and the first write wins, so they are what a read after the payment would find (issue 11: one read less).
   */
  readonly orderDetails: OrderDetails | null;
}

export function codeAttempt(deps: PaymentsDeps, request: TillPaymentRequest): CodeAttempt {
  const codeHash = isPaymentCodeShape(request.code) ? hashPaymentCode(deps.pepper, request.code) : null;
  const requestFingerprint = fingerprint(['customer_code', request.amountMinor, request.storeId, request.terminalId, request.orderDescription, codeHash?.toString('hex') ?? request.code]);
  return { request, codeHash, requestFingerprint, paymentId: uuidv7() };
}

/**
 * Replay check: an earlier payment with this merchantPaymentId answers what happened, even while payments
 * are switched off (a till retrying after a timeout must learn that the money moved). The same read
 * finds the code's owner for the steps after.
 */
export async function answerRepeatedPayment(deps: PaymentsDeps, attempt: CodeAttempt): Promise<TillOutcome | undefined> {
  const found = await readTillRequest(deps.db.pool, attempt.request, attempt.codeHash);
  attempt.code = found.code;
  attempt.facts = found.facts;
  if (found.earlier === null && found.facts.canceledId && attempt.refuseCanceledId === true) throw canceledIdRefusal();
  return found.earlier === null ? undefined : repeatOf(deps, found.earlier, attempt.requestFingerprint);
}

/** The till's store and merchant, open and active (cached, tills.ts). */
export async function resolveTill(deps: PaymentsDeps, attempt: CodeAttempt): Promise<undefined> {
  attempt.till = await deps.tills.require(attempt.request.merchantId, attempt.request.storeId, attempt.request.terminalId);
  attempt.target = attempt.till;
  return undefined;
}

/**
 * The code exists, is live and unexpired (the claim checks again, atomically). A locked or slowed-down till is
 * refused before its code is looked at, and a refused code counts against the till (terminal/code-throttle.ts).
 */
export async function requireLiveCodeStep(deps: PaymentsDeps, attempt: CodeAttempt): Promise<undefined> {
  assert(attempt.code !== undefined, 'the replay step read the code');
  const { terminalId } = attempt.request;
  await requireTerminalNotThrottled(deps, terminalId, attempt.facts?.throttle);
  const facts = attempt.code;
  attempt.code = await countingCodeFailures(deps, terminalId, () => requireLiveCode(attempt.request.code, facts, deps.now()));
  return undefined;
}

/**
 * The risk engine scores the payment (with the network the code was minted from and the wallet's balance).
 * A step-up needs the customer, who is at the till, not at a screen of ours: a challenge, or an amount the
 * store typed above the confirmation amount, makes the payment wait for the customer's confirmation in the
 * wallet (customer-confirmation.ts) instead of refusing it.
 *
 * With an engine that scores batches (`assessBatch`), the score is left to the group commit: the whole batch
 * is scored in its transaction in one read and one write (group-commit.ts), and a payment the batch does not
 * take is scored on its own after all (`assessAlone`).
 */
export async function assessCodePayment(deps: PaymentsDeps, attempt: CodeAttempt): Promise<undefined> {
  const event = await codeRiskEvent(deps, attempt);
  if (deps.risk.assessBatch !== undefined) {
    attempt.deferredRisk = event;
    return undefined;
  }
  return assessNow(deps, attempt, event);
}

async function assessNow(deps: PaymentsDeps, attempt: CodeAttempt, event: PaymentRiskEvent): Promise<undefined> {
  const risk = await assessPaymentPending(deps, event);
  attempt.pendingRisk = risk.pending;
  attempt.confirmation = tillConfirmationNeed(deps, attempt.request.amountMinor, risk);
  return undefined;
}

async function codeRiskEvent(deps: PaymentsDeps, attempt: CodeAttempt): Promise<PaymentRiskEvent> {
  const { code, till } = attempt;
  assert(code != null && till !== undefined, 'the code and the till are known');
  return {
    kind: 'payment', accountId: code.customerId, deviceId: code.deviceKey ?? code.deviceId, storeId: till.storeId, merchantId: attempt.request.merchantId, merchantCategoryCode: till.categoryCode,
    amountMinor: attempt.request.amountMinor, ip: code.mintedIp, balanceMinor: attempt.facts !== undefined ? attempt.facts.walletBalanceMinor : await walletBalanceMinor(deps, code.walletAccountId), ref: attempt.paymentId,
    // The customer proved the code with their passkey: a challenge on its payment is met (risk allows it).
    ...(code.passkeyProved ? { passkeyProved: true } : {}),
  };
}

/**
 * A payment whose score was left to a batch that did not take it (a duplicate inside the batch, a customer who
 * pays from several balances, a batch rolled back: nothing of it was counted): scored now, on its own, and
 * then the tier payment limit it was found over (the order of the pipeline: risk, then the limit).
 */
async function assessAlone(deps: PaymentsDeps, attempt: CodeAttempt): Promise<void> {
  const event = attempt.deferredRisk;
  if (event == null) return;
  attempt.deferredRisk = null;
  await assessNow(deps, attempt, event);
  if (attempt.tierLimitPending === true) {
    assert(attempt.code != null, 'the code step found the code');
    attempt.tierRefusal = await paymentLimitRefusal(deps.tierLimits, deps.db.pool, attempt.code.customerId, attempt.request.amountMinor, deps.now());
    attempt.tierLimitPending = false;
  }
  if (attempt.tierRefusal == null) return;
  await flushPendingRisk(deps, attempt);
  throw attempt.tierRefusal;
}

/** Records the payment's allow if no batch did (settling on its own, or the batch never wrote). */
export async function flushPendingRisk(deps: PaymentsDeps, attempt: CodeAttempt): Promise<void> {
  if (attempt.pendingRisk == null) return;
  await recordPendingRisk(deps, [attempt.pendingRisk]);
  attempt.pendingRisk = null;
}

/** A payment that must wait for its customer stops here: the till hears "waiting for the customer" (202 on OPA). */
export async function holdForCustomerStep(deps: PaymentsDeps, attempt: CodeAttempt): Promise<TillOutcome | undefined> {
  if (attempt.confirmation == null) return undefined;
  assert(attempt.staged !== undefined, 'the claim staged the payment');
  return { payment: await holdForCustomer(deps, attempt.staged, attempt.confirmation), refunds: [] };
}

/**
 * Claims the code and writes the payment (with its ledger transfer ids) in one statement. Losing the claim
 * to this very payment's original (a retry: same merchantPaymentId, same code) answers the original's
 * outcome, never "code used"; losing it to another payment answers why the code is gone.
 */
export async function claimCode(deps: PaymentsDeps, attempt: CodeAttempt): Promise<TillOutcome | undefined> {
  await flushPendingRisk(deps, attempt);
  const { code, codeHash, request } = attempt;
  assert(code != null && codeHash !== null, 'a live code has the code shape');
  let staged: Payment | null;
  try {
    staged = await stageTillPayment(deps, request, attempt.requestFingerprint, attempt.paymentId, codeHash, code);
  } catch (error) {
    // The same merchantPaymentId arrived twice at once with different codes: the loser answers like a later repeat.
    if (sqlState(error) !== '23505') throw error;
    staged = null;
  }
  if (staged !== null) {
    attempt.staged = staged;
    return undefined;
  }
  return answerLostClaim(deps, attempt);
}

/**
 * The payment's claim, ledger and record in the group commit (group-commit.ts): one transaction shared with
 * the payments around it. Answers 'alone' when the batch did not write it (a duplicate inside the batch, or
 * the batch rolled back): the caller then settles it on its own (the single path's steps).
 */
export async function settleInGroupCommit(deps: PaymentsDeps, attempt: CodeAttempt): Promise<TillOutcome | 'alone' | undefined> {
  let outcome: GroupOutcome;
  try {
    outcome = await deps.codePayments.submit(attempt);
  } finally {
    // The batch recorded the risk decision in its commit, unless it never wrote (overloaded, rolled back).
    await flushPendingRisk(deps, attempt);
  }
  switch (outcome.kind) {
    case 'recorded':
      attempt.staged = outcome.payment;
      attempt.recorded = { payment: outcome.payment, recordedHere: true };
      return undefined;
    case 'not_claimed':
      return answerLostClaim(deps, attempt);
    case 'refused':
      // Scored in the batch and refused (risk, or the tier payment limit): the decision committed with the batch.
      throw outcome.error;
    case 'confirm':
      // Scored in the batch (decision committed): this payment waits for its customer, on its own.
      attempt.deferredRisk = null;
      attempt.confirmation = outcome.confirmation;
      return 'alone';
    case 'alone':
      await assessAlone(deps, attempt);
      return 'alone';
  }
}

/**
 * The code was gone when this payment tried to claim it. Lost to this very payment's original (a retry:
 * same merchantPaymentId) it answers the original's outcome; lost to another payment, why the code is gone.
 */
async function answerLostClaim(deps: PaymentsDeps, attempt: CodeAttempt): Promise<TillOutcome> {
  const { request, codeHash } = attempt;
  assert(codeHash !== null, 'a live code has the code shape');
  const winner = await readPaymentByMerchantId(deps.db.pool, request.merchantId, request.merchantPaymentId);
  if (winner !== null) return repeatOf(deps, winner, attempt.requestFingerprint);
  throw await codeRefusalNow(deps, codeHash);
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
  code_wallet_account_id: string | null; code_minted_ip: string | null; code_device_key: string | null; code_passkey_proved: boolean | null;
  merchant_status: string | null; store_status: string | null; live_status: string | null; wallet_ledger: number | null;
  throttle_failures: number | null; throttle_last_failure_at: Date | null; throttle_locked_at: Date | null; throttle_window_started_at: Date | null;
  wallet_credits_posted: bigint | null; wallet_debits_posted: bigint | null; wallet_debits_pending: bigint | null;
  canceled_id: boolean;
  details_kept: boolean; details_store_ref: string | null; details_terminal_ref: string | null; details_store_info: string | null;
  details_product_type: string | null; details_order_items: OrderItem[] | null;
};

/**
 * One read per payment (issue 11 folded six into it): an earlier payment with this merchantPaymentId (whether the merchant cancelled it first, the order details kept for it), the
 * code's owner and state, the merchant's and store's standing (merchants/standing.ts judges it), the
 * terminal's code-failure count (terminal/code-throttle.ts) and what the code's wallet holds (the ledger's
 * account totals, read only). Nothing here is cached: a suspension or a lock bites from the next payment on.
 */
async function readTillRequest(db: Queryable, request: TillPaymentRequest, codeHash: Buffer | null): Promise<{ earlier: Payment | null; code: CodeFacts | null; facts: TillRequestFacts }> {
  const result = await db.query<TillRequestRow>({
    name: 'payments_till_request',
    text: `select ${paymentColumnsOf('p')}, c.id as code_id, c.status as code_status, c.expires_at as code_expires_at,
             c.customer_id as code_customer_id, c.device_id as code_device_id,
             c.wallet_account_id as code_wallet_account_id, c.minted_ip as code_minted_ip, c.device_key as code_device_key, c.passkey_proved as code_passkey_proved,
             m.status as merchant_status, s.status as store_status, live.status as live_status, a.ledger as wallet_ledger,
             f.failures as throttle_failures, f.last_failure_at as throttle_last_failure_at, f.locked_at as throttle_locked_at,
             f.window_started_at as throttle_window_started_at,
             a.credits_posted as wallet_credits_posted, a.debits_posted as wallet_debits_posted, a.debits_pending as wallet_debits_pending,
             exists (select 1 from payment_cancel_requests x where x.merchant_id = $1 and x.merchant_payment_id = $2) as canceled_id,
             d.merchant_id is not null as details_kept, d.store_ref as details_store_ref, d.terminal_ref as details_terminal_ref,
             d.store_info as details_store_info, d.product_type as details_product_type, d.order_items as details_order_items
           from (values (1)) as one (x)
           left join payments p on p.merchant_id = $1 and p.merchant_payment_id = $2
           left join payment_codes c on c.code_hash = $3::bytea
           left join merchants m on m.id = $1
           left join merchants live on live.id = m.test_twin_of
           left join stores s on s.id = $4::uuid and s.merchant_id = m.id
           left join terminal_code_failures f on f.terminal_id = $5::uuid
           left join accounts a on a.id = c.wallet_account_id
           left join payment_order_details d on d.merchant_id = $1 and d.merchant_payment_id = $2`,
    values: [request.merchantId, request.merchantPaymentId, codeHash, request.storeId, request.terminalId],
  });
  const row = result.rows[0];
  assert(row !== undefined, 'the lookup answers one row');
  const earlier = row.id === null ? null : toPayment(row as PaymentRow);
  const facts: TillRequestFacts = {
    standing: row.merchant_status === null ? undefined : { merchant_status: row.merchant_status, store_status: row.store_status, live_status: row.live_status },
    walletLedger: row.wallet_ledger,
    throttle: row.throttle_failures === null || row.throttle_last_failure_at === null || row.throttle_window_started_at === null ? null
      : { failures: row.throttle_failures, last_failure_at: row.throttle_last_failure_at, locked_at: row.throttle_locked_at, window_started_at: row.throttle_window_started_at },
    walletBalanceMinor: row.wallet_credits_posted === null || row.wallet_debits_posted === null || row.wallet_debits_pending === null ? null
      : availableBalance({ creditsPosted: row.wallet_credits_posted, debitsPosted: row.wallet_debits_posted, debitsPending: row.wallet_debits_pending }),
    canceledId: row.canceled_id,
    orderDetails: row.details_kept ? { storeRef: row.details_store_ref, terminalRef: row.details_terminal_ref, storeInfo: row.details_store_info,
      productType: row.details_product_type, orderItems: row.details_order_items } : null,
  };
  const code = row.code_id === null || row.code_status === null || row.code_expires_at === null || row.code_customer_id === null || row.code_device_id === null || row.code_wallet_account_id === null
    ? null : { id: row.code_id, status: row.code_status, expiresAt: row.code_expires_at, customerId: row.code_customer_id, deviceId: row.code_device_id,
      walletAccountId: row.code_wallet_account_id, mintedIp: row.code_minted_ip, deviceKey: row.code_device_key, passkeyProved: row.code_passkey_proved === true };
  return { earlier, code, facts };
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
