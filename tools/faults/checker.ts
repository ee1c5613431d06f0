/**
 * The checker, in the spirit of Jepsen's bank test: from the load generator's log (every request and answer)
 * and the database's final state it decides, per operation, what really happened, and reports
 *   - lost: acknowledged, but the final state says it did not happen;
 *   - contradictions: an answer (any attempt, retries included) that says the opposite of the final state;
 *   - duplicated: money moved more than once for one operation (extra ledger transfers on a wallet);
 *   - phantoms: payments, refunds or top-ups in the database that no logged operation asked for;
 *   - balances: every tracked wallet's ledger balance against baseline + the operations that happened,
 *     and the merchant's receivable plus fee revenue against the payments net of refunds and cancels;
 *   - recovery: after each fault, how long until the first acknowledged operation sent after it ended.
 * Pure functions over plain data, so its logic is unit-tested on synthetic logs (checker.test.ts).
 */
import { verdictOf, type AttemptRecord, type FaultRecord, type OpKind, type Verdict } from './log.ts';

/** The database after the run, reduced to what the checks need (db-state.ts reads it). */
export interface DbState {
  /** Payments of the load's merchant created after the baseline, by merchantPaymentId. */
  readonly payments: ReadonlyArray<{ merchantPaymentId: string; status: string; amountMinor: number; walletAccountId: string | null; paymentTransferId: string | null; cancelTransferId: string | null }>;
  readonly refunds: ReadonlyArray<{ merchantRefundId: string; merchantPaymentId: string; status: string; amountMinor: number; refundTransferId: string }>;
  readonly topUps: ReadonlyArray<{ idempotencyKey: string; walletAccountId: string; status: string; amountMinor: number; ledgerTransferId: string }>;
  /** Posted transfers after the baseline touching a tracked wallet. */
  readonly walletTransfers: ReadonlyArray<{ id: string; debitAccountId: string; creditAccountId: string; amountMinor: number }>;
  /** Balance (credits − debits posted) and pending totals, at the baseline and now. */
  readonly wallets: ReadonlyArray<{ accountId: string; baselineMinor: number; finalMinor: number; pendingMinor: number }>;
  /** The merchant's receivable plus the fee revenue account (fees only move between the two). */
  readonly merchantNet: { baselineMinor: number; finalMinor: number };
  readonly ledgerVerify: { ok: boolean; summary: string };
}

export interface Finding { readonly op: OpKind | 'ledger' | 'balance'; readonly opId: string; readonly message: string }

export interface FaultRecovery {
  readonly fault: string;
  readonly detail: string;
  readonly recoveredMs: number | null;
  readonly manualRestart: boolean;
  readonly unexpectedExits: number;
  readonly ok: boolean;
}

export interface CheckReport {
  readonly ok: boolean;
  readonly operations: Record<string, { total: number; ok: number; failed: number; unknownResolvedHappened: number; unknownResolvedNot: number; attempts: number }>;
  readonly lost: Finding[];
  readonly contradictions: Finding[];
  readonly duplicated: Finding[];
  readonly phantoms: Finding[];
  readonly balances: Finding[];
  /** Answers 5xx other than 503: Koban failed in a way it did not expect (a 503 is an honest "unavailable"). */
  readonly serverErrors: Finding[];
  /** Contradictions by kind: "<op> <status> <result> vs final <state>", storm copies apart. */
  readonly contradictionKinds: Record<string, number>;
  /** SUCCESS answered while the operation was unfinished: not a contradiction unless it never finished. */
  readonly premature: number;
  readonly answers: Record<string, number>;
  readonly ledgerVerify: { ok: boolean; summary: string };
  readonly recovery: FaultRecovery[];
}

export interface CheckOptions {
  /** A fault that has not been followed by an acknowledged operation within this bound did not recover. */
  readonly recoveryBoundMs: number;
}

interface Operation {
  readonly op: OpKind;
  readonly opId: string;
  readonly walletAccountId: string;
  readonly amountMinor: number;
  readonly paymentOpId: string | undefined;
  readonly attempts: AttemptRecord[];
}

