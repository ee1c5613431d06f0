/** Steps 4–6: OPA-compatible dynamic QR, payment details, cancel, refunds — and their abuse cases. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiCredential } from '../../src/merchants/credentials.ts';
import type { CustomerContext } from '../../src/payments/context.ts';
import { PLATFORM_ACCOUNTS } from '../../src/ledger/platform-accounts.ts';
import { expectLedgerConsistent } from '../ledger/fixtures.ts';
import { balanceOf, createCustomer } from './customer-fixtures.ts';
import { createTestMerchant } from './merchant-fixtures.ts';
import { opa, resultCode, startHarness, type Harness } from './support.ts';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ env: { KOBAN_STRONG_CONFIRMATION_ABOVE: '1000000' } });
});
afterAll(async () => {
  await expectLedgerConsistent(h.db);
  await h.close();
});

let seq = 0;
const id = (prefix: string) => `${prefix}-${Date.now()}-${seq++}`;

async function createQr(amount: number, merchantPaymentId = id('order')) {
  const response = await opa(h, { method: 'POST', url: '/v2/codes', body: { merchantPaymentId, amount: { amount, currency: 'JPY' }, codeType: 'ORDER_QR', orderDescription: 'コーヒー ☕' } });
  return { response, merchantPaymentId, data: response.json().data };
}

async function paidOrder(customer: CustomerContext, amount: number) {
  const { merchantPaymentId, data } = await createQr(amount);
  const payment = await h.module.payments.payDynamicQr(customer, data.codeId);
  return { merchantPaymentId, paymentId: payment.id, codeId: data.codeId as string };
}

const refund = (paymentId: string, amount: unknown, merchantRefundId = id('refund')) =>
  opa(h, { method: 'POST', url: '/v2/refunds', body: { merchantRefundId, paymentId, amount: { amount, currency: 'JPY' }, requestedAt: Math.floor(Date.now() / 1000) } });

describe('dynamic QR (POST /v2/codes, DELETE /v2/codes/{codeId}, GET /v2/codes/payments/{id})', () => {
  it('creates a code (201), is idempotent by merchantPaymentId, and refuses a changed repeat', async () => {
    const { response, merchantPaymentId, data } = await createQr(480);
    expect(response.statusCode).toBe(201);
    expect(data).toMatchObject({ merchantPaymentId, amount: { amount: 480, currency: 'JPY' }, codeType: 'ORDER_QR', orderDescription: 'コーヒー ☕' });
    expect(data.codeId).toMatch(/^kq_/);
    expect(data.expiryDate).toBeGreaterThan(Math.floor(Date.now() / 1000));
    const again = await createQr(480, merchantPaymentId);
    expect(again.data.codeId).toBe(data.codeId);
    const changed = await createQr(481, merchantPaymentId);
    expect(resultCode(changed.response)).toBe('DUPLICATE_DYNAMIC_QR_REQUEST');
  });

  it('shows CREATED until paid, COMPLETED after; another merchant cannot read it', async () => {
    const customer = await createCustomer(h.db, h.ledger, 5_000n);
    const { merchantPaymentId, data } = await createQr(1_200);
    const before = await opa(h, { method: 'GET', url: `/v2/codes/payments/${merchantPaymentId}` });
    expect(before.json().data.status).toBe('CREATED');
    await h.module.payments.payDynamicQr(customer, data.codeId);
    const after = await opa(h, { method: 'GET', url: `/v2/codes/payments/${merchantPaymentId}` });
    expect(after.json().data).toMatchObject({ status: 'COMPLETED', amount: { amount: 1_200 } });
    expect(await balanceOf(h.ledger, customer.walletAccountId)).toBe(3_800n);
    const other = await createTestMerchant(h.db, h.ledger);
    const otherKey = await createApiCredential(h.db, h.module.box, { merchantId: other.merchantId });
    expect(resultCode(await opa(h, { method: 'GET', url: `/v2/codes/payments/${merchantPaymentId}`, credential: otherKey }))).toBe('DYNAMIC_QR_PAYMENT_NOT_FOUND');
    expect(resultCode(await opa(h, { method: 'GET', url: `/v2/payments/${merchantPaymentId}`, credential: otherKey }))).toBe('RESOURCE_NOT_FOUND');
  });

  it('a deleted code cannot be paid; its payment is not found', async () => {
    const customer = await createCustomer(h.db, h.ledger, 5_000n);
    const { merchantPaymentId, data } = await createQr(300);
    const deleted = await opa(h, { method: 'DELETE', url: `/v2/codes/${data.codeId}` });
    expect(deleted.json()).toMatchObject({ resultInfo: { code: 'SUCCESS' }, data: { qrStatus: 'DELETED' } });
    await expect(h.module.payments.payDynamicQr(customer, data.codeId)).rejects.toMatchObject({ code: 'dynamic_qr_unavailable' });
    expect(resultCode(await opa(h, { method: 'GET', url: `/v2/codes/payments/${merchantPaymentId}` }))).toBe('DYNAMIC_QR_PAYMENT_NOT_FOUND');
    expect(resultCode(await opa(h, { method: 'DELETE', url: '/v2/codes/kq_doesnotexist00' }))).toBe('DYNAMIC_QR_NOT_FOUND');
    expect(await balanceOf(h.ledger, customer.walletAccountId)).toBe(5_000n);
  });

  it('an expired code cannot be paid and its payment is not found', async () => {
    const customer = await createCustomer(h.db, h.ledger, 5_000n);
    const { merchantPaymentId, data } = await createQr(300);
    h.clock.now = new Date(Date.now() + 301_000);
    try {
      await expect(h.module.payments.payDynamicQr(customer, data.codeId)).rejects.toMatchObject({ code: 'dynamic_qr_expired' });
      expect(resultCode(await opa(h, { method: 'GET', url: `/v2/codes/payments/${merchantPaymentId}` }))).toBe('DYNAMIC_QR_PAYMENT_NOT_FOUND');
    } finally {
      h.clock.now = new Date();
    }
    expect(await balanceOf(h.ledger, customer.walletAccountId)).toBe(5_000n);
  });

  it('refuses bad amounts and missing fields in the resultInfo envelope, creating nothing', async () => {
    for (const amount of [-1, 0, '480', 999_999_999_999]) {
      const { response } = await createQr(amount as number);
      expect(resultCode(response)).toBe('INVALID_PARAMS');
    }
    const missing = await opa(h, { method: 'POST', url: '/v2/codes', body: { amount: { amount: 1, currency: 'JPY' }, codeType: 'ORDER_QR' } });
    expect(resultCode(missing)).toBe('MISSING_REQUEST_PARAMS');
    expect(missing.headers['content-type']).toMatch(/^application\/json/);
  });

  it('two customers paying one order QR at once: exactly one pays', async () => {
    const customers = await Promise.all(Array.from({ length: 4 }, () => createCustomer(h.db, h.ledger, 2_000n)));
    const { data } = await createQr(1_000);
    const results = await Promise.allSettled(customers.map((c) => h.module.payments.payDynamicQr(c, data.codeId)));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const balances = await Promise.all(customers.map((c) => balanceOf(h.ledger, c.walletAccountId)));
    expect(balances.sort()).toEqual([1_000n, 2_000n, 2_000n, 2_000n].sort());
  });
});

describe('refunds (POST /v2/refunds, GET /v2/refunds/{merchantRefundId})', () => {
  it('refunds partially, then the rest, returning the fee share; the payment ends REFUNDED', async () => {
    const customer = await createCustomer(h.db, h.ledger, 10_000n);
    const feeBefore = await balanceOf(h.ledger, PLATFORM_ACCOUNTS.feeRevenue);
    const { merchantPaymentId, paymentId } = await paidOrder(customer, 10_000);
    expect(await balanceOf(h.ledger, PLATFORM_ACCOUNTS.feeRevenue) - feeBefore).toBe(198n);
    const first = await refund(paymentId, 3_000, 'r-part-1');
    expect(first.json()).toMatchObject({ resultInfo: { code: 'SUCCESS' }, data: { status: 'REFUNDED', merchantRefundId: 'r-part-1', paymentId, amount: { amount: 3_000 } } });
    expect((await opa(h, { method: 'GET', url: '/v2/refunds/r-part-1' })).json().data.status).toBe('REFUNDED');
    expect((await refund(paymentId, 7_000, 'r-part-2')).json().data.status).toBe('REFUNDED');
    expect(await balanceOf(h.ledger, customer.walletAccountId)).toBe(10_000n);
    expect(await balanceOf(h.ledger, PLATFORM_ACCOUNTS.feeRevenue)).toBe(feeBefore);
    const details = (await opa(h, { method: 'GET', url: `/v2/payments/${merchantPaymentId}` })).json().data;
    expect(details.status).toBe('REFUNDED');
    expect(details.refunds.data).toHaveLength(2);
  });

  it('is idempotent by merchantRefundId: a changed repeat answers the earlier refund (PayPay), another payment is refused', async () => {
    const customer = await createCustomer(h.db, h.ledger, 2_000n);
    const { paymentId } = await paidOrder(customer, 1_000);
    const refundId = id('r-idem');
    await refund(paymentId, 100, refundId);
    await refund(paymentId, 100, refundId);
    expect(await balanceOf(h.ledger, customer.walletAccountId)).toBe(1_100n);
    const changed = await refund(paymentId, 200, refundId);
    expect(changed.json()).toMatchObject({ resultInfo: { code: 'SUCCESS' }, data: { merchantRefundId: refundId, paymentId, amount: { amount: 100 }, status: 'REFUNDED' } });
    const other = await paidOrder(customer, 500);
    expect(resultCode(await refund(other.paymentId, 100, refundId))).toBe('DUPLICATE_REFUND_REQUEST');
    expect(await balanceOf(h.ledger, customer.walletAccountId)).toBe(600n);
  });

  it('refuses a refund above what is left, and bad amounts, moving nothing', async () => {
    const customer = await createCustomer(h.db, h.ledger, 1_000n);
    const { paymentId } = await paidOrder(customer, 800);
    await refund(paymentId, 500);
    expect(resultCode(await refund(paymentId, 301))).toBe('INVALID_PARAMS');
    for (const amount of [0, -5, '10', 1.5]) expect(resultCode(await refund(paymentId, amount))).toBe('INVALID_PARAMS');
    expect(await balanceOf(h.ledger, customer.walletAccountId)).toBe(700n);
  });

  it('racing refunds never exceed the amount paid', async () => {
    const customer = await createCustomer(h.db, h.ledger, 1_000n);
    const { paymentId } = await paidOrder(customer, 1_000);
    const results = await Promise.all(Array.from({ length: 10 }, () => refund(paymentId, 300)));
    const codes = results.map(resultCode);
    expect(codes.filter((c) => c === 'SUCCESS')).toHaveLength(3);
    expect(codes.filter((c) => c === 'INVALID_PARAMS')).toHaveLength(7);
    expect(await balanceOf(h.ledger, customer.walletAccountId)).toBe(900n);
  });

  it('refuses refunding another merchant\'s payment and reading another merchant\'s refund', async () => {
    const customer = await createCustomer(h.db, h.ledger, 1_000n);
    const { paymentId } = await paidOrder(customer, 500);
    const refundId = id('r-own');
    await refund(paymentId, 100, refundId);
    const other = await createTestMerchant(h.db, h.ledger);
    const otherKey = await createApiCredential(h.db, h.module.box, { merchantId: other.merchantId });
    const stolen = await opa(h, { method: 'POST', url: '/v2/refunds', credential: otherKey, body: { merchantRefundId: id('r-steal'), paymentId, amount: { amount: 100, currency: 'JPY' } } });
    expect(resultCode(stolen)).toBe('RESOURCE_NOT_FOUND');
    expect(resultCode(await opa(h, { method: 'GET', url: `/v2/refunds/${refundId}`, credential: otherKey }))).toBe('NO_SUCH_REFUND_ORDER');
    expect(await balanceOf(h.ledger, customer.walletAccountId)).toBe(600n);
  });
});

describe('cancel (DELETE /v2/payments/{merchantPaymentId})', () => {
  it('cancels within the day\'s window: the customer gets back what was not refunded, the merchant its fee', async () => {
    const customer = await createCustomer(h.db, h.ledger, 5_000n);
    const feeBefore = await balanceOf(h.ledger, PLATFORM_ACCOUNTS.feeRevenue);
    const { merchantPaymentId, paymentId } = await paidOrder(customer, 5_000);
    await refund(paymentId, 1_000);
    const canceled = await opa(h, { method: 'DELETE', url: `/v2/payments/${merchantPaymentId}` });
    expect(canceled.statusCode).toBe(202);
    expect(resultCode(canceled)).toBe('REQUEST_ACCEPTED');
    expect(await balanceOf(h.ledger, customer.walletAccountId)).toBe(5_000n);
    expect(await balanceOf(h.ledger, PLATFORM_ACCOUNTS.feeRevenue)).toBe(feeBefore);
    // PayPay reports a cancelled instant payment as FAILED.
    expect((await opa(h, { method: 'GET', url: `/v2/payments/${merchantPaymentId}` })).json().data.status).toBe('FAILED');
    // A repeat cancel changes nothing; a refund after a cancel is refused.
    expect(resultCode(await opa(h, { method: 'DELETE', url: `/v2/payments/${merchantPaymentId}` }))).toBe('REQUEST_ACCEPTED');
    expect(resultCode(await refund(paymentId, 10))).toBe('ORDER_NOT_REVERSIBLE');
    expect(await balanceOf(h.ledger, customer.walletAccountId)).toBe(5_000n);
  });

  it('refuses a cancel after the window (ORDER_NOT_REVERSIBLE) and moves nothing', async () => {
    const customer = await createCustomer(h.db, h.ledger, 5_000n);
    const { merchantPaymentId } = await paidOrder(customer, 2_000);
    h.clock.now = new Date(Date.now() + 25 * 3600 * 1000);
    try {
      expect(resultCode(await opa(h, { method: 'DELETE', url: `/v2/payments/${merchantPaymentId}` }))).toBe('ORDER_NOT_REVERSIBLE');
    } finally {
      h.clock.now = new Date();
    }
    expect(await balanceOf(h.ledger, customer.walletAccountId)).toBe(3_000n);
  });

  it('cancels an unpaid order: its QR stops working', async () => {
    const customer = await createCustomer(h.db, h.ledger, 5_000n);
    const { merchantPaymentId, data } = await createQr(100);
    expect(resultCode(await opa(h, { method: 'DELETE', url: `/v2/payments/${merchantPaymentId}` }))).toBe('REQUEST_ACCEPTED');
    await expect(h.module.payments.payDynamicQr(customer, data.codeId)).rejects.toMatchObject({ code: 'dynamic_qr_unavailable' });
  });
});
