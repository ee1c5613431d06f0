/**
 * The group commit of customer-code payments (src/payments/group-commit.ts, issue 11): many payments in one
 * transaction, each one's refusal its own. Batches are built here directly (the pipeline's steps up to risk,
 * then `writeCodePaymentBatch`), so which payments share a transaction does not depend on timing; the
 * concurrency tests then go through the whole till API.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CustomerContext } from '../../src/payments/context.ts';
import { relayCustomerNotices } from '../../src/payments/customer-notices.ts';
import { writeCodePaymentBatch } from '../../src/payments/group-commit.ts';
import type { Payment } from '../../src/payments/model.ts';
import { CUSTOMER_CODE_PAYMENT } from '../../src/payments/pipeline.ts';
import { codeAttempt, type CodeAttempt } from '../../src/payments/till.ts';
import { expectLedgerConsistent } from '../ledger/fixtures.ts';
import { balanceOf, createCustomer } from './customer-fixtures.ts';
import { startHarness, type Harness } from './support.ts';
import { createRisk, type Risk } from '../../src/risk/risk.ts';
import { createChangeFeed } from '../../src/operations/change-feed.ts';

let h: Harness;
/** Payment ids of the customer notices delivered (the notice relay calls this hook). */
const delivered: string[] = [];

beforeAll(async () => {
  // The real risk engine: its decisions are written in the batch's transaction.
  h = await startHarness({
    hooks: { notifyCustomers: async (notices) => { for (const { event } of notices) delivered.push(event.paymentId); } },
    risk: (db) => createRisk(db, createChangeFeed(db, { intervalMs: 60_000, onError: () => undefined }), null),
  });
});
afterAll(async () => {
  await expectLedgerConsistent(h.db);
  await h.close();
});

const order = () => `gc-${randomUUID().slice(0, 18)}`;
const deps = () => h.module.payments.deps;

function request(code: string, amount: bigint, merchantPaymentId = order()) {
  return {
    merchantId: h.merchant.merchantId, merchantPaymentId, code, amountMinor: amount, storeId: h.merchant.storeId,
    terminalId: h.merchant.terminalIds[0] as string, orderDescription: null, requestedAt: null,
  };
}

/** The payment as the request path hands it to the group commit: every step before the claim has run. */
async function prepared(code: string, amount: bigint, merchantPaymentId = order()): Promise<CodeAttempt> {
  const attempt = codeAttempt(deps(), request(code, amount, merchantPaymentId));
  for (const step of CUSTOMER_CODE_PAYMENT) {
    if (step.name.startsWith('claim')) return attempt;
    expect(await step.run(deps(), attempt)).toBeUndefined();
  }
  throw new Error('the pipeline has a claim step');
}

const mint = async (customer: CustomerContext) => (await h.module.payments.mintPaymentCode(customer)).code;

async function paymentRows(merchantPaymentIds: readonly string[]): Promise<Array<{ merchant_payment_id: string; status: string; failure_code: string | null }>> {
  return (await h.db.pool.query('select merchant_payment_id, status, failure_code from payments where merchant_payment_id = any($1) order by merchant_payment_id', [merchantPaymentIds])).rows;
}

async function eventsFor(merchantPaymentIds: readonly string[]): Promise<string[]> {
  const rows = await h.db.pool.query<{ type: string; mpid: string }>(
    `select type, (body::json -> 'data' ->> 'merchant_order_id') as mpid from webhook_events where (body::json -> 'data' ->> 'merchant_order_id') = any($1)`, [merchantPaymentIds]);
  return rows.rows.map((row) => `${row.mpid} ${row.type}`).sort();
}

/** The risk decisions recorded for these payments (the engine names a payment by its id: event_ref). */
async function riskDecisionsFor(paymentIds: readonly string[]): Promise<string[]> {
  const rows = await h.db.pool.query<{ event_ref: string; decision: string }>(`select event_ref, decision from risk_events where kind = 'payment' and event_ref = any($1)`, [paymentIds]);
  return rows.rows.map((row) => `${row.event_ref} ${row.decision}`).sort();
}

/** Notices delivered for these payments, once every notice waiting in the outbox has been relayed. */
async function noticesFor(paymentIds: readonly string[]): Promise<number> {
  await deps().notices.drain();
  while ((await relayCustomerNotices(deps())) > 0) { /* until none waits */ }
  return delivered.filter((id) => paymentIds.includes(id)).length;
}

