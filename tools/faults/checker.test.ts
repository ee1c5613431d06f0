import { describe, expect, it } from 'vitest';
import { check, measureRecovery, type DbState } from './checker.ts';
import { verdictOf, type AttemptRecord, type FaultRecord } from './log.ts';

const WALLET = 'wallet-a';
const T0 = 1_000_000;

function attempt(over: Partial<AttemptRecord> & Pick<AttemptRecord, 'op' | 'opId' | 'status' | 'result'>): AttemptRecord {
  return { kind: 'attempt', attempt: 1, worker: 'w1', walletAccountId: WALLET, amountMinor: 100, sentAtMs: T0, answeredAtMs: T0 + 10, ...over };
}

function paid(opId: string, over: Partial<AttemptRecord> = {}): AttemptRecord {
  return attempt({ op: 'pay', opId, status: 200, result: 'SUCCESS', state: 'COMPLETED', ...over });
}

function payment(merchantPaymentId: string, status = 'COMPLETED', amountMinor = 100): DbState['payments'][number] {
  return { merchantPaymentId, status, amountMinor, walletAccountId: WALLET, paymentTransferId: `t-${merchantPaymentId}`, cancelTransferId: status === 'CANCELED' ? `c-${merchantPaymentId}` : null };
}

function transfer(id: string, amountMinor: number, towardsWallet: boolean): DbState['walletTransfers'][number] {
  return towardsWallet ? { id, debitAccountId: 'x', creditAccountId: WALLET, amountMinor } : { id, debitAccountId: WALLET, creditAccountId: 'x', amountMinor };
}

/** A database consistent with the given payments, refunds and top-ups, balances included. */
function state(input: { payments?: DbState['payments']; refunds?: DbState['refunds']; topUps?: DbState['topUps']; extraTransfers?: DbState['walletTransfers']; finalMinor?: number; verify?: boolean }): DbState {
  const payments = input.payments ?? [];
  const refunds = input.refunds ?? [];
  const topUps = input.topUps ?? [];
  const transfers: Array<DbState['walletTransfers'][number]> = [];
  let balance = 10_000;
  let merchant = 0;
  for (const p of payments.filter((x) => ['COMPLETED', 'REFUNDED', 'CANCELED'].includes(x.status))) {
    transfers.push(transfer(p.paymentTransferId ?? '', p.amountMinor, false));
    balance -= p.amountMinor;
    merchant += p.amountMinor;
  }
  for (const r of refunds.filter((x) => x.status === 'REFUNDED')) {
    transfers.push(transfer(r.refundTransferId, r.amountMinor, true));
    balance += r.amountMinor;
    merchant -= r.amountMinor;
  }
  for (const p of payments.filter((x) => x.status === 'CANCELED')) {
    const back = p.amountMinor - refunds.filter((r) => r.merchantPaymentId === p.merchantPaymentId && r.status === 'REFUNDED').reduce((s, r) => s + r.amountMinor, 0);
    transfers.push(transfer(p.cancelTransferId ?? '', back, true));
    balance += back;
    merchant -= back;
  }
  for (const t of topUps.filter((x) => x.status === 'completed')) {
    transfers.push(transfer(t.ledgerTransferId, t.amountMinor, true));
    balance += t.amountMinor;
  }
  return {
    payments, refunds, topUps, walletTransfers: [...transfers, ...(input.extraTransfers ?? [])],
    wallets: [{ accountId: WALLET, baselineMinor: 10_000, finalMinor: input.finalMinor ?? balance, pendingMinor: 0 }],
    merchantNet: { baselineMinor: 0, finalMinor: merchant },
    ledgerVerify: { ok: input.verify ?? true, summary: 'ok' },
  };
}

const OPTIONS = { recoveryBoundMs: 30_000 };

