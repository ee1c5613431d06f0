/**
 * Cash top-up at the register (issue 19) on the real PostgreSQL through the real routes: the wallet shows a
 * top-up code, the till scans it and takes the cash; the merchant's cash-owed account pays the prepaid wallet
 * once, whatever the retries; the codes of the two kinds never pass for each other; a staff member's own wallet
 * needs a second clerk; the cash limits; the void; the daily close nets the cash from the payout.
 */
import { randomBytes } from 'node:crypto';
import { generate } from 'otplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Koban } from '../../src/koban.ts';
import { ownedAccountId } from '../../src/ledger/owned-accounts.ts';
import { requireTransferCreated } from '../../src/ledger/ledger.ts';
import { AccountCodes, Ledgers, TransferCodes } from '../../src/ledger/types.ts';
import { createStaffUser } from '../../src/merchants/staff.ts';
import { closeBusinessDay, readSettlement } from '../../src/payments/settlement/close.ts';
import { reconciliationCsv } from '../../src/payments/settlement/reconciliation.ts';
import { uuidv7 } from '../../src/platform/ids.ts';
import { newClient, signUp, type Client, type Customer } from '../identity/support.ts';
import { balanceOf as accountBalance, createCustomer } from '../payments/customer-fixtures.ts';
import { createTestMerchant, type TestMerchant } from '../payments/merchant-fixtures.ts';
import { startTestKoban } from '../support/koban.ts';
import { balanceOf, expectLedgerVerifies, WALLET_VELOCITY_RULES } from './support.ts';

const walletBalance = (customerId: string) => balanceOf({ koban, db: koban.db } as Parameters<typeof balanceOf>[0], customerId);

const DAY_MS = 24 * 3600_000;
let offsetMs = 0;
let env: Awaited<ReturnType<typeof startTestKoban>>;
let koban: Koban;
let ipCounter = 0;

beforeAll(async () => {
  env = await startTestKoban({
    clock: () => new Date(Date.now() + offsetMs),
    env: { KOBAN_CASH_TOP_UP_DAILY_MAX: '60000', KOBAN_CASH_TOP_UP_STORE_DAILY_MAX: '100000', KOBAN_TILL_CONFIRMATION_ABOVE: '1000000' },
  });
  koban = env.koban;
  // Test customers top up many times a minute (as in test/wallet/support.ts): the velocity rules would rightly refuse that.
  for (const rule of WALLET_VELOCITY_RULES) await koban.risk.settings.updateRule(rule, { enabled: false }, { kind: 'operator', id: 'op-cash-tests' }, 'isolate the cash rules under test');
});
afterAll(async () => {
  await expectLedgerVerifies(koban.db);
  await env.close();
});

const tillId = () => `cash-${randomBytes(8).toString('hex')}`;

async function activatedTill(terminalId: string): Promise<Client> {
  ipCounter += 1;
  const client = newClient(koban, `203.0.113.${ipCounter}`);
  const code = (await koban.payments.terminals.issueActivationCode(terminalId, 'test')).code;
  const response = await client.request({ method: 'POST', url: '/v1/till/activate', body: { code } });
  expect(response.statusCode, response.body).toBe(200);
  return client;
}

async function topUpCode(customer: Customer): Promise<{ code: string; maxAmount: string }> {
  const response = await customer.client.request({ method: 'POST', url: '/v1/wallet/cash-top-up-code', body: {} });
  expect(response.statusCode, response.body).toBe(200);
  return response.json() as { code: string; maxAmount: string };
}

async function takeCash(till: Client, body: Record<string, unknown>) {
  return till.request({ method: 'POST', url: '/v1/till/cash-top-ups', body });
}

async function feedKinds(customerId: string): Promise<string[]> {
  const rows = await koban.db.pool.query<{ kind: string }>('select kind from customer_notifications where customer_id = $1', [customerId]);
  return rows.rows.map((row) => row.kind);
}