describe('group commit: one transaction, each payment its own outcome', () => {
  it('a batch with refused payments in it (insufficient funds, frozen wallet, code used meanwhile) completes its neighbours and records each refusal', async () => {
    const rich = await createCustomer(h.db, h.ledger, 10_000n);
    const rich2 = await createCustomer(h.db, h.ledger, 10_000n);
    const poor = await createCustomer(h.db, h.ledger, 100n);
    const frozen = await createCustomer(h.db, h.ledger, 10_000n);
    const raced = await createCustomer(h.db, h.ledger, 10_000n);
    const batch = [
      await prepared(await mint(rich), 1_000n),
      await prepared(await mint(poor), 500n),
      await prepared(await mint(frozen), 700n),
      await prepared(await mint(raced), 300n),
      await prepared(await mint(rich2), 2_000n),
    ];
    await h.ledger.setAccountStatus(frozen.walletAccountId, 'frozen');
    // Another till takes the raced code after this payment read it live (the claim must see it gone).
    const racedCode = (batch[3] as CodeAttempt).request.code;
    const winner = await h.module.payments.payAtTill(request(racedCode, 50n));
    expect(winner.payment.status).toBe('COMPLETED');

    const { outcomes, rolledBack } = await writeCodePaymentBatch(deps(), batch);
    expect(rolledBack).toBe(false);
    const kinds = outcomes.map((o) => (o.kind === 'recorded' ? `${o.payment.status} ${o.payment.failureCode}` : o.kind));
    expect(kinds).toEqual(['COMPLETED null', 'FAILED insufficient_funds', 'FAILED wallet_frozen', 'not_claimed', 'COMPLETED null']);
    expect(await balanceOf(h.ledger, rich.walletAccountId)).toBe(9_000n);
    expect(await balanceOf(h.ledger, rich2.walletAccountId)).toBe(8_000n);
    expect(await balanceOf(h.ledger, poor.walletAccountId)).toBe(100n);
    expect(await balanceOf(h.ledger, frozen.walletAccountId)).toBe(10_000n);
    expect(await balanceOf(h.ledger, raced.walletAccountId)).toBe(9_950n);
    const ids = batch.map((a) => a.request.merchantPaymentId);
    expect((await paymentRows(ids)).map((r) => `${r.merchant_payment_id} ${r.status} ${r.failure_code}`).sort()).toEqual([
      `${ids[0]} COMPLETED null`, `${ids[1]} FAILED insufficient_funds`, `${ids[2]} FAILED wallet_frozen`, `${ids[4]} COMPLETED null`,
    ].sort());
    // Every recorded payment's merchant event was written with it; the unclaimed one has none.
    expect(await eventsFor(ids)).toEqual([
      `${ids[0]} payment.completed`, `${ids[1]} payment.failed`, `${ids[2]} payment.failed`, `${ids[4]} payment.completed`,
    ].sort());
    // Every payment of the batch, refused or not claimed too, has its risk allow recorded exactly once, in the batch's commit.
    expect(await riskDecisionsFor(batch.map((a) => a.paymentId))).toEqual(batch.map((a) => `${a.paymentId} allow`).sort());
    expect(batch.every((a) => a.pendingRisk === null)).toBe(true);
    const recorded = outcomes.flatMap((o) => (o.kind === 'recorded' ? [o.payment] : []));
    expect(await noticesFor(recorded.filter((p) => p.status === 'COMPLETED').map((p) => p.id))).toBe(2);
    expect(await noticesFor(recorded.filter((p) => p.status === 'FAILED').map((p) => p.id))).toBe(0);
    // The code the winner took stays the winner's; the codes of the recorded ones are used by exactly their payment.
    const codes = await h.db.pool.query<{ payment_id: string }>(`select payment_id from payment_codes where payment_id = any($1)`, [recorded.map((p) => p.id)]);
    expect(codes.rows.map((r) => r.payment_id).sort()).toEqual(recorded.map((p) => p.id).sort());
    await expectLedgerConsistent(h.db);
  });

  it('a repeated merchantPaymentId or a repeated code inside one batch: only the first is written, the others settle on their own', async () => {
    const a = await createCustomer(h.db, h.ledger, 10_000n);
    const b = await createCustomer(h.db, h.ledger, 10_000n);
    const codeA = await mint(a);
    const first = await prepared(codeA, 1_000n);
    const sameOrder = await prepared(codeA, 1_000n, first.request.merchantPaymentId);
    const sameCodeOtherOrder = await prepared(codeA, 400n);
    const other = await prepared(await mint(b), 600n);
    const { outcomes } = await writeCodePaymentBatch(deps(), [first, sameOrder, sameCodeOtherOrder, other]);
    expect(outcomes.map((o) => (o.kind === 'recorded' ? o.payment.status : o.kind))).toEqual(['COMPLETED', 'alone', 'alone', 'COMPLETED']);
    expect(await balanceOf(h.ledger, a.walletAccountId)).toBe(9_000n);
    expect(await balanceOf(h.ledger, b.walletAccountId)).toBe(9_400n);
  });

  it('a thief landing many payments of one stolen wallet in ONE batch gets no more past the velocity rule than one by one, and the refused ones never fail their neighbours', async () => {
    const settings = (deps().risk as Risk).settings;
    const operator = { kind: 'operator' as const, id: 'op-group-commit-test' };
    const stolen = await createCustomer(h.db, h.ledger, 50_000n);
    const neighbour = await createCustomer(h.db, h.ledger, 5_000n);
    const codes = [];
    // One phone's codes (a code refreshes the one before it on the same app install, so five installs of one device key).
    for (let i = 0; i < 5; i += 1) codes.push(await mint({ ...stolen, deviceId: randomUUID(), deviceKey: `stolen-phone-${stolen.customerId}` }));
    const neighbourCode = await mint(neighbour);
    await settings.updateRule('account_velocity', { params: { paymentsPerHourMax: 2 } }, operator, 'group commit test: two payments an hour');
    try {
      const batch = [
        await prepared(codes[0] as string, 1_000n), await prepared(codes[1] as string, 1_000n), await prepared(neighbourCode, 1_000n),
        await prepared(codes[2] as string, 1_000n), await prepared(codes[3] as string, 1_000n), await prepared(codes[4] as string, 1_000n),
      ];
      const { outcomes, rolledBack } = await writeCodePaymentBatch(deps(), batch);
      expect(rolledBack).toBe(false);
      expect(outcomes.map((o) => (o.kind === 'recorded' ? o.payment.status : o.kind === 'refused' ? o.error.code : o.kind)))
        .toEqual(['COMPLETED', 'COMPLETED', 'COMPLETED', 'payment_refused_by_risk', 'payment_refused_by_risk', 'payment_refused_by_risk']);
      // Money moved for the two the rule allows and the neighbour's, nothing for the rest; their codes are still unused.
      expect(await balanceOf(h.ledger, stolen.walletAccountId)).toBe(48_000n);
      expect(await balanceOf(h.ledger, neighbour.walletAccountId)).toBe(4_000n);
      expect(await paymentRows(batch.slice(3).map((a) => a.request.merchantPaymentId))).toEqual([]);
      const live = await h.db.pool.query(`select 1 from payment_codes where code_hash = any($1) and status = 'live'`, [batch.slice(3).map((a) => a.codeHash)]);
      expect(live.rowCount).toBe(3);
      // Each payment of the batch saw the ones before it, as one by one: the third, fourth and fifth in the hour.
      const decisions = await h.db.pool.query<{ event_ref: string; decision: string; reasons: Array<{ rule: string; observed?: string }> }>(
        `select event_ref, decision, reasons from risk_events where kind = 'payment' and account_id = $1`, [stolen.customerId]);
      const byPayment = new Map(decisions.rows.map((row) => [row.event_ref, row]));
      expect(batch.filter((a) => a.code?.customerId === stolen.customerId).map((a) => {
        const row = byPayment.get(a.paymentId);
        return `${row?.decision} ${row?.reasons.find((r) => r.rule === 'account_velocity')?.observed ?? '-'}`;
      })).toEqual(['allow -', 'allow -', 'review 3', 'review 4', 'review 5']);
      expect(await riskDecisionsFor([batch[2]?.paymentId as string])).toEqual([`${batch[2]?.paymentId} allow`]);
      await expectLedgerConsistent(h.db);
    } finally {
      await settings.updateRule('account_velocity', { params: { paymentsPerHourMax: 30 } }, operator, 'group commit test: back to the default');
    }
  });

  it('a batch that fails before its commit leaves nothing half-written (no code claimed, no transfer, no payment, no event), and its neighbours then pay on their own', async () => {
    const customers = await Promise.all([1, 2, 3].map(() => createCustomer(h.db, h.ledger, 5_000n)));
    const poisonId = `poison-${randomUUID().slice(0, 8)}`;
    const batch = [
      await prepared(await mint(customers[0] as CustomerContext), 1_000n),
      await prepared(await mint(customers[1] as CustomerContext), 1_100n, poisonId),
      await prepared(await mint(customers[2] as CustomerContext), 1_200n),
    ];
    // The record statement fails for one payment after the ledger has written the whole batch's transfers.
    await h.db.pool.query(`create function refuse_poison() returns trigger language plpgsql as $$
      begin if new.merchant_payment_id like 'poison-%' then raise exception 'poisoned payment row'; end if; return new; end $$`);
    await h.db.pool.query('create trigger refuse_poison before insert on payments for each row execute function refuse_poison()');
    try {
      const { outcomes, rolledBack } = await writeCodePaymentBatch(deps(), batch);
      expect(rolledBack).toBe(true);
      expect(outcomes.map((o) => o.kind)).toEqual(['alone', 'alone', 'alone']);
      const ids = batch.map((a) => a.request.merchantPaymentId);
      expect(await paymentRows(ids)).toEqual([]);
      expect(await eventsFor(ids)).toEqual([]);
      const live = await h.db.pool.query(`select 1 from payment_codes where code_hash = any($1) and status = 'live'`, [batch.map((a) => a.codeHash)]);
      expect(live.rowCount).toBe(3);
      const transfers = await h.db.pool.query(`select 1 from transfers where reference = any($1)`, [batch.map((a) => `payment:${a.paymentId}`)]);
      expect(transfers.rowCount).toBe(0);
      for (const customer of customers) expect(await balanceOf(h.ledger, customer.walletAccountId)).toBe(5_000n);
      await expectLedgerConsistent(h.db);
      // Not even the risk decisions were written with the rolled-back batch (the batch scores in its transaction):
      // each payment still carries its unscored event, and is scored once on its own when it settles alone.
      expect(await riskDecisionsFor(batch.map((a) => a.paymentId))).toEqual([]);
      expect(batch.map((a) => a.deferredRisk?.ref)).toEqual(batch.map((a) => a.paymentId));

      // The same requests through the pipeline: the neighbours pay; the poisoned one fails alone (nothing of it written).
      const answers = await Promise.allSettled(batch.map((a) => h.module.payments.payAtTill(a.request)));
      expect(answers.map((r) => (r.status === 'fulfilled' ? r.value.payment.status : 'error'))).toEqual(['COMPLETED', 'error', 'COMPLETED']);
      expect(await balanceOf(h.ledger, (customers[0] as CustomerContext).walletAccountId)).toBe(4_000n);
      expect(await balanceOf(h.ledger, (customers[1] as CustomerContext).walletAccountId)).toBe(5_000n);
      expect(await balanceOf(h.ledger, (customers[2] as CustomerContext).walletAccountId)).toBe(3_800n);
    } finally {
      await h.db.pool.query('drop trigger refuse_poison on payments');
      await h.db.pool.query('drop function refuse_poison()');
    }
  });
});