describe('fault checker', () => {
  it('passes a consistent history with retries, an unanswered payment that happened and one that did not', () => {
    const log = [
      paid('p1'),
      attempt({ op: 'pay', opId: 'p2', status: 0, result: 'network:ECONNRESET' }),
      attempt({ op: 'pay', opId: 'p2', attempt: 2, status: 503, result: 'MAINTENANCE_MODE' }),
      attempt({ op: 'pay', opId: 'p3', status: 0, result: 'network:timeout' }),
      attempt({ op: 'pay', opId: 'p4', status: 400, result: 'NO_SUFFICIENT_FUND' }),
      attempt({ op: 'refund', opId: 'r1', paymentOpId: 'p1', amountMinor: 40, status: 200, result: 'SUCCESS', state: 'REFUNDED' }),
    ];
    const db = state({
      payments: [payment('p1'), payment('p2'), payment('p4', 'FAILED')],
      refunds: [{ merchantRefundId: 'r1', merchantPaymentId: 'p1', status: 'REFUNDED', amountMinor: 40, refundTransferId: 'rt1' }],
    });
    const report = check(log, [], db, OPTIONS);
    expect(report.lost).toEqual([]);
    expect(report.contradictions).toEqual([]);
    expect(report.balances).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.operations['pay']).toMatchObject({ total: 4, ok: 1, failed: 1, unknownResolvedHappened: 1, unknownResolvedNot: 1 });
  });

  it('reports an acknowledged payment the database does not have as lost', () => {
    const report = check([paid('p1')], [], state({ payments: [] }), OPTIONS);
    expect(report.lost).toHaveLength(1);
    expect(report.lost[0]?.opId).toBe('p1');
    expect(report.ok).toBe(false);
  });

  it('reports a retry answered PAYMENT_CODE_ALREADY_USED while its payment succeeded as a contradiction', () => {
    const log = [paid('p1'), attempt({ op: 'pay', opId: 'p1', attempt: 2, sentAtMs: T0 + 5, status: 400, result: 'PAYMENT_CODE_ALREADY_USED' })];
    const report = check(log, [], state({ payments: [payment('p1')] }), OPTIONS);
    expect(report.contradictions).toHaveLength(1);
    expect(report.contradictions[0]?.message).toContain('PAYMENT_CODE_ALREADY_USED');
    expect(report.contradictionKinds).toEqual({ 'pay 400 PAYMENT_CODE_ALREADY_USED vs final COMPLETED': 1 });
    expect(report.ok).toBe(false);
  });

  it('counts SUCCESS with status CREATED as premature, and as a contradiction only when the payment never completed', () => {
    const premature = (opId: string) => attempt({ op: 'pay', opId, status: 200, result: 'SUCCESS', state: 'CREATED' });
    const finished = check([premature('p1')], [], state({ payments: [payment('p1')] }), OPTIONS);
    expect(finished.premature).toBe(1);
    expect(finished.contradictions).toEqual([]);
    const never = check([premature('p2')], [], state({ payments: [payment('p2', 'FAILED')] }), OPTIONS);
    expect(never.contradictions).toHaveLength(1);
  });

  it('reports a second ledger transfer for one payment as duplicated, and the wallet balance as wrong', () => {
    const db = state({ payments: [payment('p1')], extraTransfers: [transfer('again', 100, false)] });
    const report = check([paid('p1')], [], { ...db, wallets: [{ ...db.wallets[0]!, finalMinor: 10_000 - 200 }] }, OPTIONS);
    expect(report.duplicated.map((d) => d.opId)).toEqual(['again']);
    expect(report.balances[0]?.message).toContain('difference -100');
    expect(report.ok).toBe(false);
  });

  it('reports a payment no client asked for as a phantom, but not an order QR nobody paid', () => {
    const report = check([paid('p1')], [], state({ payments: [payment('p1'), payment('ghost'), { ...payment('unpaid-qr', 'CREATED'), paymentTransferId: null }] }), OPTIONS);
    expect(report.phantoms.map((p) => p.opId)).toEqual(['ghost']);
  });

  it('nets a cancelled payment with a partial refund to zero in the balances', () => {
    const log = [
      paid('p1', { amountMinor: 300 }),
      attempt({ op: 'refund', opId: 'r1', paymentOpId: 'p1', amountMinor: 100, status: 200, result: 'SUCCESS', state: 'REFUNDED' }),
      attempt({ op: 'cancel', opId: 'p1', paymentOpId: 'p1', amountMinor: 300, status: 202, result: 'REQUEST_ACCEPTED' }),
    ];
    const db = state({
      payments: [payment('p1', 'CANCELED', 300)],
      refunds: [{ merchantRefundId: 'r1', merchantPaymentId: 'p1', status: 'REFUNDED', amountMinor: 100, refundTransferId: 'rt1' }],
    });
    const report = check(log, [], db, OPTIONS);
    expect(db.wallets[0]?.finalMinor).toBe(10_000);
    expect(report.balances).toEqual([]);
    expect(report.ok).toBe(true);
  });

  it('fails on a 500 even when a retry settled the operation, but not on an honest 503', () => {
    const log = [attempt({ op: 'pay', opId: 'p1', status: 503, result: 'MAINTENANCE_MODE' }), attempt({ op: 'pay', opId: 'p1', attempt: 2, status: 500, result: 'INTERNAL_SERVER_ERROR' }), paid('p1', { attempt: 3 })];
    const report = check(log, [], state({ payments: [payment('p1')] }), OPTIONS);
    expect(report.serverErrors).toHaveLength(1);
    expect(report.serverErrors[0]?.message).toContain('attempt 2');
    expect(report.ok).toBe(false);
  });

  it('fails on a ledger verify failure even when every operation checks out', () => {
    const report = check([paid('p1')], [], state({ payments: [payment('p1')], verify: false }), OPTIONS);
    expect(report.ok).toBe(false);
  });

  it('checks top-ups by idempotency key: a completed one acknowledged, a declined one refused', () => {
    const log = [
      attempt({ op: 'topup', opId: 'k1', amountMinor: 2000, status: 201, result: 'topup', state: 'processing' }),
      attempt({ op: 'topup', opId: 'k1', amountMinor: 2000, attempt: 2, status: 200, result: 'topup', state: 'completed' }),
      attempt({ op: 'topup', opId: 'k2', amountMinor: 2000, status: 201, result: 'topup', state: 'failed' }),
    ];
    const db = state({ topUps: [
      { idempotencyKey: 'k1', walletAccountId: WALLET, status: 'completed', amountMinor: 2000, ledgerTransferId: 'tk1' },
      { idempotencyKey: 'k2', walletAccountId: WALLET, status: 'completed', amountMinor: 2000, ledgerTransferId: 'tk2' },
    ] });
    const report = check(log, [], db, OPTIONS);
    expect(report.contradictions.map((c) => c.opId)).toEqual(['k2']);
  });
});

