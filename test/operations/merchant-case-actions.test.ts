/**
 * Issue 13: a case opened on a merchant (`merchant:<id>`, the merchant_convergence rule) is acted on from the case.
 * The threat: stolen sessions pay a colluding merchant's QRs, an operator sees the merchant's case — and has no
 * way to stop the merchant from it. Here the operator suspends the merchant or a store (every payment refused at
 * once), holds its payouts, and proposes reversing the payments from compromised wallets, which a second operator
 * approves; each step is recorded on the case and in the audit log with its reason. Over HTTP on a real Koban.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Koban } from '../../src/koban.ts';
import { merchantCaseSubject } from '../../src/risk/rules/merchant-convergence.ts';
import { caseMerchantId } from '../../src/operations/cases/cases.ts';
import { expectLedgerConsistent } from '../ledger/fixtures.ts';
import type { Client } from '../identity/support.ts';
import { approvedMerchant, freshClient } from '../merchants/portal-support.ts';
import { balanceOf, createCustomer } from '../payments/customer-fixtures.ts';
import type { CustomerContext } from '../../src/payments/context.ts';
import { startTestKoban } from '../support/koban.ts';
import { signInAs, type SignedInOperator } from './support.ts';

let env: Awaited<ReturnType<typeof startTestKoban>>;
let koban: Koban;
let support: SignedInOperator;
let analyst: SignedInOperator;
let finance: SignedInOperator;

beforeAll(async () => {
  env = await startTestKoban();
  koban = env.koban;
  support = await signInAs(koban, 'support');
  analyst = await signInAs(koban, 'risk_analyst');
  finance = await signInAs(koban, 'finance');
}, 60_000);
afterAll(async () => {
  await expectLedgerConsistent(koban.db);
  await env.close();
});

const ops = (operator: SignedInOperator, method: 'GET' | 'POST', url: string, payload?: object) =>
  koban.app.inject({ method, url, headers: operator.headers, ...(payload === undefined ? {} : { payload }) });

interface Shop { merchantId: string; storeId: string; otherStoreId: string; till: Client }

/** An approved merchant with two stores and an activated till in the first. */
async function shop(): Promise<Shop> {
  const { merchantId, owner } = await approvedMerchant(koban, support);
  const store = async (name: string) => {
    const created = await owner.request({ method: 'POST', url: '/v1/merchant/stores', body: { name, address: '渋谷1-1', city: 'Shibuya-ku', cityLocal: '渋谷区', postalCode: '150-0002' } });
    expect(created.statusCode, created.body).toBe(201);
    return created.json().id as string;
  };
  const storeId = await store('渋谷店');
  const otherStoreId = await store('原宿店');
  const terminal = await owner.request({ method: 'POST', url: '/v1/merchant/terminals', body: { storeId, name: 'レジ 1' } });
  expect(terminal.statusCode, terminal.body).toBe(201);
  const issued = await owner.request({ method: 'POST', url: `/v1/merchant/terminals/${terminal.json().id}/activation-code` });
  const till = freshClient(koban);
  const activated = await till.request({ method: 'POST', url: '/v1/till/activate', body: { code: issued.json().code } });
  expect(activated.statusCode, activated.body).toBe(200);
  return { merchantId, storeId, otherStoreId, till };
}

async function charge(till: Client, customer: CustomerContext, amount: number) {
  const code = (await koban.payments.payments.mintPaymentCode(customer)).code;
  return till.request({ method: 'POST', url: '/v1/till/charges', body: { merchantPaymentId: `mc-${randomBytes(6).toString('hex')}`, code, amount: String(amount) } });
}

async function paidAtTill(till: Client, customer: CustomerContext, amount: number): Promise<string> {
  const response = await charge(till, customer, amount);
  expect(response.statusCode, response.body).toBe(200);
  expect(response.json().status).toBe('COMPLETED');
  return response.json().paymentId as string;
}