describe('group commit under concurrency (the whole till API)', () => {
  it('many payments at once, some unaffordable, each sent several times concurrently: one payment per merchantPaymentId, every copy answers it, money moves once', async () => {
    const payers = await Promise.all(Array.from({ length: 24 }, (_, i) => createCustomer(h.db, h.ledger, i % 4 === 0 ? 200n : 5_000n)));
    const requests = await Promise.all(payers.map(async (payer) => request(await mint(payer), 1_000n)));
    const copies = 3;
    const answers = await Promise.all(requests.flatMap((r) => Array.from({ length: copies }, () =>
      h.module.payments.payAtTill(r).then((o) => ({ mpid: r.merchantPaymentId, payment: o.payment as Payment | null, error: null as string | null }),
        (error: unknown) => ({ mpid: r.merchantPaymentId, payment: null, error: String((error as { code?: string }).code ?? error) })))));
    for (const [index, r] of requests.entries()) {
      const mine = answers.filter((a) => a.mpid === r.merchantPaymentId);
      const unaffordable = index % 4 === 0;
      // Every copy answers the one payment: COMPLETED, or FAILED (insufficient funds) — never "code used", never two payments.
      const seen = mine.map((a) => a.error ?? `${a.payment?.id} ${a.payment?.status}`);
      expect(new Set(seen).size, seen.join(' | ')).toBe(1);
      expect(mine[0]?.payment?.status).toBe(unaffordable ? 'FAILED' : 'COMPLETED');
      expect(await balanceOf(h.ledger, (payers[index] as CustomerContext).walletAccountId)).toBe(unaffordable ? 200n : 4_000n);
    }
    expect((await paymentRows(requests.map((r) => r.merchantPaymentId))).length).toBe(requests.length);
    await expectLedgerConsistent(h.db);
  });
});
