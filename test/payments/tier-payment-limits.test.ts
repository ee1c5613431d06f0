// The tier's payment limits (issue 19) on every payment path: the pipeline's "tier payment limit" step refuses a
// payment that would take the customer's paid total over the tier's 24-hour or 30-day limit, before anything
// is claimed or moved, on the real payments module and PostgreSQL. Small limits so few payments reach them.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/http/app.ts';
import type { CustomerContext } from '../../src/payments/context.ts';
import { buildStaticQrPayload } from '../../src/payments/emvco.ts';
import { testCustomerHeader } from '../../src/payments/test-support/header-authenticator.ts';
import { isKobanError } from '../../src/platform/errors.ts';
import { uuidv7 } from '../../src/platform/ids.ts';
import { moneyAllowances } from '../../src/wallet/transfers/money-limits.ts';
import { expectLedgerConsistent } from '../ledger/fixtures.ts';
import { balanceOf } from './customer-fixtures.ts';
import { customerWithBalances, payCompleted, refundCompleted } from './pay-fixtures.ts';
import { opa, paymentsTestConfig, resultCode, startHarness, type Harness } from './support.ts';

const LIMITS = {
  KOBAN_BASIC_PAYMENT_DAILY_MAX: '5000', KOBAN_BASIC_PAYMENT_30D_MAX: '8000',
  KOBAN_VERIFIED_PAYMENT_DAILY_MAX: '20000', KOBAN_VERIFIED_PAYMENT_30D_MAX: '50000',
};
const walletConfig = paymentsTestConfig(LIMITS).wallet;

let h: Harness;
let app: App;

beforeAll(async () => {
  h = await startHarness({ env: LIMITS, customerRoutes: true, hooks: { requireStrongConfirmation: async () => true } });
  if (h.app === null) throw new Error('customer routes not mounted');
  app = h.app;
});
afterEach(async () => { await expectLedgerConsistent(h.db); });
afterAll(async () => { await h.close(); });

const basicCustomer = (balance: bigint) => customerWithBalances(h, balance, null);
const paymentCount = async (customer: CustomerContext) =>
  Number((await h.db.pool.query<{ n: string }>('select count(*) as n from payments where customer_id = $1', [customer.customerId])).rows[0]?.n);
const allowances = (customer: CustomerContext) => moneyAllowances({ db: h.db, config: walletConfig }, customer.customerId, h.clock.now);

function tillBody(code: string, amount: number) {
  return { merchantPaymentId: `tier-${uuidv7()}`, code, amount: { amount, currency: 'JPY' }, storeId: h.merchant.storeId, terminalId: h.merchant.terminalIds[0] };
}

async function payAtTill(customer: CustomerContext, amountMinor: bigint): Promise<unknown> {
  const minted = await h.module.payments.mintPaymentCode(customer);
  try {
    return await h.module.payments.payWithCustomerCode({
      merchantId: h.merchant.merchantId, merchantPaymentId: `tier-${uuidv7()}`, code: minted.code, amountMinor,
      storeId: h.merchant.storeId, terminalId: h.merchant.terminalIds[0] as string, orderDescription: null, requestedAt: null,
    });
  } catch (error) {
    return error;
  }
}

function expectRefused(outcome: unknown, limit: 'daily' | 'monthly', available: string): void {
  expect(isKobanError(outcome)).toBe(true);
  expect(outcome).toMatchObject({ code: 'payment_limit_exceeded', extensions: { limit, available } });
}

const storeQr = () => buildStaticQrPayload({ merchantId: h.merchant.merchantId, storeId: h.merchant.storeId, categoryCode: '5411', merchantName: 'Test Shop', merchantCity: 'Chiyoda-ku', postalCode: '100-0001' });
const payStoreQr = (customer: CustomerContext, amount: number) =>
  app.inject({ method: 'POST', url: '/v1/wallet/static-qr/pay', headers: testCustomerHeader(customer), payload: { payload: storeQr(), amount: String(amount) } });

