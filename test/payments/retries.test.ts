/**
 * Retries answer the truth (issue 12, items 2 and 3): storms of identical requests sent concurrently, as a
 * till or a merchant's server retrying after a timeout sends them, on the real PostgreSQL. Every copy gets
 * the original's outcome or the distinct "in progress, retry" code — never "code already used" while the
 * original succeeds, never SUCCESS with a payment still CREATED, never a deadlock.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLedger } from '../../src/ledger/ledger.ts';
import type { CustomerContext } from '../../src/payments/context.ts';
import { buildStaticQrPayload } from '../../src/payments/emvco.ts';
import { uuidv7 } from '../../src/platform/ids.ts';
import { expectLedgerConsistent } from '../ledger/fixtures.ts';
import { balanceOf, createCustomer } from './customer-fixtures.ts';
import { opa, resultCode, startHarness, type Harness } from './support.ts';

let h: Harness;
/** While set, every ledger call waits for it (a payment held between its staging and its ledger step). */
let ledgerGate: Promise<void> | null = null;
/** Called when a group commit's batch reaches the ledger (its codes claimed, its transaction open). */
let onBatchAtLedger: (() => void) | null = null;
/** While set, a group commit's batch fails at the ledger and rolls back: its payments settle on their own. */
let batchFails = false;

beforeAll(async () => {
  h = await startHarness({
    ledger: (db) => {
      const real = createLedger(db, { maxAmountMinor: 100_000_000_000n });
      return { ...real, async createTransfers(requests) {
        if (ledgerGate !== null) await ledgerGate;
        return real.createTransfers(requests);
      }, async createTransfersWithin(client, groups) {
        if (batchFails) throw new Error('the batch fails at the ledger');
        onBatchAtLedger?.();
        if (ledgerGate !== null) await ledgerGate;
        return real.createTransfersWithin(client, groups);
      } };
    },
  });
});
afterAll(async () => {
  await expectLedgerConsistent(h.db);
  await h.close();
});

let seq = 0;
const id = (prefix: string) => `${prefix}-${Date.now()}-${seq++}`;

function tillBody(code: string, amount: number, merchantPaymentId = id('till')) {
  return { merchantPaymentId, code, amount: { amount, currency: 'JPY' }, storeId: h.merchant.storeId, terminalId: h.merchant.terminalIds[0] };
}

/** `copies` identical requests, the k-th sent k mod 26 ms after the first (the 0–25 ms retries of issue 12). */
function storm(copies: number, send: () => Promise<LightMyRequestResponse>): Promise<LightMyRequestResponse[]> {
  return Promise.all(Array.from({ length: copies }, async (_, k) => {
    await sleep(k % 26);
    return send();
  }));
}

async function paidAtTill(customer: CustomerContext, amount: number): Promise<{ paymentId: string; merchantPaymentId: string }> {
  const body = tillBody((await h.module.payments.mintPaymentCode(customer)).code, amount);
  const response = await opa(h, { method: 'POST', url: '/v2/till/payments', body });
  expect(resultCode(response)).toBe('SUCCESS');
  return { paymentId: response.json().data.paymentId as string, merchantPaymentId: body.merchantPaymentId };
}

/** One after another: a new code for the device revokes its previous one. */
async function paidSeveral(customer: CustomerContext, count: number, amount: number): Promise<Array<{ paymentId: string; merchantPaymentId: string }>> {
  const paid = [];
  for (let i = 0; i < count; i++) paid.push(await paidAtTill(customer, amount));
  return paid;
}

const refund = (paymentId: string, amount: number, merchantRefundId: string) =>
  opa(h, { method: 'POST', url: '/v2/refunds', body: { merchantRefundId, paymentId, amount: { amount, currency: 'JPY' }, requestedAt: Math.floor(Date.now() / 1000) } });

