/**
 * Group commit for customer-code payments (issue 11): concurrent till payments that passed the steps up to
 * **risk** are collected by a batcher (at most two batches in flight, as the ledger's) and settled together
 * in ONE transaction with a fixed number of round trips whatever the batch's size:
 *
 *   begin → the OPA nonces waiting to be written (one statement) → the risk engine scores the whole batch
 *   (one read; the rules per payment in memory, in order; one write of counters and decisions: src/risk/assess-batch.ts)
 *   → claim every code of the payments it allowed (one statement) → the ledger's reads and write inside this transaction
 *   (`ledger.createTransfersWithin`: the ledger still owns its SQL) → every payment row in its final state
 *   (COMPLETED or FAILED) with its merchant event, deliveries and customer notice (one statement) → commit
 *
 * so the code claim, the money, the payment record and every consequence commit together or not at all,
 * with one fsync shared by the batch. No payment is ever visible in CREATED on this path, so the in-flight
 * repair has nothing to do for it.
 *
 * Isolating each payment's failure (a refused payment must not fail its neighbours). Two kinds of failure:
 * - **Refusals are outcomes, not errors**, and are decided per payment inside the statements: a code that
 *   is used, expired or refreshed is simply not claimed by the claim statement (that payment answers why,
 *   after the commit, as the single path does); the ledger engine refuses per linked chain (insufficient
 *   funds, frozen wallet) and remembers the failure, and that payment is recorded FAILED in the same
 *   commit as its neighbours' successes. None of these aborts the transaction.
 * - **Errors abort the transaction** (a unique violation from a concurrent reuse of a merchantPaymentId in
 *   another batch or node, a deadlock, a lock conflict the ledger would retry, a broken connection). Then
 *   the whole batch rolls back — nothing of it was written — and each of its payments is settled again **on
 *   its own** through the single path (claim, ledger, record), which has its own, proven, answers for
 *   every race. We chose this over a savepoint per payment because savepoints cost two extra round trips
 *   per payment on every batch, to serve a case that happens only on conflicting reuse or infrastructure
 *   failure; the fallback costs nothing until it is needed.
 * - **Pre-validation** keeps the known collisions out of the batch: two payments in one batch with the same
 *   merchantPaymentId or the same code would collide inside the statements, so only the first goes into
 *   the batch and the others settle on their own after it commits (then they see the first's outcome:
 *   a repeat answers it, another payment hears "code used").
 *
 * Retries of the same merchantPaymentId during a batch: the retry's replay read does not see the
 * uncommitted payment, so it proceeds; its claim of the same code waits on the batch's row lock and, once
 * the batch commits, finds the code used and answers the original's outcome (`answerLostClaim` in till.ts).
 * If the batch rolled back, the original and the retry race on the single path, where the code's claim
 * decides and the loser answers the winner's outcome — one payment either way.
 *
 * An unknown commit outcome (the connection breaks during COMMIT) is safe the same way: the payment is
 * settled again on its own, and if the commit did happen the code is used and the merchantPaymentId taken,
 * so it answers the original's outcome instead of paying twice. (Its risk score is then taken again on its own:
 * the counters count it twice, which errs towards refusing, never towards letting through.)
 *
 * Risk per batch: a payment risk refuses, or one over its tier payment limit, answers its own error ('refused');
 * one its customer must confirm leaves the batch and is held on its own ('confirm'). Both decisions commit with
 * the batch and neither fails a neighbour. A payment the batch did not score ('alone') is scored on its own.
 */