describe('cash top-up at the register', () => {
  let merchant: TestMerchant;
  let till: Client;
  beforeAll(async () => {
    merchant = await createTestMerchant(koban.db, koban.ledger);
    till = await activatedTill(merchant.terminalIds[0]!);
  });

  it('the till reads the code (masked customer, limits), takes the cash and credits the prepaid wallet once under retries', async () => {
    const customer = await signUp(koban);
    const { code, maxAmount } = await topUpCode(customer);
    expect(code).toMatch(/^81[0-9]{20}$/);
    expect(maxAmount).toBe('50000');
    const preview = await till.request({ method: 'POST', url: '/v1/till/cash-top-ups/preview', body: { code } });
    expect(preview.statusCode, preview.body).toBe(200);
    expect(preview.json()).toMatchObject({ maskedName: `${customer.email.slice(0, 1)}***@example.com`, maxAmount: '50000', secondClerkRequired: false });
    const body = { tillTopUpId: tillId(), code, amount: '5000' };
    // A burst of copies (a till retrying after a timeout) and one more afterwards: one credit, one answer.
    const answers = await Promise.all(Array.from({ length: 8 }, () => takeCash(till, body)));
    answers.push(await takeCash(till, body));
    expect(answers.map((a) => a.statusCode).sort()).toEqual([200, 200, 200, 200, 200, 200, 200, 200, 201]);
    expect(new Set(answers.map((a) => a.json().receiptNumber)).size).toBe(1);
    expect(answers[0]!.json()).toMatchObject({ status: 'completed', amount: '5000' });
    expect(await walletBalance(customer.customerId)).toBe(5000n);
    expect((await feedKinds(customer.customerId)).filter((k) => k === 'cash_top_up_completed')).toHaveLength(1);
    const cashOwed = await accountBalance(koban.ledger, ownedAccountId(AccountCodes.merchantCashOwed, merchant.merchantId));
    expect(cashOwed).toBe(-5000n);
    // The same till id with another amount is a different request: refused, nothing moves.
    const changed = await takeCash(till, { ...body, amount: '6000' });
    expect(changed.statusCode).toBe(409);
    expect(changed.json()).toMatchObject({ code: 'cash_top_up_id_conflict' });
    // The code is spent.
    const again = await takeCash(till, { tillTopUpId: tillId(), code, amount: '5000' });
    expect(again.json()).toMatchObject({ code: 'top_up_code_used' });
    expect(await walletBalance(customer.customerId)).toBe(5000n);
  });

  it('a payment code is refused as a top-up code, and a top-up code as a payment code; neither moves money', async () => {
    const payer = await createCustomer(koban.db, koban.ledger, 10_000n);
    const paymentCode = (await koban.payments.payments.mintPaymentCode(payer)).code;
    const refused = await takeCash(till, { tillTopUpId: tillId(), code: paymentCode, amount: '3000' });
    expect(refused.statusCode).toBe(422);
    expect(refused.json()).toMatchObject({ code: 'not_a_top_up_code' });
    const preview = await till.request({ method: 'POST', url: '/v1/till/cash-top-ups/preview', body: { code: paymentCode } });
    expect(preview.json()).toMatchObject({ code: 'not_a_top_up_code' });
    expect(await accountBalance(koban.ledger, payer.walletAccountId)).toBe(10_000n);

    const customer = await signUp(koban);
    const { code } = await topUpCode(customer);
    const charged = await till.request({ method: 'POST', url: '/v1/till/charges', body: { merchantPaymentId: tillId(), code, amount: '100' } });
    expect(charged.statusCode).toBe(404);
    expect(charged.json()).toMatchObject({ code: 'payment_code_not_found' });
    // The top-up code was not consumed by the wrong screen: it still tops up.
    const taken = await takeCash(till, { tillTopUpId: tillId(), code, amount: '2000' });
    expect(taken.statusCode, taken.body).toBe(201);
    expect(await walletBalance(customer.customerId)).toBe(2000n);
    // The payment code still pays.
    const paid = await till.request({ method: 'POST', url: '/v1/till/charges', body: { merchantPaymentId: tillId(), code: paymentCode, amount: '1000' } });
    expect(paid.statusCode, paid.body).toBe(200);
  });

  it('refuses a till topping up its own staff member\'s wallet on one clerk\'s word; a second clerk\'s authenticator code lets it through', async () => {
    const staffCustomer = await signUp(koban);
    const staffDeps = { db: koban.db, box: koban.payments.box, now: () => new Date(Date.now() + offsetMs) };
    const operator = { kind: 'operator' as const, id: 'test-operator' };
    const self = await createStaffUser(staffDeps, { merchantId: merchant.merchantId, email: staffCustomer.email, displayName: 'Clerk Self', role: 'clerk' }, operator, null);
    const manager = await createStaffUser(staffDeps, { merchantId: merchant.merchantId, email: `mgr-${randomBytes(4).toString('hex')}@shop.example`, displayName: 'Manager', role: 'manager' }, operator, null);
    const { code } = await topUpCode(staffCustomer);
    const preview = await till.request({ method: 'POST', url: '/v1/till/cash-top-ups/preview', body: { code } });
    expect(preview.json()).toMatchObject({ secondClerkRequired: true });
    const alone = await takeCash(till, { tillTopUpId: tillId(), code, amount: '10000' });
    expect(alone.statusCode).toBe(403);
    expect(alone.json()).toMatchObject({ code: 'second_clerk_required' });
    // The staff member cannot approve their own top-up.
    const selfApproved = await takeCash(till, { tillTopUpId: tillId(), code, amount: '10000', secondClerk: { email: staffCustomer.email, totpCode: await generate({ secret: self.totpSecret }) } });
    expect(selfApproved.json()).toMatchObject({ code: 'second_clerk_refused' });
    const wrongCode = await takeCash(till, { tillTopUpId: tillId(), code, amount: '10000', secondClerk: { email: manager.user.email, totpCode: '000000' } });
    expect(wrongCode.json()).toMatchObject({ code: 'second_clerk_refused' });
    expect(await walletBalance(staffCustomer.customerId)).toBe(0n);
    const approved = await takeCash(till, { tillTopUpId: tillId(), code, amount: '10000', secondClerk: { email: manager.user.email, totpCode: await generate({ secret: manager.totpSecret }) } });
    expect(approved.statusCode, approved.body).toBe(201);
    expect(approved.json()).toMatchObject({ secondClerkApproved: true });
    const row = await koban.db.pool.query<{ linked_staff_user_id: string; approved_by_user_id: string }>('select linked_staff_user_id, approved_by_user_id from cash_top_ups where customer_id = $1', [staffCustomer.customerId]);
    expect(row.rows[0]).toEqual({ linked_staff_user_id: self.user.id, approved_by_user_id: manager.user.id });
    const audit = await koban.db.pool.query('select 1 from audit_events where action = $1 and actor_id = $2', ['merchant_user.second_clerk_approval', manager.user.id]);
    expect(audit.rowCount).toBe(1);
    expect(await walletBalance(staffCustomer.customerId)).toBe(10_000n);
  });

  it('a clerk voids an unspent cash top-up within the window (once); a spent one cannot be voided', async () => {
    const customer = await signUp(koban);
    const body = { tillTopUpId: tillId(), code: (await topUpCode(customer)).code, amount: '3000' };
    expect((await takeCash(till, body)).statusCode).toBe(201);
    const voided = await till.request({ method: 'POST', url: `/v1/till/cash-top-ups/${body.tillTopUpId}/void`, body: { reason: 'keyed the wrong amount' } });
    expect(voided.statusCode, voided.body).toBe(200);
    expect(voided.json()).toMatchObject({ status: 'voided', voidReason: 'keyed the wrong amount' });
    const twice = await till.request({ method: 'POST', url: `/v1/till/cash-top-ups/${body.tillTopUpId}/void`, body: { reason: 'again' } });
    expect(twice.json()).toMatchObject({ status: 'voided', voidReason: 'keyed the wrong amount' });
    expect(await walletBalance(customer.customerId)).toBe(0n);
    expect(await feedKinds(customer.customerId)).toContain('cash_top_up_voided');
    const listed = await till.request({ method: 'GET', url: '/v1/till/cash-top-ups' });
    expect(listed.json().cashTopUps.find((c: { tillTopUpId: string }) => c.tillTopUpId === body.tillTopUpId)).toMatchObject({ status: 'voided', amount: '3000' });

    const spender = await signUp(koban);
    const spent = { tillTopUpId: tillId(), code: (await topUpCode(spender)).code, amount: '3000' };
    expect((await takeCash(till, spent)).statusCode).toBe(201);
    const wallet = await koban.db.pool.query<{ account_id: string }>('select account_id from customer_wallets where customer_id = $1', [spender.customerId]);
    requireTransferCreated(await koban.ledger.createTransfers([{ id: uuidv7(), debitAccountId: wallet.rows[0]!.account_id, creditAccountId: merchant.receivableAccountId, amount: 1n,
      pendingId: null, ledger: Ledgers.JPY, code: TransferCodes.payment, flags: 0, timeoutSeconds: 0, reference: 'spent one yen' }]));
    const refused = await till.request({ method: 'POST', url: `/v1/till/cash-top-ups/${spent.tillTopUpId}/void`, body: { reason: 'changed mind' } });
    expect(refused.statusCode).toBe(409);
    expect(refused.json()).toMatchObject({ code: 'cash_top_up_spent' });
    expect(await walletBalance(spender.customerId)).toBe(2999n);
  });
});