export function groupOperations(attempts: readonly AttemptRecord[]): Operation[] {
  const byKey = new Map<string, Operation>();
  for (const attempt of attempts) {
    const key = `${attempt.op}:${attempt.opId}`;
    let operation = byKey.get(key);
    if (operation === undefined) {
      operation = { op: attempt.op, opId: attempt.opId, walletAccountId: attempt.walletAccountId, amountMinor: attempt.amountMinor, paymentOpId: attempt.paymentOpId, attempts: [] };
      byKey.set(key, operation);
    }
    operation.attempts.push(attempt);
  }
  return [...byKey.values()];
}

/** Whether the final state says the operation took effect (money moved), and the state's name. */
function finalOutcome(operation: Operation, db: Indexed): { happened: boolean; state: string } {
  switch (operation.op) {
    case 'pay':
    case 'qr_pay': {
      const payment = db.payments.get(operation.opId);
      if (payment === undefined) return { happened: false, state: 'absent' };
      return { happened: ['COMPLETED', 'REFUNDED', 'CANCELED'].includes(payment.status) && payment.paymentTransferId !== null && db.transferIds.has(payment.paymentTransferId), state: payment.status };
    }
    case 'refund': {
      const refund = db.refunds.get(operation.opId);
      if (refund === undefined) return { happened: false, state: 'absent' };
      return { happened: refund.status === 'REFUNDED' && db.transferIds.has(refund.refundTransferId), state: refund.status };
    }
    case 'cancel': {
      const payment = db.payments.get(operation.opId);
      if (payment === undefined) return { happened: false, state: 'absent' };
      return { happened: payment.status === 'CANCELED', state: payment.status };
    }
    case 'topup': {
      const topUp = db.topUps.get(operation.opId);
      if (topUp === undefined) return { happened: false, state: 'absent' };
      return { happened: topUp.status === 'completed' && db.transferIds.has(topUp.ledgerTransferId), state: topUp.status };
    }
  }
}

interface Indexed {
  readonly payments: Map<string, DbState['payments'][number]>;
  readonly refunds: Map<string, DbState['refunds'][number]>;
  readonly topUps: Map<string, DbState['topUps'][number]>;
  readonly transferIds: Set<string>;
}

function index(db: DbState): Indexed {
  return {
    payments: new Map(db.payments.map((p) => [p.merchantPaymentId, p])),
    refunds: new Map(db.refunds.map((r) => [r.merchantRefundId, r])),
    topUps: new Map(db.topUps.map((t) => [t.idempotencyKey, t])),
    transferIds: new Set(db.walletTransfers.map((t) => t.id)),
  };
}

function describe(attempt: AttemptRecord): string {
  return `attempt ${attempt.attempt}${attempt.storm === true ? ' (storm)' : ''} sent ${new Date(attempt.sentAtMs).toISOString()} answered ${attempt.status} ${attempt.result}${attempt.state === undefined ? '' : `/${attempt.state}`} after ${attempt.answeredAtMs - attempt.sentAtMs} ms`;
}