import type pg from 'pg';
import { assert } from '../platform/assert.ts';
import { releaseAfter } from '../platform/db/resilience.ts';
import { createBatcher, type Batcher } from '../ledger/batcher.ts';
import type { CodeAttempt } from './till.ts';
import { paymentLegs, walletDebit } from './complete.ts';
import { customersWithSeveralBalances, paymentLimitRefusals } from '../wallet/spending.ts';
import { noticeValues } from './customer-notices.ts';
import type { PaymentsDeps, PreparedMerchantEvent } from './deps.ts';
import { merchantFee } from './fees.ts';
import { recordPendingRisk, refusedByRisk } from './risk-check.ts';
import { tillConfirmationNeed, type ConfirmationNeed } from './customer-confirmation.ts';
import type { KobanError } from '../platform/errors.ts';
import type { PaymentRiskBatch } from './deps.ts';
import { failureCodeOf, legRequests, legsOutcome } from './ledger-legs.ts';
import { PAYMENT_COLUMNS, toPayment, type Payment, type PaymentRow } from './model.ts';
import { businessDate } from './time.ts';
import { uuidv7 } from '../platform/ids.ts';
import { outboxManyCte, outboxManyValues } from './webhooks/outbox.ts';
import { paymentEventDataOf } from './views.ts';

/** What became of one payment handed to the group commit. */
export type GroupOutcome =
  /** Written in the batch's commit, COMPLETED or FAILED. */
  | { readonly kind: 'recorded'; readonly payment: Payment }
  /** The code was no longer live at the claim: answer as a lost claim (a repeat, or why the code is gone). */
  | { readonly kind: 'not_claimed' }
  /** Not written by this batch (a duplicate inside it, or the batch rolled back): settle it on its own. */
  | { readonly kind: 'alone' }
  /** Scored by the batch's risk read and refused (risk, or the tier payment limit after it); the decision is in the commit. */
  | { readonly kind: 'refused'; readonly error: KobanError }
  /** Scored by the batch: the customer must confirm first, so it settles on its own and waits (the decision is in the commit). */
  | { readonly kind: 'confirm'; readonly confirmation: ConfirmationNeed };

export interface CodePaymentBatcher extends Pick<Batcher<CodeAttempt, GroupOutcome>, 'submit' | 'drain'> {
  /** Batches written, payments in them, and batches rolled back (their payments then settled on their own). */
  readonly stats: { readonly batches: number; readonly items: number; readonly rolledBack: number };
}

/** Payments per transaction: big enough to share the fsync and the hot rows, small enough to keep a batch's locks short. */
export const GROUP_COMMIT_ITEMS_MAX = 256;
const QUEUED_ITEMS_MAX = 8192;

export function createCodePaymentBatcher(deps: Omit<PaymentsDeps, 'codePayments'>): CodePaymentBatcher {
  let rolledBack = 0;
  const batcher = createBatcher<CodeAttempt, GroupOutcome>({
    itemsMax: GROUP_COMMIT_ITEMS_MAX,
    queuedItemsMax: QUEUED_ITEMS_MAX,
    inFlightMax: 2,
    sizeOf: () => 1,
    write: async (attempts) => {
      const outcomes = await writeCodePaymentBatch(deps, attempts);
      if (outcomes.rolledBack) rolledBack += 1;
      return outcomes.outcomes;
    },
  });
  return {
    submit: (attempt) => batcher.submit(attempt),
    drain: () => batcher.drain(),
    get stats() { return { batches: batcher.stats.batches, items: batcher.stats.items, rolledBack }; },
  };
}

interface Claimed { payment_id: string; code_id: string; wallet_account_id: string }