describe('till payment retries', () => {
  it('a storm of one till payment (same merchantPaymentId, same code, 0–25 ms apart) answers the one completed payment every time', async () => {
    const customer = await createCustomer(h.db, h.ledger, 10_000n);
    const body = tillBody((await h.module.payments.mintPaymentCode(customer)).code, 1_000);
    const answers = await storm(40, () => opa(h, { method: 'POST', url: '/v2/till/payments', body }));
    const outcomes = answers.map((a) => `${resultCode(a)} ${String(a.json().data?.status)}`);
    expect(new Set(outcomes)).toEqual(new Set(['SUCCESS COMPLETED']));
    expect(new Set(answers.map((a) => a.json().data.paymentId)).size).toBe(1);
    expect(await balanceOf(h.ledger, customer.walletAccountId)).toBe(9_000n);
  });

  it('a storm whose payment fails answers the one failure every time (not "code already used")', async () => {
    const customer = await createCustomer(h.db, h.ledger, 500n);
    const body = tillBody((await h.module.payments.mintPaymentCode(customer)).code, 501);
    const answers = await storm(30, () => opa(h, { method: 'POST', url: '/v2/till/payments', body }));
    expect(new Set(answers.map(resultCode))).toEqual(new Set(['NO_SUFFICIENT_FUND']));
    expect(await balanceOf(h.ledger, customer.walletAccountId)).toBe(500n);
  });

  it('retries of a payment held in its group commit (codes claimed, transaction open) answer the original payment once it commits, never "code used"', async () => {
    const customer = await createCustomer(h.db, h.ledger, 5_000n);
    const body = tillBody((await h.module.payments.mintPaymentCode(customer)).code, 1_200);
    const rolledBackBefore = h.module.payments.deps.codePayments.stats.rolledBack;
    let release = (): void => undefined;
    const atLedger = new Promise<void>((resolve) => { onBatchAtLedger = resolve; });
    ledgerGate = new Promise((resolve) => { release = resolve; });
    let original: Promise<LightMyRequestResponse>;
    let retries: Promise<LightMyRequestResponse[]>;
    try {
      original = opa(h, { method: 'POST', url: '/v2/till/payments', body });
      await atLedger;
      // The batch holds the code's row lock: each retry's claim waits on it (in its own batch or alone).
      retries = storm(8, () => opa(h, { method: 'POST', url: '/v2/till/payments', body }));
      await waitFor(async () => (await h.db.pool.query(`select 1 from pg_stat_activity where wait_event_type = 'Lock' and datname = current_database()`)).rowCount !== 0);
    } finally {
      onBatchAtLedger = null;
      ledgerGate = null;
      release();
    }
    const first = await original;
    expect(`${resultCode(first)} ${first.json().data.status}`).toBe('SUCCESS COMPLETED');
    const answers = await retries;
    expect(new Set(answers.map((a) => `${resultCode(a)} ${a.json().data?.paymentId} ${a.json().data?.status}`))).toEqual(new Set([`SUCCESS ${first.json().data.paymentId} COMPLETED`]));
    expect(await balanceOf(h.ledger, customer.walletAccountId)).toBe(3_800n);
    expect(h.module.payments.deps.codePayments.stats.rolledBack).toBe(rolledBackBefore);
  });

  it('a retry of a payment still in flight after the bound answers PAYMENT_IN_PROGRESS, then the outcome once there is one (a payment settled on its own after its batch rolled back)', async () => {
    const customer = await createCustomer(h.db, h.ledger, 5_000n);
    const body = tillBody((await h.module.payments.mintPaymentCode(customer)).code, 1_200);
    let release = (): void => undefined;
    ledgerGate = new Promise((resolve) => { release = resolve; });
    batchFails = true;
    let original: Promise<LightMyRequestResponse>;
    try {
      original = opa(h, { method: 'POST', url: '/v2/till/payments', body });
      await waitForPaymentRow(body.merchantPaymentId);
      const retry = await opa(h, { method: 'POST', url: '/v2/till/payments', body });
      expect(retry.statusCode).toBe(409);
      expect(resultCode(retry)).toBe('PAYMENT_IN_PROGRESS');
      expect(retry.json().data).toBeNull();
    } finally {
      batchFails = false;
      ledgerGate = null;
      release();
    }
    const first = await original;
    expect(`${resultCode(first)} ${first.json().data.status}`).toBe('SUCCESS COMPLETED');
    const later = await opa(h, { method: 'POST', url: '/v2/till/payments', body });
    expect(later.json().data).toMatchObject({ paymentId: first.json().data.paymentId, status: 'COMPLETED' });
    expect(await balanceOf(h.ledger, customer.walletAccountId)).toBe(3_800n);
  });

  it('two different payments racing for one code still answer "code already used" to the loser', async () => {
    const customer = await createCustomer(h.db, h.ledger, 50_000n);
    const code = (await h.module.payments.mintPaymentCode(customer)).code;
    const answers = await storm(10, () => opa(h, { method: 'POST', url: '/v2/till/payments', body: tillBody(code, 1_000) }));
    expect(answers.map(resultCode).sort()).toEqual(['SUCCESS', ...Array(9).fill('PAYMENT_CODE_ALREADY_USED')].sort());
    expect(await balanceOf(h.ledger, customer.walletAccountId)).toBe(49_000n);
  });
});