export function check(attempts: readonly AttemptRecord[], faults: readonly FaultRecord[], db: DbState, options: CheckOptions): CheckReport {
  const indexed = index(db);
  const operations = groupOperations(attempts);
  const lost: Finding[] = [];
  const contradictions: Finding[] = [];
  const counts: CheckReport['operations'] = {};
  const answers: Record<string, number> = {};
  const contradictionKinds: Record<string, number> = {};
  let premature = 0;
  const contradict = (operation: Operation, attempt: AttemptRecord, state: string, message: string): void => {
    contradictions.push({ op: operation.op, opId: operation.opId, message });
    const kind = `${attempt.op} ${attempt.status} ${attempt.result}${attempt.state === undefined ? '' : `/${attempt.state}`} vs final ${state}${attempt.storm === true ? ' (storm)' : ''}`;
    contradictionKinds[kind] = (contradictionKinds[kind] ?? 0) + 1;
  };
  const happenedOps = new Map<string, boolean>();

  for (const operation of operations) {
    const final = finalOutcome(operation, indexed);
    happenedOps.set(`${operation.op}:${operation.opId}`, final.happened);
    const verdicts = operation.attempts.map((a) => ({ attempt: a, verdict: verdictOf(a) }));
    const count = (counts[operation.op] ??= { total: 0, ok: 0, failed: 0, unknownResolvedHappened: 0, unknownResolvedNot: 0, attempts: 0 });
    count.total++;
    count.attempts += operation.attempts.length;
    for (const { attempt } of verdicts) {
      const key = `${attempt.op} ${attempt.status} ${attempt.result}${attempt.state === undefined ? '' : `/${attempt.state}`}`;
      answers[key] = (answers[key] ?? 0) + 1;
    }
    const acknowledged = verdicts.some((v) => v.verdict === 'ok');
    const refused = verdicts.some((v) => v.verdict === 'failed');
    if (acknowledged) count.ok++;
    else if (refused) count.failed++;
    else if (final.happened) count.unknownResolvedHappened++;
    else count.unknownResolvedNot++;
    if (acknowledged && !final.happened) {
      lost.push({ op: operation.op, opId: operation.opId, message: `acknowledged but final state is ${final.state}` });
    }
    for (const { attempt, verdict } of verdicts) {
      if (verdict === 'premature') {
        premature++;
        if (!final.happened) contradict(operation, attempt, final.state, `${describe(attempt)}: SUCCESS for an operation that never completed (final ${final.state})`);
      }
      if (verdict === 'failed' && final.happened) contradict(operation, attempt, final.state, `${describe(attempt)}, but the final state is ${final.state}`);
    }
  }

  const duplicated = findDuplicates(db, indexed);
  const phantoms = findPhantoms(operations, db);
  const balances = checkBalances(operations, happenedOps, db);
  const recovery = measureRecovery(attempts, faults, options.recoveryBoundMs);
  const serverErrors = attempts.filter((a) => a.status >= 500 && a.status !== 503)
    .map((a) => ({ op: a.op, opId: a.opId, message: describe(a) }));
  const ok = lost.length === 0 && contradictions.length === 0 && duplicated.length === 0 && phantoms.length === 0 && balances.length === 0
    && serverErrors.length === 0 && db.ledgerVerify.ok && recovery.every((r) => r.ok);
  return { ok, operations: counts, lost, contradictions, contradictionKinds, duplicated, phantoms, balances, serverErrors, premature, answers, ledgerVerify: db.ledgerVerify, recovery };
}

/**
 * Every posted transfer on a tracked wallet must be the one transfer some payment, refund, cancel or top-up
 * row names: a second transfer for one operation is money moved twice.
 */
function findDuplicates(db: DbState, indexed: Indexed): Finding[] {
  const expected = new Set<string>();
  for (const p of indexed.payments.values()) {
    if (p.paymentTransferId !== null) expected.add(p.paymentTransferId);
    if (p.cancelTransferId !== null) expected.add(p.cancelTransferId);
  }
  for (const r of indexed.refunds.values()) expected.add(r.refundTransferId);
  for (const t of indexed.topUps.values()) expected.add(t.ledgerTransferId);
  return db.walletTransfers.filter((t) => !expected.has(t.id)).map((t) => ({
    op: 'ledger' as const, opId: t.id, message: `transfer of ${t.amountMinor} from ${t.debitAccountId} to ${t.creditAccountId} belongs to no payment, refund, cancel or top-up`,
  }));
}

/**
 * Rows that moved money although no logged operation asked for them. (An order QR created but never paid is
 * a payment row in CREATED: no money, not a phantom.)
 */
function findPhantoms(operations: readonly Operation[], db: DbState): Finding[] {
  const asked = new Set(operations.map((o) => `${o.op === 'qr_pay' ? 'pay' : o.op}:${o.opId}`));
  const findings: Finding[] = [];
  for (const p of db.payments) {
    if (p.paymentTransferId === null || !['COMPLETED', 'REFUNDED', 'CANCELED'].includes(p.status)) continue;
    if (!asked.has(`pay:${p.merchantPaymentId}`)) findings.push({ op: 'pay', opId: p.merchantPaymentId, message: `payment ${p.status} of ${p.amountMinor} that no client asked for` });
  }
  for (const r of db.refunds) {
    if (r.status === 'REFUNDED' && !asked.has(`refund:${r.merchantRefundId}`)) findings.push({ op: 'refund', opId: r.merchantRefundId, message: `refund ${r.status} of ${r.amountMinor} that no client asked for` });
  }
  for (const t of db.topUps) {
    if (t.status === 'completed' && !asked.has(`topup:${t.idempotencyKey}`)) findings.push({ op: 'topup', opId: t.idempotencyKey, message: `top-up ${t.status} of ${t.amountMinor} that no client asked for` });
  }
  return findings;
}