describe('the top_ups.cash switch', () => {
  it('stops new cash top-ups and new codes, and a till retrying a top-up it already took still hears what happened', async () => {
    const merchant = await createTestMerchant(koban.db, koban.ledger);
    const till = await activatedTill(merchant.terminalIds[0]!);
    const customer = await signUp(koban);
    const taken = { tillTopUpId: tillId(), code: (await topUpCode(customer)).code, amount: '2000' };
    expect((await takeCash(till, taken)).statusCode).toBe(201);
    const waiting = await topUpCode(customer);
    const actor = { kind: 'operator' as const, id: 'op-cash-tests' };
    await koban.operations.switches.set({ name: 'top_ups.cash', state: 'off', reason: 'cash fraud at one chain', actor });
    try {
      const refused = await takeCash(till, { tillTopUpId: tillId(), code: waiting.code, amount: '2000' });
      expect(refused.statusCode).toBe(503);
      expect(refused.json()).toMatchObject({ code: 'service_switched_off' });
      const noCode = await customer.client.request({ method: 'POST', url: '/v1/wallet/cash-top-up-code', body: {} });
      expect(noCode.json()).toMatchObject({ code: 'service_switched_off' });
      const retry = await takeCash(till, taken);
      expect(retry.statusCode).toBe(200);
      expect(retry.json()).toMatchObject({ status: 'completed', amount: '2000' });
      expect(await walletBalance(customer.customerId)).toBe(2000n);
    } finally {
      await koban.operations.switches.set({ name: 'top_ups.cash', state: 'on', reason: 'contained', actor });
    }
  });
});