describe('refund and cancel retries', () => {
  it('storms of identical refunds on several payments at once: one refund each, every copy answers it REFUNDED, no deadlock', async () => {
    const customer = await createCustomer(h.db, h.ledger, 100_000n);
    const payments = await paidSeveral(customer, 6, 1_000);
    const refundIds = payments.map(() => id('refund'));
    const answers = await Promise.all(payments.map((p, i) => storm(15, () => refund(p.paymentId, 400, refundIds[i] as string))));
    for (const perPayment of answers) {
      expect(new Set(perPayment.map((a) => `${resultCode(a)} ${String(a.json().data?.status)}`))).toEqual(new Set(['SUCCESS REFUNDED']));
      expect(new Set(perPayment.map((a) => a.json().data.refundId)).size).toBe(1);
    }
    expect(await balanceOf(h.ledger, customer.walletAccountId)).toBe(100_000n - 6n * 1_000n + 6n * 400n);
  });

  it('a storm of identical cancels mixed with refunds of the same payments: money returns exactly once, no 500', async () => {
    const customer = await createCustomer(h.db, h.ledger, 50_000n);
    const payments = await paidSeveral(customer, 4, 2_000);
    const answers = await Promise.all(payments.flatMap((p) => {
      const refundId = id('refund');
      return [
        storm(10, () => opa(h, { method: 'DELETE', url: `/v2/payments/${p.merchantPaymentId}` })),
        storm(10, () => refund(p.paymentId, 500, refundId)),
      ];
    }));
    const codes = new Set(answers.flat().map(resultCode));
    expect(codes.has('INTERNAL_SERVER_ERROR')).toBe(false);
    for (const p of payments) {
      const state = await h.db.pool.query<{ status: string; refunded: string; canceled: string | null }>(
        `select status, refunded_minor::text as refunded, cancel_amount_minor::text as canceled from payments where id = $1`, [p.paymentId]);
      // Either the refund went first and the cancel returned the rest, or the cancel returned everything.
      expect(state.rows[0]?.status).toBe('CANCELED');
      expect(BigInt(state.rows[0]?.refunded ?? '0') + BigInt(state.rows[0]?.canceled ?? '0')).toBe(2_000n);
    }
    expect(await balanceOf(h.ledger, customer.walletAccountId)).toBe(50_000n);
  });

  it('recording a refund takes the payment lock before the refund row (one global lock order): a duplicate reservation meets a unique conflict, not a deadlock', async () => {
    const customer = await createCustomer(h.db, h.ledger, 10_000n);
    const { paymentId } = await paidAtTill(customer, 3_000);
    const merchantRefundId = id('refund');
    let release = (): void => undefined;
    ledgerGate = new Promise((resolve) => { release = resolve; });
    const client = await h.db.pool.connect();
    let first: Promise<LightMyRequestResponse>;
    try {
      // The first copy reserves its refund and waits at the ledger.
      first = refund(paymentId, 1_000, merchantRefundId);
      await waitFor(async () => (await h.db.pool.query(`select 1 from refunds where merchant_refund_id = $1`, [merchantRefundId])).rowCount === 1);
      // A second copy that read "no such refund" before the first committed now reserves: payment lock first.
      await client.query('begin');
      // This side looks for a deadlock first (PostgreSQL aborts the detecting side), so a deadlock fails the test
      // here instead of being retried away after a second by the refund's own transaction.
      await client.query(`set local deadlock_timeout = '20ms'`);
      await client.query('select 1 from payments where id = $1 for update', [paymentId]);
      ledgerGate = null;
      release();
      // The first copy moves the money and blocks recording it, on the payment lock.
      await waitFor(async () => (await h.db.pool.query(`select 1 from pg_locks where not granted and locktype in ('transactionid', 'tuple')`)).rowCount !== 0);
      const duplicate = await client.query(
        `insert into refunds (id, payment_id, merchant_id, merchant_refund_id, status, amount_minor, fee_refund_minor, request_fingerprint, refund_transfer_id, created_at)
         values ($1, $2, $3, $4, 'CREATED', 1000, 0, 'x', $5, now())`, [uuidv7(), paymentId, h.merchant.merchantId, merchantRefundId, uuidv7()],
      ).then(() => 'inserted', (error: { code?: string }) => error.code);
      expect(duplicate).toBe('23505');
      await client.query('rollback');
    } finally {
      ledgerGate = null;
      release();
      client.release();
    }
    const answer = await first;
    expect(`${resultCode(answer)} ${answer.json().data.status}`).toBe('SUCCESS REFUNDED');
    expect(await balanceOf(h.ledger, customer.walletAccountId)).toBe(8_000n);
  });
});