/** One batch, one transaction (see the file's comment); answers one outcome per attempt, in order. Never throws. */
export async function writeCodePaymentBatch(deps: Omit<PaymentsDeps, 'codePayments'>, attempts: readonly CodeAttempt[]): Promise<{ outcomes: GroupOutcome[]; rolledBack: boolean }> {
  const outcomes: GroupOutcome[] = attempts.map(() => ({ kind: 'alone' }));
  const chosen = distinctAttempts(attempts);
  if (chosen.length === 0) return { outcomes, rolledBack: false };
  const client = await deps.db.pool.connect();
  let failure: unknown;
  // The OPA nonces of till charges checked in memory so far (this batch's and any others waiting): written in this
  // transaction, so another node sees them after one batch; given back for the next one if it rolls back.
  const nonces = deps.nonces?.takePending() ?? [];
  try {
    await client.query('begin');
    if (nonces.length > 0) await deps.nonces?.writeWithin(client, nonces);
    const { written, risk } = await settleInTransaction(deps, client, chosen.map((index) => attempts[index] as CodeAttempt));
    // Every attempt's risk allow, the ones settling on their own included: one insert, durable with the batch.
    const pending = attempts.flatMap((attempt) => (attempt.pendingRisk == null ? [] : [attempt.pendingRisk]));
    await recordPendingRisk(deps, pending, client);
    await client.query('commit');
    for (const attempt of attempts) attempt.pendingRisk = null;
    chosen.forEach((index, at) => { outcomes[index] = written[at] as GroupOutcome; });
    if (written.some((outcome) => outcome.kind === 'recorded' && outcome.payment.status === 'COMPLETED')) deps.notices.kick();
    await raiseAlerts(deps, risk);
    return { outcomes, rolledBack: false };
  } catch (error) {
    failure = error;
    if (nonces.length > 0) deps.nonces?.giveBack(nonces);
    try {
      await client.query('rollback');
    } catch (rollbackError) {
      // The connection is unusable: it is destroyed, never handed back with a transaction open.
      client.release(rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError)));
      failure = 'released';
    }
    deps.log.warn({ err: error, payments: chosen.length }, 'payment batch rolled back; its payments are settled one by one');
    // Every chosen attempt stays 'alone': nothing of the batch was written.
    return { outcomes: attempts.map(() => ({ kind: 'alone' })), rolledBack: true };
  } finally {
    if (failure !== 'released') releaseAfter(client, failure);
  }
}

/** Indexes of the attempts that go into the batch: the first per merchantPaymentId and per code. */
function distinctAttempts(attempts: readonly CodeAttempt[]): number[] {
  const orders = new Set<string>();
  const codes = new Set<string>();
  const chosen: number[] = [];
  attempts.forEach((attempt, index) => {
    assert(attempt.codeHash !== null && attempt.code != null && attempt.till !== undefined, 'a batched payment passed validation and risk');
    const order = `${attempt.request.merchantId}\u0000${attempt.request.merchantPaymentId}`;
    const code = attempt.codeHash.toString('hex');
    if (orders.has(order) || codes.has(code)) return;
    orders.add(order);
    codes.add(code);
    chosen.push(index);
  });
  return chosen;
}

async function settleInTransaction(deps: Omit<PaymentsDeps, 'codePayments'>, client: pg.PoolClient, attempts: readonly CodeAttempt[]): Promise<{ written: GroupOutcome[]; risk: PaymentRiskBatch | null }> {
  // A customer with more than one balance pays by a stored spend plan (complete.ts chooseDebits): on the single path.
  const several = await customersWithSeveralBalances(client, attempts.map((attempt) => attempt.code?.customerId).filter((id): id is string => id != null));
  const batchable = attempts.filter((attempt) => !several.has(attempt.code?.customerId ?? ''));
  const scored = await scoreBatch(deps, client, batchable);
  const settling = batchable.filter((attempt) => !scored.outcomes.has(attempt.paymentId));
  const written = settling.length === 0 ? [] : await settleBatchable(deps, client, settling);
  const byPayment = new Map<string, GroupOutcome>([...scored.outcomes, ...settling.map((attempt, index): [string, GroupOutcome] => [attempt.paymentId, written[index] as GroupOutcome])]);
  return { written: attempts.map((attempt) => byPayment.get(attempt.paymentId) ?? { kind: 'alone' }), risk: scored.risk };
}

/**
 * The risk engine scores every payment of the batch whose score was left to it (till.ts assessCodePayment), in
 * this transaction: one read for the whole batch, the rules per payment in order in memory (a customer's
 * payments in one batch see each other's counts), one write of counters and decisions. A refused payment, or one
 * that must wait for its customer, leaves the batch with its own outcome and never fails its neighbours.
 */