describe('cash limits', () => {
  it('per code, per customer per day, per store per day', async () => {
    const merchant = await createTestMerchant(koban.db, koban.ledger);
    const till = await activatedTill(merchant.terminalIds[0]!);
    const customer = await signUp(koban);
    const overCode = await takeCash(till, { tillTopUpId: tillId(), code: (await topUpCode(customer)).code, amount: '50001' });
    expect(overCode.statusCode, overCode.body).toBe(422);
    expect(overCode.json()).toMatchObject({ code: 'cash_top_up_limit_exceeded', limit: 'per_code' });
    const below = await takeCash(till, { tillTopUpId: tillId(), code: (await topUpCode(customer)).code, amount: '999' });
    expect(below.json()).toMatchObject({ code: 'validation_failed' });
    const first = await takeCash(till, { tillTopUpId: tillId(), code: (await topUpCode(customer)).code, amount: '40000' });
    expect(first.statusCode, first.body).toBe(201);
    const { code, maxAmount } = await topUpCode(customer);
    expect(maxAmount).toBe('20000');
    const overDay = await takeCash(till, { tillTopUpId: tillId(), code, amount: '20001' });
    expect(overDay.json()).toMatchObject({ code: 'cash_top_up_limit_exceeded', limit: 'customer_daily', available: '20000' });
    // The refused code is still live: the clerk types the amount again.
    expect((await takeCash(till, { tillTopUpId: tillId(), code, amount: '20000' })).statusCode).toBe(201);

    const second = await signUp(koban);
    expect((await takeCash(till, { tillTopUpId: tillId(), code: (await topUpCode(second)).code, amount: '30000' })).statusCode).toBe(201);
    const third = await signUp(koban);
    const overStore = await takeCash(till, { tillTopUpId: tillId(), code: (await topUpCode(third)).code, amount: '10001' });
    expect(overStore.json()).toMatchObject({ code: 'cash_top_up_limit_exceeded', limit: 'store_daily', available: '10000' });
    expect(await walletBalance(third.customerId)).toBe(0n);
  });

  it('a cash top-up counts against the tier\'s daily top-up limit, decided under the same lock as card top-ups', async () => {
    const merchant = await createTestMerchant(koban.db, koban.ledger);
    const till = await activatedTill(merchant.terminalIds[0]!);
    const customer = await signUp(koban);
    const limits = await customer.client.request({ method: 'GET', url: '/v1/customer/limits' });
    expect(limits.json()).toMatchObject({ topUp: { daily: { used: '0' } } });
    expect((await takeCash(till, { tillTopUpId: tillId(), code: (await topUpCode(customer)).code, amount: '45000' })).statusCode).toBe(201);
    const after = await customer.client.request({ method: 'GET', url: '/v1/customer/limits' });
    expect(after.json()).toMatchObject({ topUp: { daily: { used: '45000', remaining: '55000' } } });
  });
});