/** What the merchant_convergence rule does: the payment's risk event joins the merchant's case (and the payer's). */
async function alertOnMerchant(merchantId: string, customer: CustomerContext, paymentId: string, payerCaseToo: boolean): Promise<string> {
  const decision = await koban.risk.assess({ kind: 'payment', accountId: customer.customerId, deviceId: customer.deviceId, merchantId, amountMinor: 1n, ref: paymentId });
  const alert = { ...decision, decision: 'challenge', reasons: [{ rule: 'merchant_convergence', message: 'payments converging from recently changed accounts' }] };
  await koban.operations.cases.openFromAlert({ accountId: merchantCaseSubject(merchantId) }, alert);
  if (payerCaseToo) await koban.operations.cases.openFromAlert({ accountId: customer.customerId }, alert);
  const found = await koban.db.pool.query<{ id: string }>(`select id from cases where account_id = $1 and status = 'open'`, [merchantCaseSubject(merchantId)]);
  const caseId = found.rows[0]?.id;
  if (caseId === undefined) throw new Error('no merchant case');
  return caseId;
}

async function caseActions(caseId: string): Promise<string[]> {
  const rows = await koban.db.pool.query<{ action: string; reason: string | null }>(`select action from audit_events where target_id = $1 order by id`, [caseId]);
  return rows.rows.map((row) => row.action);
}