async function scoreBatch(deps: Omit<PaymentsDeps, 'codePayments'>, client: pg.PoolClient, attempts: readonly CodeAttempt[]): Promise<{ outcomes: Map<string, GroupOutcome>; risk: PaymentRiskBatch | null }> {
  const outcomes = new Map<string, GroupOutcome>();
  const deferred = attempts.filter((attempt) => attempt.deferredRisk != null);
  if (deferred.length === 0) return { outcomes, risk: null };
  assert(deps.risk.assessBatch !== undefined, 'a score is left to the batch only by an engine that scores batches');
  const risk = await deps.risk.assessBatch(client, deferred.map((attempt) => attempt.deferredRisk as NonNullable<CodeAttempt['deferredRisk']>));
  assert(risk.decisions.length === deferred.length, 'one risk decision per payment');
  await readTierLimits(deps, client, deferred);
  deferred.forEach((attempt, index) => {
    const { decision, reasons } = risk.decisions[index] as PaymentRiskBatch['decisions'][number];
    if (decision === 'deny' || decision === 'review') {
      outcomes.set(attempt.paymentId, { kind: 'refused', error: refusedByRisk() });
      return;
    }
    if (attempt.tierRefusal != null) {
      outcomes.set(attempt.paymentId, { kind: 'refused', error: attempt.tierRefusal });
      return;
    }
    const confirmation = tillConfirmationNeed(deps, attempt.request.amountMinor, { decision, rules: (reasons ?? []).map((reason) => reason.rule) });
    if (confirmation !== null) outcomes.set(attempt.paymentId, { kind: 'confirm', confirmation });
  });
  await risk.record(client);
  return { outcomes, risk };
}

/**
 * The tier payment limit of every payment that left it to the batch (tier-limit-step.ts): the wallet's one read for
 * all of them. Set on the attempt, so a payment that ends up settling alone keeps its answer.
 */
async function readTierLimits(deps: Omit<PaymentsDeps, 'codePayments'>, client: pg.PoolClient, attempts: readonly CodeAttempt[]): Promise<void> {
  const pending = attempts.filter((attempt) => attempt.tierLimitPending === true);
  const refusals = await paymentLimitRefusals(deps.tierLimits, client, pending.map((attempt) => {
    assert(attempt.code != null, 'a batched payment has its code');
    return { customerId: attempt.code.customerId, amountMinor: attempt.request.amountMinor };
  }), deps.now());
  pending.forEach((attempt, index) => {
    attempt.tierRefusal = refusals[index] ?? null;
    attempt.tierLimitPending = false;
  });
}

/** Alerts (cases) for the batch's decisions that were not allows, once they are durable; a failure is logged, never the payments'. */
async function raiseAlerts(deps: Omit<PaymentsDeps, 'codePayments'>, risk: PaymentRiskBatch | null): Promise<void> {
  if (risk === null) return;
  for (const failure of await risk.afterCommit()) {
    if (failure !== null) deps.log.error({ err: failure }, 'a risk alert of a payment batch failed');
  }
}

async function settleBatchable(deps: Omit<PaymentsDeps, 'codePayments'>, client: pg.PoolClient, attempts: readonly CodeAttempt[]): Promise<GroupOutcome[]> {
  const now = deps.now();
  const claimed = await claimCodes(client, attempts, now);
  const staged: Array<{ attempt: CodeAttempt; payment: Payment } | null> = attempts.map((attempt) => {
    const claim = claimed.get(attempt.paymentId);
    return claim === undefined ? null : { attempt, payment: stagedPayment(deps, attempt, claim, now) };
  });
  const settling = staged.filter((s): s is { attempt: CodeAttempt; payment: Payment } => s !== null);
  if (settling.length === 0) return attempts.map(() => ({ kind: 'not_claimed' }));
  const results = await deps.ledger.createTransfersWithin(client, settling.map(({ attempt, payment }) => {
    assert(attempt.till !== undefined, 'the till is known');
    return legRequests(paymentLegs(payment, walletDebit(payment), attempt.till));
  }));
  assert(results.length === settling.length, 'one ledger answer per payment');
  const finals = settling.map(({ attempt, payment }, index) => {
    const moved = legsOutcome(results[index] ?? []);
    return { attempt, payment: moved.ok
      ? { ...payment, status: 'COMPLETED' as const, acceptedAt: now, businessDate: businessDate(now) }
      : { ...payment, status: 'FAILED' as const, failureCode: failureCodeOf(moved.result) } };
  });
  const recorded = await recordFinals(deps, client, finals, now);
  return attempts.map((attempt) => {
    const payment = recorded.get(attempt.paymentId);
    return payment === undefined ? { kind: 'not_claimed' } : { kind: 'recorded', payment };
  });
}

