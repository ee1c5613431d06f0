/** Step 8: the daily close per merchant, the payout to the sandbox bank over HTTP, and the reconciliation CSV. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildBank } from '../../sandbox/bank/app.ts';
import { HttpBankRail } from '../../src/wallet/funding/http-bank.ts';
import type { CustomerContext } from '../../src/payments/context.ts';
import { PLATFORM_ACCOUNTS } from '../../src/ledger/platform-accounts.ts';
import { closeBusinessDay, readSettlement, type SettlementDeps } from '../../src/payments/settlement/close.ts';
import { setMerchantPayoutAccount } from '../../src/merchants/payout-accounts.ts';
import { reconcilePayouts } from '../../src/payments/settlement/payout-outcomes.ts';
import { reconciliationCsv } from '../../src/payments/settlement/reconciliation.ts';
import { expectLedgerConsistent } from '../ledger/fixtures.ts';
import { balanceOf, createCustomer } from './customer-fixtures.ts';
import { opa, resultCode, startHarness, type Harness } from './support.ts';

let h: Harness;
let bank: ReturnType<typeof buildBank>;
let deps: SettlementDeps;
const DAY = '2025-06-02';
const duringDay = new Date('2025-06-02T01:00:00Z'); // 10:00 JST
const nextMorning = new Date('2025-06-02T18:00:00Z'); // 03:00 JST on the 3rd

beforeAll(async () => {
  h = await startHarness();
  bank = buildBank({ apiKey: 'sk_test_bank_settlement_01', webhookSecret: 'whsec_bank_settlement_01', payoutSettleDelayMs: 0 });
  const baseUrl = await bank.listen({ port: 0, host: '127.0.0.1' });
  deps = { db: h.db, ledger: h.ledger, box: h.module.box, rail: new HttpBankRail({ baseUrl, apiKey: 'sk_test_bank_settlement_01' }), now: () => h.clock.now };
  await setMerchantPayoutAccount(h.db, h.module.box, h.merchant.merchantId, { bankCode: '0001', branchCode: '001', accountType: 'ordinary', accountNumber: '1234567', holderNameKana: 'ｺﾊﾞﾝ ﾃｽﾄ' });
});
afterAll(async () => {
  await expectLedgerConsistent(h.db);
  await bank.close();
  await h.close();
});

let seq = 0;
async function pay(customer: CustomerContext, amount: number): Promise<{ merchantPaymentId: string; paymentId: string }> {
  const code = (await h.module.payments.mintPaymentCode(customer)).code;
  const merchantPaymentId = `st-${seq++}`;
  const response = await opa(h, { method: 'POST', url: '/v2/till/payments', body: { merchantPaymentId, code, amount: { amount, currency: 'JPY' }, storeId: h.merchant.storeId, terminalId: h.merchant.terminalIds[0] } });
  expect(resultCode(response)).toBe('SUCCESS');
  return { merchantPaymentId, paymentId: response.json().data.paymentId };
}

describe('daily settlement', () => {
  it('refuses to close a day that is not over in Japan', async () => {
    h.clock.now = duringDay;
    await expect(closeBusinessDay(deps, DAY)).rejects.toMatchObject({ code: 'settlement_not_ready' });
    await expect(closeBusinessDay(deps, '2025-02-30')).rejects.toMatchObject({ code: 'validation_failed' });
  });

  it('closes the day: gross, refunds, fees, net; moves the net to payout and pays it out through the bank', async () => {
    h.clock.now = duringDay;
    const customer = await createCustomer(h.db, h.ledger, 100_000n);
    await pay(customer, 10_000); // fee 198
    const second = await pay(customer, 5_000); // fee 99
    const third = await pay(customer, 2_000); // fee 39
    const refunded = await opa(h, { method: 'POST', url: '/v2/refunds', body: { merchantRefundId: 'st-r1', paymentId: second.paymentId, amount: { amount: 1_000, currency: 'JPY' } } });
    expect(resultCode(refunded)).toBe('SUCCESS'); // fee share returned: 99 * 1000 / 5000 = 19
    expect(resultCode(await opa(h, { method: 'DELETE', url: `/v2/payments/${third.merchantPaymentId}` }))).toBe('REQUEST_ACCEPTED');
    const clearingBefore = await balanceOf(h.ledger, PLATFORM_ACCOUNTS.bankClearing);

    h.clock.now = nextMorning;
    const [settlement] = await closeBusinessDay(deps, DAY);
    expect(settlement).toMatchObject({
      merchantId: h.merchant.merchantId, businessDate: DAY, paymentsCount: 3, refundsCount: 1,
      grossMinor: 17_000n, refundsMinor: 3_000n, feesMinor: 198n + 99n + 39n - 19n - 39n, netMinor: 17_000n - 3_000n - 278n,
    });
    expect(settlement?.payoutFailure).toBeNull();
    expect(settlement).toMatchObject({ payoutStatus: 'instructed', payoutAmountMinor: 13_722n });
    expect(settlement?.payoutReference).toMatch(/^po_/);
    const receivable = await h.ledger.getAccount(h.merchant.receivableAccountId);
    expect((receivable?.creditsPosted ?? 0n) - (receivable?.debitsPosted ?? 0n)).toBe(0n);
    // Out of the payout account, into bank clearing: the money is on its way to the merchant's bank.
    expect(await balanceOf(h.ledger, PLATFORM_ACCOUNTS.bankClearing) - clearingBefore).toBe(13_722n);
  });

  it('is idempotent: closing the same day again moves no money (and learns from the bank that the payout was paid)', async () => {
    const before = await balanceOf(h.ledger, PLATFORM_ACCOUNTS.bankClearing);
    const [again] = await closeBusinessDay(deps, DAY);
    expect(again).toMatchObject({ netMinor: 13_722n, payoutStatus: 'paid' });
    expect(await balanceOf(h.ledger, PLATFORM_ACCOUNTS.bankClearing)).toBe(before);
  });

  it('writes a reconciliation CSV whose lines add up to the settlement', async () => {
    const csv = await reconciliationCsv(h.db, h.merchant.merchantId, DAY);
    const lines = csv.trim().split('\n');
    expect(lines[0]).toBe('type,payment_id,merchant_payment_id,merchant_refund_id,store_id,terminal_id,at,amount,fee');
    const items = lines.slice(1).filter((l) => /^(payment|refund|cancel),/.test(l)).map((l) => l.split(','));
    expect(items.map((i) => i[0]).sort()).toEqual(['cancel', 'payment', 'payment', 'payment', 'refund']);
    const amount = items.reduce((sum, i) => sum + BigInt(i[7] ?? '0'), 0n);
    const fee = items.reduce((sum, i) => sum + BigInt(i[8] ?? '0'), 0n);
    expect(amount - fee).toBe(13_722n);
    expect(lines.at(-1)).toBe(`net,,,,,,${DAY},13722,`);
  });

  it('a day with more refunds than sales moves money back and owes nothing to pay out', async () => {
    const customer = await createCustomer(h.db, h.ledger, 1_000n);
    h.clock.now = new Date('2025-06-03T01:00:00Z');
    const sale = await pay(customer, 500);
    h.clock.now = new Date('2025-06-04T01:00:00Z');
    expect(resultCode(await opa(h, { method: 'POST', url: '/v2/refunds', body: { merchantRefundId: 'st-r2', paymentId: sale.paymentId, amount: { amount: 500, currency: 'JPY' } } }))).toBe('SUCCESS');
    h.clock.now = new Date('2025-06-05T01:00:00Z');
    const [day3] = await closeBusinessDay(deps, '2025-06-03');
    expect(day3).toMatchObject({ netMinor: 491n, payoutStatus: 'instructed', payoutAmountMinor: 491n });
    const [day4] = await closeBusinessDay(deps, '2025-06-04');
    expect(day4).toMatchObject({ grossMinor: 0n, refundsMinor: 500n, feesMinor: -9n, netMinor: -491n, payoutStatus: 'nothing_to_pay' });
    const receivable = await h.ledger.getAccount(h.merchant.receivableAccountId);
    expect((receivable?.creditsPosted ?? 0n) - (receivable?.debitsPosted ?? 0n)).toBe(0n);
  });

  it('asks the bank what became of payouts: every accepted payout ends paid here', async () => {
    await reconcilePayouts(deps);
    const open = await h.db.pool.query(`select 1 from settlements where payout_status = 'instructed'`);
    expect(open.rowCount).toBe(0);
    expect(await readSettlement(h.db.pool, h.merchant.merchantId, '2025-06-03')).toMatchObject({ payoutStatus: 'paid' });
  });

  it('a payout the bank accepts and then fails is returned to the merchant once, and leaves again with the next close', async () => {
    // The sandbox bank accepts payouts to an account ending 8888 and fails them afterwards.
    await setMerchantPayoutAccount(h.db, h.module.box, h.merchant.merchantId, { bankCode: '0001', branchCode: '001', accountType: 'ordinary', accountNumber: '1238888', holderNameKana: 'ｺﾊﾞﾝ ﾃｽﾄ' });
    const payoutAccount = (await h.db.pool.query<{ payout_account_id: string }>('select payout_account_id from merchants where id = $1', [h.merchant.merchantId])).rows[0]!.payout_account_id;
    // The refund-heavy day above left the merchant owing 491, which shrinks this payout.
    const owedBefore = await balanceOf(h.ledger, payoutAccount);
    const customer = await createCustomer(h.db, h.ledger, 10_000n);
    h.clock.now = new Date('2025-06-06T01:00:00Z');
    await pay(customer, 1_000); // fee 19 → net 981
    h.clock.now = new Date('2025-06-07T01:00:00Z');
    const [failing] = await closeBusinessDay(deps, '2025-06-06');
    const paidOut = owedBefore + 981n;
    expect(failing).toMatchObject({ payoutStatus: 'instructed', payoutAmountMinor: paidOut });
    const clearingAfterPayout = await balanceOf(h.ledger, PLATFORM_ACCOUNTS.bankClearing);

    const first = await reconcilePayouts(deps);
    expect(first.returned).toBe(1);
    const returned = await readSettlement(h.db.pool, h.merchant.merchantId, '2025-06-06');
    expect(returned).toMatchObject({ payoutStatus: 'returned' });
    expect(returned?.payoutFailure).toContain('account_not_found');
    expect(await balanceOf(h.ledger, PLATFORM_ACCOUNTS.bankClearing)).toBe(clearingAfterPayout - paidOut);
    expect(await balanceOf(h.ledger, payoutAccount)).toBe(paidOut);

    // Running it again (a retry, a second operator) returns nothing more.
    expect(await reconcilePayouts(deps)).toMatchObject({ returned: 0 });
    expect(await balanceOf(h.ledger, payoutAccount)).toBe(paidOut);

    // The merchant fixes the account; the next close pays the returned money together with that day's net.
    await setMerchantPayoutAccount(h.db, h.module.box, h.merchant.merchantId, { bankCode: '0001', branchCode: '001', accountType: 'ordinary', accountNumber: '1234567', holderNameKana: 'ｺﾊﾞﾝ ﾃｽﾄ' });
    await pay(customer, 2_000); // on the 7th: fee 39 → net 1,961
    h.clock.now = new Date('2025-06-08T01:00:00Z');
    const [next] = await closeBusinessDay(deps, '2025-06-07');
    expect(next).toMatchObject({ netMinor: 1_961n, payoutStatus: 'instructed', payoutAmountMinor: paidOut + 1_961n });
    expect(await balanceOf(h.ledger, payoutAccount)).toBe(0n);
  });
});