describe('the tier payment limit step', () => {
  it('a thief paying out a basic account at a till is stopped at the daily limit before money moves (OPA LIMIT_EXCEEDED)', async () => {
    const customer = await basicCustomer(20_000n);
    const first = await opa(h, { method: 'POST', url: '/v2/till/payments', body: tillBody((await h.module.payments.mintPaymentCode(customer)).code, 4_000) });
    expect(resultCode(first)).toBe('SUCCESS');
    const code = (await h.module.payments.mintPaymentCode(customer)).code;
    const over = await opa(h, { method: 'POST', url: '/v2/till/payments', body: tillBody(code, 1_001) });
    expect(over.statusCode).toBe(400);
    expect(resultCode(over)).toBe('LIMIT_EXCEEDED');
    expect(await balanceOf(h.ledger, customer.walletAccountId)).toBe(16_000n);
    expect(await paymentCount(customer)).toBe(1);
    // Nothing was claimed: the same code still pays what fits, exactly up to the limit.
    expect(resultCode(await opa(h, { method: 'POST', url: '/v2/till/payments', body: tillBody(code, 1_000) }))).toBe('SUCCESS');
    expectRefused(await payAtTill(customer, 1n), 'daily', '0');
    expect(await balanceOf(h.ledger, customer.walletAccountId)).toBe(15_000n);
  });

  it('a thief paying out a basic account by store QR is refused with payment_limit_exceeded (422) and nothing moves', async () => {
    const customer = await basicCustomer(20_000n);
    expect((await payStoreQr(customer, 3_000)).json()).toMatchObject({ status: 'COMPLETED' });
    const over = await payStoreQr(customer, 2_500);
    expect(over.statusCode).toBe(422);
    expect(over.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(over.json()).toMatchObject({ code: 'payment_limit_exceeded', limit: 'daily', limitAmount: '5000', available: '2000' });
    expect(await balanceOf(h.ledger, customer.walletAccountId)).toBe(17_000n);
    expect(await paymentCount(customer)).toBe(1);
  });

  it('an order QR (web checkout\'s path) over the daily limit is refused and the order stays payable', async () => {
    const customer = await basicCustomer(20_000n);
    await payAtTill(customer, 4_500n);
    const created = await opa(h, { method: 'POST', url: '/v2/codes', body: { merchantPaymentId: `tier-order-${uuidv7()}`, amount: { amount: 1_200, currency: 'JPY' }, codeType: 'ORDER_QR' } });
    expect(resultCode(created)).toBe('SUCCESS');
    const codeId = created.json().data.codeId as string;
    const refused = await app.inject({ method: 'POST', url: `/v1/wallet/qr/${codeId}/pay`, headers: testCustomerHeader(customer) });
    expect(refused.statusCode).toBe(422);
    expect(refused.json()).toMatchObject({ code: 'payment_limit_exceeded', available: '500' });
    expect(await balanceOf(h.ledger, customer.walletAccountId)).toBe(15_500n);
    // A customer with room pays the same order.
    const other = await basicCustomer(2_000n);
    const paid = await app.inject({ method: 'POST', url: `/v1/wallet/qr/${codeId}/pay`, headers: testCustomerHeader(other) });
    expect(paid.json()).toMatchObject({ status: 'COMPLETED' });
  });

  it('a verified customer has the verified tier\'s higher limit, counted across both balances', async () => {
    const customer = await customerWithBalances(h, 10_000n, 30_000n);
    expect(await payAtTill(customer, 6_000n)).toMatchObject({ status: 'COMPLETED' });
    expect(await payAtTill(customer, 6_000n)).toMatchObject({ status: 'COMPLETED' }); // prepaid 4,000 and funds-transfer 2,000
    expectRefused(await payAtTill(customer, 8_001n), 'daily', '8000');
    expect(await balanceOf(h.ledger, customer.fundsTransferAccountId)).toBe(28_000n);
    expect(await payAtTill(customer, 8_000n)).toMatchObject({ status: 'COMPLETED' });
  });

  it('refunds are not spending and are not netted: a refunded payment still counts in its window', async () => {
    const customer = await basicCustomer(20_000n);
    const payment = await payCompleted(h, customer, 4_000n);
    await refundCompleted(h, payment, 4_000n);
    expect(await balanceOf(h.ledger, customer.walletAccountId)).toBe(20_000n);
    expect((await allowances(customer)).payment.daily).toEqual({ limitMinor: 5_000n, usedMinor: 4_000n, remainingMinor: 1_000n });
    expectRefused(await payAtTill(customer, 1_500n), 'daily', '1000');
    const cancelled = await payCompleted(h, customer, 500n);
    await h.module.payments.cancelPayment(h.merchant.merchantId, cancelled.merchantPaymentId);
    expect((await allowances(customer)).payment.daily.usedMinor).toBe(4_500n);
  });

  it('the limits the customer sees show what remains after a payment', async () => {
    const customer = await basicCustomer(20_000n);
    const before = await allowances(customer);
    expect(before.tier).toBe('basic');
    expect(before.payment.daily).toEqual({ limitMinor: 5_000n, usedMinor: 0n, remainingMinor: 5_000n });
    await payAtTill(customer, 1_200n);
    const after = await allowances(customer);
    expect(after.payment.daily).toEqual({ limitMinor: 5_000n, usedMinor: 1_200n, remainingMinor: 3_800n });
    expect(after.payment.monthly).toEqual({ limitMinor: 8_000n, usedMinor: 1_200n, remainingMinor: 6_800n });
    expectRefused(await payAtTill(customer, 3_801n), 'daily', '3800');
  });

  it('the 30-day limit holds after the daily window has passed', async () => {
    const customer = await basicCustomer(20_000n);
    const started = h.clock.now;
    try {
      expect(await payAtTill(customer, 4_000n)).toMatchObject({ status: 'COMPLETED' });
      h.clock.now = new Date(started.getTime() + 25 * 3_600_000);
      expect(await payAtTill(customer, 4_000n)).toMatchObject({ status: 'COMPLETED' });
      expectRefused(await payAtTill(customer, 1n), 'monthly', '0');
      expect(await balanceOf(h.ledger, customer.walletAccountId)).toBe(12_000n);
    } finally {
      h.clock.now = started;
    }
  });
});
