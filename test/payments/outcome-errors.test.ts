/**
 * One mapping from outcome to error for every surface (outcomes.ts): a frozen wallet, a ledger refusal
 * that is neither the balance nor the wallet, and a kill switch each answer their own code on the signed
 * till API, the OPA API and the wallet's QR payments — not a risk refusal — and move no money.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiCredential } from '../../src/merchants/credentials.ts';
import type { CustomerContext } from '../../src/payments/context.ts';
import { buildStaticQrPayload } from '../../src/payments/emvco.ts';
import { CANCEL, CUSTOMER_CODE_PAYMENT, CUSTOMER_CODE_SETTLE_ALONE, DYNAMIC_QR_PAYMENT, REFUND, STATIC_QR_PAYMENT } from '../../src/payments/pipeline.ts';
import { expectLedgerConsistent } from '../ledger/fixtures.ts';
import { balanceOf, createCustomer } from './customer-fixtures.ts';
import { createTestMerchant } from './merchant-fixtures.ts';
import { opa, resultCode, startHarness, testSwitches, type Harness } from './support.ts';

const switches = testSwitches();
let h: Harness;
beforeAll(async () => {
  h = await startHarness({ switches, env: { KOBAN_STRONG_CONFIRMATION_ABOVE: '1000000' } });
});
afterAll(async () => {
  await expectLedgerConsistent(h.db);
  await h.close();
});

let seq = 0;
const id = (prefix: string) => `${prefix}-${Date.now()}-${seq++}`;

function tillBody(code: string, amount: number, merchant = h.merchant) {
  return { merchantPaymentId: id('till'), code, amount: { amount, currency: 'JPY' }, storeId: merchant.storeId, terminalId: merchant.terminalIds[0] };
}

async function orderQr(amount: number): Promise<string> {
  const response = await opa(h, { method: 'POST', url: '/v2/codes', body: { merchantPaymentId: id('order'), amount: { amount, currency: 'JPY' }, codeType: 'ORDER_QR' } });
  return response.json().data.codeId as string;
}

const storeQr = () => buildStaticQrPayload({ merchantId: h.merchant.merchantId, storeId: h.merchant.storeId, categoryCode: '5411', merchantName: 'Test Shop', merchantCity: 'Chiyoda-ku', postalCode: '100-0001' });

async function frozenCustomerWithCode(balance: bigint): Promise<{ customer: CustomerContext; code: string }> {
  const customer = await createCustomer(h.db, h.ledger, balance);
  const code = (await h.module.payments.mintPaymentCode(customer)).code;
  await h.ledger.setAccountStatus(customer.walletAccountId, 'frozen');
  return { customer, code };
}

describe('one outcome → error mapping on every surface', () => {
  it('a frozen wallet answers WALLET_FROZEN at the signed till API (not UNACCEPTABLE_OP) and wallet_frozen on both QR payments; nothing moves', async () => {
    const { customer, code } = await frozenCustomerWithCode(5_000n);
    const till = await opa(h, { method: 'POST', url: '/v2/till/payments', body: tillBody(code, 1_000) });
    expect(resultCode(till)).toBe('WALLET_FROZEN');
    await expect(h.module.payments.payDynamicQr(customer, await orderQr(1_000))).rejects.toMatchObject({ code: 'wallet_frozen' });
    await expect(h.module.payments.payStaticQr(customer, storeQr(), 1_000n)).rejects.toMatchObject({ code: 'wallet_frozen' });
    expect(await balanceOf(h.ledger, customer.walletAccountId)).toBe(5_000n);
  });

  it('insufficient funds answers NO_SUFFICIENT_FUND at the till and insufficient_funds on both QR payments', async () => {
    const customer = await createCustomer(h.db, h.ledger, 100n);
    const code = (await h.module.payments.mintPaymentCode(customer)).code;
    expect(resultCode(await opa(h, { method: 'POST', url: '/v2/till/payments', body: tillBody(code, 1_000) }))).toBe('NO_SUFFICIENT_FUND');
    await expect(h.module.payments.payDynamicQr(customer, await orderQr(1_000))).rejects.toMatchObject({ code: 'insufficient_funds' });
    await expect(h.module.payments.payStaticQr(customer, storeQr(), 1_000n)).rejects.toMatchObject({ code: 'insufficient_funds' });
    expect(await balanceOf(h.ledger, customer.walletAccountId)).toBe(100n);
  });

  it('another ledger refusal (the merchant\'s receivable closed) answers PAYMENT_FAILED, not a risk refusal', async () => {
    const other = await createTestMerchant(h.db, h.ledger);
    const otherKey = await createApiCredential(h.db, h.module.box, { merchantId: other.merchantId });
    await h.ledger.setAccountStatus(other.receivableAccountId, 'closed');
    const customer = await createCustomer(h.db, h.ledger, 5_000n);
    const code = (await h.module.payments.mintPaymentCode(customer)).code;
    const response = await opa(h, { method: 'POST', url: '/v2/till/payments', credential: otherKey, body: tillBody(code, 1_000, other) });
    expect(resultCode(response)).toBe('PAYMENT_FAILED');
    expect(await balanceOf(h.ledger, customer.walletAccountId)).toBe(5_000n);
  });

  it('a switched-off service answers MAINTENANCE_MODE on the till API, refunds and cancels alike, and a repeat still answers what happened', async () => {
    const customer = await createCustomer(h.db, h.ledger, 5_000n);
    const paid = tillBody((await h.module.payments.mintPaymentCode(customer)).code, 1_000);
    const first = await opa(h, { method: 'POST', url: '/v2/till/payments', body: paid });
    expect(resultCode(first)).toBe('SUCCESS');
    switches.off.add('payments').add('refunds');
    try {
      const code = (await h.module.payments.mintPaymentCode(customer)).code;
      expect(resultCode(await opa(h, { method: 'POST', url: '/v2/till/payments', body: tillBody(code, 100) }))).toBe('MAINTENANCE_MODE');
      const refund = { merchantRefundId: id('refund'), paymentId: first.json().data.paymentId, amount: { amount: 100, currency: 'JPY' } };
      expect(resultCode(await opa(h, { method: 'POST', url: '/v2/refunds', body: refund }))).toBe('MAINTENANCE_MODE');
      expect(resultCode(await opa(h, { method: 'DELETE', url: `/v2/payments/${paid.merchantPaymentId}` }))).toBe('MAINTENANCE_MODE');
      await expect(h.module.payments.payStaticQr(customer, storeQr(), 100n)).rejects.toMatchObject({ code: 'service_switched_off' });
      const repeat = await opa(h, { method: 'POST', url: '/v2/till/payments', body: paid });
      expect(repeat.json().data).toMatchObject({ paymentId: first.json().data.paymentId, status: 'COMPLETED' });
    } finally {
      switches.off.clear();
    }
    expect(await balanceOf(h.ledger, customer.walletAccountId)).toBe(4_000n);
  });
});

describe('the pipeline tables', () => {
  it('run the replay check before the switches and the claim before moving money, in every table', () => {
    // The group commit's step does the claim, the move and the record in one transaction, in the order of the table it falls back to.
    // A payment its customer must confirm waits after its claim, before any money moves.
    expect(CUSTOMER_CODE_SETTLE_ALONE.map((s) => s.name)).toEqual(['claim code', 'wait for the customer (above the confirmation amount or when risk asks)', 'choose accounts', 'move money', 'record']);
    for (const steps of [CUSTOMER_CODE_PAYMENT, DYNAMIC_QR_PAYMENT, STATIC_QR_PAYMENT, REFUND]) {
      const names = steps.flatMap((s) => (s.name.includes('(group commit)') ? CUSTOMER_CODE_SETTLE_ALONE.map((alone) => alone.name) : [s.name]));
      const at = (prefix: string) => names.findIndex((n) => n.startsWith(prefix));
      expect(at('replay check')).toBeGreaterThanOrEqual(0);
      expect(at('replay check')).toBeLessThan(at('switches'));
      expect(at('switches')).toBeLessThan(at('move money'));
      expect(names.findIndex((n) => n.includes('claim'))).toBeLessThan(at('move money'));
      expect(at('move money')).toBeLessThan(at('record'));
      expect(names.at(-1)).toBe('answer');
    }
    expect(CANCEL.map((s) => s.name).at(-1)).toBe('answer');
  });
});