describe('the daily close nets the cash', () => {
  it('a day of cash only leaves the merchant owing it; the next day\'s sales pay it back before anything is paid out', async () => {
    offsetMs = 0;
    const merchant = await createTestMerchant(koban.db, koban.ledger);
    const till = await activatedTill(merchant.terminalIds[0]!);
    const customer = await signUp(koban);
    const taken = await takeCash(till, { tillTopUpId: tillId(), code: (await topUpCode(customer)).code, amount: '30000' });
    expect(taken.statusCode, taken.body).toBe(201);
    const day = (await koban.db.pool.query<{ business_date: string }>('select business_date from cash_top_ups where customer_id = $1', [customer.customerId])).rows[0]!.business_date;
    const deps = { db: koban.db, ledger: koban.ledger, box: koban.payments.box, rail: null, now: () => new Date(Date.now() + offsetMs) };
    offsetMs = DAY_MS;
    try {
      await closeBusinessDay(deps, day);
      const first = await readSettlement(koban.db.pool, merchant.merchantId, day);
      expect(first).toMatchObject({ grossMinor: 0n, salesNetMinor: 0n, cashTopUpsCount: 1, cashTopUpsMinor: 30000n, netMinor: -30000n, payoutStatus: 'nothing_to_pay' });
      const payout = ownedAccountId(AccountCodes.merchantPayout, merchant.merchantId);
      const cashOwed = ownedAccountId(AccountCodes.merchantCashOwed, merchant.merchantId);
      expect(await accountBalance(koban.ledger, cashOwed)).toBe(0n);
      expect(await accountBalance(koban.ledger, payout)).toBe(-30000n);
      const csv = await reconciliationCsv(koban.db, merchant.merchantId, day);
      expect(csv).toContain(',-30000,0\n');
      expect(csv).toContain(`cash_total,,,,,,${day},-30000,\n`);
      expect(csv).toContain(`net,,,,,,${day},-30000,\n`);
      // Closing again changes nothing.
      await closeBusinessDay(deps, day);
      expect(await accountBalance(koban.ledger, payout)).toBe(-30000n);

      const payer = await createCustomer(koban.db, koban.ledger, 100_000n);
      const sale = await till.request({ method: 'POST', url: '/v1/till/charges', body: { merchantPaymentId: tillId(), code: (await koban.payments.payments.mintPaymentCode(payer)).code, amount: '9000' } });
      expect(sale.json(), sale.body).toMatchObject({ status: "COMPLETED" });
      const nextDay = (await koban.db.pool.query<{ business_date: string }>('select business_date from payments where merchant_id = $1', [merchant.merchantId])).rows[0]!.business_date;
      expect(nextDay > day, `${nextDay} after ${day}`).toBe(true);
      offsetMs = 2 * DAY_MS;
      await closeBusinessDay(deps, nextDay);
      const second = await readSettlement(koban.db.pool, merchant.merchantId, nextDay);
      expect(second).toMatchObject({ grossMinor: 9000n, cashTopUpsMinor: 0n, payoutStatus: 'nothing_to_pay' });
      expect(second!.netMinor).toBe(second!.salesNetMinor);
      expect(await accountBalance(koban.ledger, payout)).toBe(second!.salesNetMinor - 30000n);
    } finally {
      offsetMs = 0;
    }
  });
});