describe('customer QR retries', () => {
  it('a storm of one static QR payment (same idempotency key) answers the one completed payment every time', async () => {
    const customer = await createCustomer(h.db, h.ledger, 10_000n);
    const payload = buildStaticQrPayload({ merchantId: h.merchant.merchantId, storeId: h.merchant.storeId, categoryCode: '5411', merchantName: 'Test Shop', merchantCity: 'Chiyoda-ku', postalCode: '100-0001' });
    const key = id('tap');
    const answers = await Promise.all(Array.from({ length: 20 }, async (_, k) => {
      await sleep(k % 26);
      return h.module.payments.payStaticQr(customer, payload, 700n, key).then((p) => `${p.status} ${p.id}`, (e: { code?: string }) => String(e.code));
    }));
    expect(new Set(answers).size).toBe(1);
    expect(answers[0]).toMatch(/^COMPLETED /);
    expect(await balanceOf(h.ledger, customer.walletAccountId)).toBe(9_300n);
  });

  it('a storm of taps on one order QR by its payer answers the one completed payment every time (not "QR unavailable")', async () => {
    const customer = await createCustomer(h.db, h.ledger, 10_000n);
    const created = await opa(h, { method: 'POST', url: '/v2/codes', body: { merchantPaymentId: id('order'), amount: { amount: 800, currency: 'JPY' }, codeType: 'ORDER_QR' } });
    const codeId = created.json().data.codeId as string;
    const answers = await Promise.all(Array.from({ length: 40 }, async (_, k) => {
      await sleep(k % 26);
      return h.module.payments.payDynamicQr(customer, codeId).then((p) => `${p.status} ${p.id}`, (e: { code?: string }) => String(e.code));
    }));
    expect(new Set(answers)).toEqual(new Set([answers[0]]));
    expect(answers[0]).toMatch(/^COMPLETED /);
    expect(await balanceOf(h.ledger, customer.walletAccountId)).toBe(9_200n);
  });
});

async function waitForPaymentRow(merchantPaymentId: string): Promise<void> {
  await waitFor(async () => (await h.db.pool.query('select 1 from payments where merchant_payment_id = $1', [merchantPaymentId])).rowCount === 1);
}

/** Polls a condition about the system (not about time) until it holds; a generous bound makes a hang a failure. */
async function waitFor(condition: () => Promise<boolean>): Promise<void> {
  for (let tries = 0; tries < 1_000; tries++) {
    if (await condition()) return;
    await sleep(10);
  }
  throw new Error('the awaited condition never held');
}