/**
 * Claims the batch's codes in one statement. The claim names the customer and device the risk engine
 * scored, as the single path's does; it sets each code's payment id, so a code is tied to exactly one
 * payment of the batch (codes are distinct in a batch anyway).
 */
async function claimCodes(client: pg.PoolClient, unordered: readonly CodeAttempt[], now: Date): Promise<Map<string, Claimed>> {
  // In code order, so two batches claiming overlapping codes (retries) tend to lock them in one order; a
  // deadlock all the same rolls a batch back and its payments settle on their own.
  const attempts = [...unordered].sort((x, y) => Buffer.compare(x.codeHash as Buffer, y.codeHash as Buffer));
  const result = await client.query<Claimed>({
    name: 'payments_batch_claim',
    text: `update payment_codes c set status = 'used', used_at = $5, payment_id = i.payment_id
           from unnest($1::uuid[], $2::bytea[], $3::uuid[], $4::text[]) as i(payment_id, code_hash, customer_id, device_id)
           where c.code_hash = i.code_hash and c.status = 'live' and c.expires_at > $5 and c.customer_id = i.customer_id and c.device_id = i.device_id
           returning c.payment_id, c.id as code_id, c.wallet_account_id`,
    values: [attempts.map((a) => a.paymentId), attempts.map((a) => a.codeHash), attempts.map((a) => a.code?.customerId), attempts.map((a) => a.code?.deviceId), now],
  });
  return new Map(result.rows.map((row) => [row.payment_id, row]));
}

/** The payment as the single path's claim would have staged it: CREATED, its transfer ids chosen. */
function stagedPayment(deps: Omit<PaymentsDeps, 'codePayments'>, attempt: CodeAttempt, claim: Claimed, now: Date): Payment {
  const { request, code } = attempt;
  assert(code != null, 'a claimed code was read');
  const feeMinor = merchantFee(request.amountMinor, deps.config.merchantFeeBps);
  return {
    id: attempt.paymentId, merchantId: request.merchantId, merchantPaymentId: request.merchantPaymentId, kind: 'customer_code', status: 'CREATED',
    amountMinor: request.amountMinor, feeMinor, storeId: request.storeId, terminalId: request.terminalId, orderDescription: request.orderDescription,
    requestFingerprint: attempt.requestFingerprint, customerId: code.customerId, walletAccountId: claim.wallet_account_id, deviceId: code.deviceId,
    paymentTransferId: uuidv7(), feeTransferId: feeMinor > 0n ? uuidv7() : null, failureCode: null, refundedMinor: 0n, refundedFeeMinor: 0n,
    requestedAt: request.requestedAt, createdAt: now, acceptedAt: null, businessDate: null, canceledAt: null, cancelAmountMinor: null,
    cancelFeeMinor: null, cancelTransferId: null, cancelFeeTransferId: null,
    isAuthorization: false, authorizationExpiresAt: null, authorizedAt: null, authorizedAmountMinor: null,
  };
}

/**
 * One statement: every payment row in its final state (no CREATED → COMPLETED update), its merchant event
 * with one delivery per active endpoint (the transactional outbox), and a completed payment's customer
 * notice (feed entry and e-mail, relayed by customer-notices.ts).
 */