/**
 * Bank-test balances: each wallet = baseline + top-ups − payments + refunds, with a cancelled payment netting to
 * zero (a cancel returns what refunds did not); the merchant's receivable + fee revenue moves by exactly the
 * opposite of the wallets' payment-side total. Operations are taken as happened when acknowledged, as not when
 * refused, and as the database says when no answer settled them (contradictions are reported above).
 */
function checkBalances(operations: readonly Operation[], happenedOps: ReadonlyMap<string, boolean>, db: DbState): Finding[] {
  const happened = (op: Operation): boolean => {
    const verdicts = op.attempts.map(verdictOf);
    if (verdicts.includes('ok')) return true;
    if (verdicts.includes('failed')) return false;
    return happenedOps.get(`${op.op}:${op.opId}`) ?? false;
  };
  const canceled = new Set(operations.filter((o) => o.op === 'cancel' && happened(o)).map((o) => o.opId));
  const delta = new Map<string, number>();
  let merchantDelta = 0;
  const add = (account: string, amount: number): void => {
    delta.set(account, (delta.get(account) ?? 0) + amount);
  };
  for (const op of operations) {
    if (!happened(op)) continue;
    if (op.op === 'topup') add(op.walletAccountId, op.amountMinor);
    if ((op.op === 'pay' || op.op === 'qr_pay') && !canceled.has(op.opId)) {
      add(op.walletAccountId, -op.amountMinor);
      merchantDelta += op.amountMinor;
    }
    if (op.op === 'refund' && !canceled.has(op.paymentOpId ?? '')) {
      add(op.walletAccountId, op.amountMinor);
      merchantDelta -= op.amountMinor;
    }
  }
  const findings: Finding[] = [];
  for (const wallet of db.wallets) {
    const expected = wallet.baselineMinor + (delta.get(wallet.accountId) ?? 0);
    if (expected !== wallet.finalMinor) {
      findings.push({ op: 'balance', opId: wallet.accountId, message: `wallet balance ${wallet.finalMinor}, recomputed from the operations ${expected} (difference ${wallet.finalMinor - expected})` });
    }
    if (wallet.pendingMinor !== 0) findings.push({ op: 'balance', opId: wallet.accountId, message: `wallet still holds ${wallet.pendingMinor} pending after the run` });
  }
  const expectedMerchant = db.merchantNet.baselineMinor + merchantDelta;
  if (expectedMerchant !== db.merchantNet.finalMinor) {
    findings.push({ op: 'balance', opId: 'merchant', message: `merchant receivable + fee revenue ${db.merchantNet.finalMinor}, recomputed ${expectedMerchant} (difference ${db.merchantNet.finalMinor - expectedMerchant})` });
  }
  return findings;
}

/** Time from the end of each fault to the answer of the first acknowledged operation sent after it. */
export function measureRecovery(attempts: readonly AttemptRecord[], faults: readonly FaultRecord[], boundMs: number): FaultRecovery[] {
  const acknowledged = attempts.filter((a) => verdictOf(a) === 'ok' && a.storm !== true).sort((a, b) => a.answeredAtMs - b.answeredAtMs);
  return faults.map((fault) => {
    const first = acknowledged.find((a) => a.sentAtMs >= fault.endedAtMs);
    const recoveredMs = first === undefined ? null : first.answeredAtMs - fault.endedAtMs;
    const manualRestart = fault.manualRestartAtMs !== null;
    const ok = recoveredMs !== null && recoveredMs <= boundMs && !manualRestart && fault.unexpectedExits === 0;
    return { fault: fault.fault, detail: fault.detail, recoveredMs, manualRestart, unexpectedExits: fault.unexpectedExits, ok };
  });
}

export function verdictCounts(attempts: readonly AttemptRecord[]): Record<Verdict, number> {
  const counts: Record<Verdict, number> = { ok: 0, failed: 0, unknown: 0, premature: 0 };
  for (const attempt of attempts) counts[verdictOf(attempt)]++;
  return counts;
}