describe('containing a colluding merchant from its case', () => {
  it('the case subject names the merchant risk opened it on', () => {
    const id = '0193a7c4-1111-7000-8000-000000000001';
    expect(caseMerchantId(merchantCaseSubject(id))).toBe(id);
    expect(caseMerchantId(id)).toBeNull();
  });

  it('stolen sessions paying a colluding merchant: suspended from its case, every payment is refused at once; the case and the audit log say who and why', async () => {
    const m = await shop();
    const victim = await createCustomer(koban.db, koban.ledger, 20_000n);
    const paymentId = await paidAtTill(m.till, victim, 3_000);
    const caseId = await alertOnMerchant(m.merchantId, victim, paymentId, false);

    // The queue names the merchant the case is about.
    const queue = (await ops(support, 'GET', '/v1/ops/case-queue?status=open&limit=200')).json().cases as Array<{ id: string; merchantName: string | null; customerLabel: string | null }>;
    const queued = queue.find((c) => c.id === caseId);
    expect(queued?.merchantName).toMatch(/^こばん商店 /);
    expect(queue.filter((c) => c.id !== caseId && c.merchantName !== null && c.customerLabel !== null)).toEqual([]);

    // A customer action on a merchant's case is a clear refusal, not a missing wallet, and changes nothing.
    const freeze = await ops(analyst, 'POST', `/v1/ops/cases/${caseId}/freeze`, { reason: 'wrong button' });
    expect(freeze.statusCode, freeze.body).toBe(409);
    expect(freeze.json().code).toBe('case_subject_mismatch');

    const suspended = await ops(analyst, 'POST', `/v1/ops/cases/${caseId}/merchant/status`, { status: 'suspended', reason: 'money converging from taken-over wallets' });
    expect(suspended.statusCode, suspended.body).toBe(200);
    expect(suspended.json().notes.map((n: { body: string }) => n.body)).toContainEqual(expect.stringContaining('suspended: no payment on any surface: money converging from taken-over wallets'));
    const view = await ops(support, 'GET', `/v1/ops/cases/${caseId}/merchant`);
    expect(view.json().merchant).toMatchObject({ id: m.merchantId, status: 'suspended', statusReason: 'money converging from taken-over wallets' });

    const before = await balanceOf(koban.ledger, victim.walletAccountId);
    const refused = await charge(m.till, victim, 2_000);
    expect(refused.statusCode).toBeGreaterThanOrEqual(400);
    expect(await balanceOf(koban.ledger, victim.walletAccountId)).toBe(before);
    expect(await caseActions(caseId)).toContain('case.merchant_suspended');
    const merchantAudit = await koban.db.pool.query<{ action: string; reason: string; actor_id: string }>(`select action, reason, actor_id from audit_events where target_id = $1 and action = 'merchant.suspended'`, [m.merchantId]);
    expect(merchantAudit.rows).toEqual([{ action: 'merchant.suspended', reason: 'money converging from taken-over wallets', actor_id: analyst.id }]);

    // Support may look but not contain.
    expect((await ops(support, 'POST', `/v1/ops/cases/${caseId}/merchant/status`, { status: 'active', reason: 'let them trade' })).statusCode).toBe(403);
    const reactivated = await ops(analyst, 'POST', `/v1/ops/cases/${caseId}/merchant/status`, { status: 'active', reason: 'owner proved the sales' });
    expect(reactivated.statusCode, reactivated.body).toBe(200);
    await paidAtTill(m.till, victim, 100);
  });

  it('one tampered store suspended and the payouts held from the case, the other store untouched; bad input changes nothing', async () => {
    const m = await shop();
    const victim = await createCustomer(koban.db, koban.ledger, 20_000n);
    const caseId = await alertOnMerchant(m.merchantId, victim, await paidAtTill(m.till, victim, 1_000), false);

    expect((await ops(analyst, 'POST', `/v1/ops/cases/${caseId}/merchant/stores/${m.storeId}/status`, { status: 'suspended', reason: '' })).statusCode).toBe(400);
    expect((await ops(analyst, 'POST', `/v1/ops/cases/${caseId}/merchant/stores/not-a-store/status`, { status: 'suspended', reason: 'stickers' })).statusCode).toBe(404);
    expect((await ops(analyst, 'POST', `/v1/ops/cases/${caseId}/merchant/payout-hold`, { held: 'yes', reason: 'hold' })).statusCode).toBe(400);
    expect((await ops(support, 'GET', `/v1/ops/cases/${caseId}/merchant`)).json()).toMatchObject({ merchant: { status: 'active', payoutsHeld: false } });

    const store = await ops(analyst, 'POST', `/v1/ops/cases/${caseId}/merchant/stores/${m.storeId}/status`, { status: 'suspended', reason: 'tampered QR stickers' });
    expect(store.statusCode, store.body).toBe(200);
    const held = await ops(analyst, 'POST', `/v1/ops/cases/${caseId}/merchant/payout-hold`, { held: true, reason: 'until the reversal is done' });
    expect(held.statusCode, held.body).toBe(200);
    const view = (await ops(support, 'GET', `/v1/ops/cases/${caseId}/merchant`)).json();
    expect(view.merchant).toMatchObject({ status: 'active', payoutsHeld: true });
    expect(Object.fromEntries(view.stores.map((s: { id: string; status: string }) => [s.id, s.status]))).toEqual({ [m.storeId]: 'suspended', [m.otherStoreId]: 'active' });
    expect((await charge(m.till, victim, 500)).statusCode).toBeGreaterThanOrEqual(400);
    expect(await caseActions(caseId)).toEqual(expect.arrayContaining(['case.store_suspended', 'case.merchant_payouts_held']));
  });

  it('payments from compromised wallets reversed with four eyes from the case: only they are offered, the proposer cannot approve, the money goes back once, the case tells the story', async () => {
    const m = await shop();
    const alerted = await createCustomer(koban.db, koban.ledger, 20_000n);
    const takenOver = await createCustomer(koban.db, koban.ledger, 20_000n);
    const ordinary = await createCustomer(koban.db, koban.ledger, 20_000n);
    const alertedPayment = await paidAtTill(m.till, alerted, 4_000);
    const takenOverPayment = await paidAtTill(m.till, takenOver, 2_500);
    const ordinaryPayment = await paidAtTill(m.till, ordinary, 1_000);
    const caseId = await alertOnMerchant(m.merchantId, alerted, alertedPayment, false);
    // The second victim's own account has a case (a "this wasn't me", say); the ordinary customer has none.
    await koban.operations.cases.openFromAlert({ accountId: takenOver.customerId }, { id: crypto.randomUUID(), decision: 'review', reasons: [] });

    const view = (await ops(analyst, 'GET', `/v1/ops/cases/${caseId}/merchant`)).json();
    const offered = Object.fromEntries(view.suspectPayments.map((p: { paymentId: string; alerted: boolean; payerCase: boolean; refundable: number }) => [p.paymentId, p]));
    expect(Object.keys(offered).sort()).toEqual([alertedPayment, takenOverPayment].sort());
    expect(offered[alertedPayment]).toMatchObject({ alerted: true, payerCase: false, refundable: 4_000 });
    expect(offered[takenOverPayment]).toMatchObject({ alerted: false, payerCase: true, refundable: 2_500 });
    expect(offered[ordinaryPayment]).toBeUndefined();

    const proposed = await ops(analyst, 'POST', `/v1/ops/cases/${caseId}/merchant/reversals`, { paymentIds: [alertedPayment, takenOverPayment], reason: 'payments from taken-over wallets' });
    expect(proposed.statusCode, proposed.body).toBe(201);
    const proposalId = proposed.json().proposal.id as string;
    expect(proposed.json().proposal.summary).toMatchObject({ totalMinor: '6500', caseId });
    expect((await ops(support, 'GET', `/v1/ops/cases/${caseId}/merchant`)).json().pendingReversals.map((p: { id: string }) => p.id)).toEqual([proposalId]);
    expect(await balanceOf(koban.ledger, alerted.walletAccountId)).toBe(16_000n);

    // The proposer cannot approve (their role lacks it, and the proposals refuse self-approval anyway).
    expect((await ops(analyst, 'POST', `/v1/ops/merchant-reversals/${proposalId}/decision`, { approve: true, reason: 'me again' })).statusCode).toBe(403);
    const approved = await ops(finance, 'POST', `/v1/ops/merchant-reversals/${proposalId}/decision`, { approve: true, reason: 'checked the case' });
    expect(approved.statusCode, approved.body).toBe(200);
    expect(await balanceOf(koban.ledger, alerted.walletAccountId)).toBe(20_000n);
    expect(await balanceOf(koban.ledger, takenOver.walletAccountId)).toBe(20_000n);
    expect(await balanceOf(koban.ledger, ordinary.walletAccountId)).toBe(19_000n);
    // Run again: nothing is refunded twice.
    expect((await ops(finance, 'POST', `/v1/ops/merchant-reversals/${proposalId}/execute`, { reason: 'make sure' })).statusCode).toBe(200);
    expect(await balanceOf(koban.ledger, alerted.walletAccountId)).toBe(20_000n);

    expect(await caseActions(caseId)).toEqual(expect.arrayContaining(['case.merchant_reversal_proposed', 'case.merchant_reversal_executed']));
    const after = (await ops(support, 'GET', `/v1/ops/cases/${caseId}/merchant`)).json();
    expect(after.suspectPayments).toEqual([]);
    expect(after.pendingReversals).toEqual([]);
    const notes = (await ops(support, 'GET', `/v1/ops/cases/${caseId}`)).json().notes.map((n: { body: string }) => n.body);
    expect(notes).toContainEqual(expect.stringContaining(`reversal ${proposalId} approved by ${finance.id}: 2 refunded, 0 failed`));
  });

  it('merchant actions on a customer\'s case are refused and change nothing', async () => {
    const m = await shop();
    const customer = await createCustomer(koban.db, koban.ledger, 5_000n);
    const paymentId = await paidAtTill(m.till, customer, 500);
    await koban.operations.cases.openFromAlert({ accountId: customer.customerId }, { id: crypto.randomUUID(), decision: 'review', reasons: [] });
    const found = await koban.db.pool.query<{ id: string }>(`select id from cases where account_id = $1 and status = 'open'`, [customer.customerId]);
    const caseId = found.rows[0]?.id ?? '';
    for (const [url, body] of [['merchant/status', { status: 'suspended', reason: 'wrong case' }], ['merchant/payout-hold', { held: true, reason: 'wrong case' }],
      ['merchant/reversals', { paymentIds: [paymentId], reason: 'wrong case' }]] as const) {
      const refused = await ops(analyst, 'POST', `/v1/ops/cases/${caseId}/${url}`, body);
      expect(refused.statusCode, refused.body).toBe(409);
      expect(refused.json().code).toBe('case_subject_mismatch');
    }
    expect((await ops(support, 'GET', `/v1/ops/cases/${caseId}/merchant`)).statusCode).toBe(409);
    expect((await ops(support, 'GET', `/v1/ops/merchants/${m.merchantId}/overview`)).json().merchant).toMatchObject({ status: 'active', payoutsHeld: false });
    expect(await caseActions(caseId)).toEqual([]);
  });
});