describe('recovery after a fault', () => {
  const fault = (over: Partial<FaultRecord> = {}): FaultRecord => ({ kind: 'fault', fault: 'kill', startedAtMs: T0, endedAtMs: T0 + 1000, detail: '', unexpectedExits: 0, manualRestartAtMs: null, ...over });

  it('is the time to the first acknowledged operation sent after the fault ended', () => {
    const log = [paid('before', { sentAtMs: T0 + 500, answeredAtMs: T0 + 1500 }), paid('after', { sentAtMs: T0 + 1200, answeredAtMs: T0 + 3000 })];
    expect(measureRecovery(log, [fault()], 30_000)).toEqual([expect.objectContaining({ recoveredMs: 2000, ok: true })]);
  });

  it('fails without an acknowledged operation within the bound, after a manual restart, or after Koban exited on its own', () => {
    const late = [paid('late', { sentAtMs: T0 + 2000, answeredAtMs: T0 + 40_000 })];
    expect(measureRecovery(late, [fault()], 30_000)[0]?.ok).toBe(false);
    expect(measureRecovery([], [fault()], 30_000)[0]).toMatchObject({ recoveredMs: null, ok: false });
    const quick = [paid('quick', { sentAtMs: T0 + 1100, answeredAtMs: T0 + 1200 })];
    expect(measureRecovery(quick, [fault({ manualRestartAtMs: T0 + 1000 })], 30_000)[0]?.ok).toBe(false);
    expect(measureRecovery(quick, [fault({ unexpectedExits: 1 })], 30_000)[0]?.ok).toBe(false);
  });
});

describe('reading an answer', () => {
  it('takes no answer, 5xx and retry-later codes as unknown, 4xx as a refusal', () => {
    expect(verdictOf({ op: 'pay', status: 0, result: 'network:ECONNRESET' })).toBe('unknown');
    expect(verdictOf({ op: 'pay', status: 500, result: 'INTERNAL_SERVER_ERROR' })).toBe('unknown');
    expect(verdictOf({ op: 'refund', status: 400, result: 'THROTTLED_MULTIPLE_REFUND_REJECTED' })).toBe('unknown');
    expect(verdictOf({ op: 'pay', status: 409, result: 'PAYMENT_IN_PROGRESS' })).toBe('unknown');
    expect(verdictOf({ op: 'qr_pay', status: 409, result: 'payment_in_progress' })).toBe('unknown');
    expect(verdictOf({ op: 'qr_pay', status: 409, result: 'dynamic_qr_unavailable' })).toBe('failed');
    expect(verdictOf({ op: 'pay', status: 400, result: 'PAYMENT_CODE_ALREADY_USED' })).toBe('failed');
    expect(verdictOf({ op: 'cancel', status: 202, result: 'REQUEST_ACCEPTED' })).toBe('ok');
    expect(verdictOf({ op: 'topup', status: 201, result: 'topup', state: 'processing' })).toBe('unknown');
  });
});