async function recordFinals(deps: Omit<PaymentsDeps, 'codePayments'>, client: pg.PoolClient, finals: ReadonlyArray<{ attempt: CodeAttempt; payment: Payment }>, now: Date): Promise<Map<string, Payment>> {
  const payments = finals.map((f) => f.payment);
  const events: PreparedMerchantEvent[] = payments.map((payment) => deps.events.prepare({
    type: payment.status === 'COMPLETED' ? 'payment.completed' : 'payment.failed', merchantId: payment.merchantId, paymentId: payment.id, data: paymentEventDataOf(payment, []),
  }));
  const notices = finals.filter((f) => f.payment.status === 'COMPLETED').map(({ attempt, payment }) => {
    assert(attempt.till !== undefined && payment.customerId !== null, 'a completed payment has its till and customer');
    const [id, json] = noticeValues({ type: 'payment.completed', paymentId: payment.id, amountMinor: payment.amountMinor, merchantName: attempt.till.merchantName, storeName: attempt.till.storeName, at: now });
    return { id, customerId: payment.customerId, json };
  });
  const column = <T>(pick: (p: Payment) => T): T[] => payments.map(pick);
  const inserted = await client.query<PaymentRow>({
    name: 'payments_batch_record',
    text: `with done as (
             insert into payments (id, merchant_id, merchant_payment_id, kind, status, amount_minor, fee_minor, store_id, terminal_id, order_description,
               request_fingerprint, customer_id, wallet_account_id, device_id, code_id, payment_transfer_id, fee_transfer_id, failure_code,
               requested_at, created_at, staged_at, accepted_at, business_date)
             select p.id, p.merchant_id, p.merchant_payment_id, 'customer_code', p.status, p.amount_minor, p.fee_minor, p.store_id, p.terminal_id, p.order_description,
               p.request_fingerprint, p.customer_id, p.wallet_account_id, p.device_id, p.code_id, p.payment_transfer_id, p.fee_transfer_id, p.failure_code,
               p.requested_at, $21::timestamptz, $21::timestamptz, p.accepted_at, p.business_date
             from unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::bigint[], $6::bigint[], $7::uuid[], $8::uuid[], $9::text[], $10::text[],
                         $11::uuid[], $12::uuid[], $13::text[], $14::uuid[], $15::uuid[], $16::uuid[], $17::text[], $18::timestamptz[], $19::timestamptz[], $20::text[])
               as p(id, merchant_id, merchant_payment_id, status, amount_minor, fee_minor, store_id, terminal_id, order_description, request_fingerprint,
                    customer_id, wallet_account_id, device_id, code_id, payment_transfer_id, fee_transfer_id, failure_code, requested_at, accepted_at, business_date)
             returning ${PAYMENT_COLUMNS}
           ), customer_notice as (
             insert into payment_customer_notices (id, customer_id, event, created_at)
             select n.id, n.customer_id, n.event::jsonb, $21::timestamptz from unnest($22::uuid[], $23::uuid[], $24::text[]) as n(id, customer_id, event)
           ), ${outboxManyCte(25)}
           select ${PAYMENT_COLUMNS} from done`,
    values: [
      column((p) => p.id), column((p) => p.merchantId), column((p) => p.merchantPaymentId), column((p) => p.status), column((p) => p.amountMinor),
      column((p) => p.feeMinor), column((p) => p.storeId), column((p) => p.terminalId), column((p) => p.orderDescription), column((p) => p.requestFingerprint),
      column((p) => p.customerId), column((p) => p.walletAccountId), column((p) => p.deviceId), finals.map((f) => f.attempt.code?.id ?? null),
      column((p) => p.paymentTransferId), column((p) => p.feeTransferId), column((p) => p.failureCode), column((p) => p.requestedAt),
      column((p) => p.acceptedAt), column((p) => p.businessDate), now,
      notices.map((n) => n.id), notices.map((n) => n.customerId), notices.map((n) => n.json),
      ...outboxManyValues(events),
    ],
  });
  // Pair assertion: every payment the ledger decided is written, or the transaction must not commit.
  assert(inserted.rows.length === payments.length, `recorded ${inserted.rows.length} of ${payments.length} payments`);
  return new Map(inserted.rows.map((row) => [row.id, toPayment(row)]));
}
