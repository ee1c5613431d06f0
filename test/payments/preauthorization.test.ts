/**
 * Pre-authorisation (issue 15, src/payments/authorizations.ts) through the OPA listener on real PostgreSQL:
 * an order QR with isAuthorization, paid from the wallet, holds the money (a ledger pending transfer); capture
 * (full, partial), revert, expiry (the ledger's clock), races and repeats, webhooks in both formats.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiCredential } from '../../src/merchants/credentials.ts';
import { setMerchantStatus } from '../../src/merchants/onboarding.ts';
import { setStoreStatus } from '../../src/merchants/stores.ts';
import { availableBalance } from '../../src/ledger/types.ts';
import { PLATFORM_ACCOUNTS } from '../../src/ledger/platform-accounts.ts';
import { testCustomerHeader } from '../../src/payments/test-support/header-authenticator.ts';
import type { CustomerContext } from '../../src/payments/context.ts';
import { renderDelivery } from '../../src/payments/webhooks/render.ts';
import { expectLedgerConsistent } from '../ledger/fixtures.ts';
import { createCustomer } from './customer-fixtures.ts';
import { createTestMerchant } from './merchant-fixtures.ts';
import { opa, resultCode, startHarness, type Harness } from './support.ts';

let h: Harness;
let seq = 0;
const FEE_BPS = 198n;
const fee = (amount: bigint) => (amount * FEE_BPS) / 10_000n;
const jpy = (n: number | bigint) => ({ amount: Number(n), currency: 'JPY' });

beforeAll(async () => {
  h = await startHarness({ customerRoutes: true, hooks: { requireStrongConfirmation: async () => true } });
});
afterAll(async () => {
  // Money is never created or lost: every total recomputed from the transfers (koban ledger verify).
  await expectLedgerConsistent(h.db);
  await h.close();
});

async function account(id: string) {
  const found = await h.ledger.getAccount(id);
  if (found === null) throw new Error(`no account ${id}`);
  return found;
}

/** An order QR with isAuthorization, paid by a new customer holding `balance`: the AUTHORIZED payment. */
async function authorize(amount: bigint, balance: bigint, extra: Record<string, unknown> = {}): Promise<{ customer: CustomerContext; merchantPaymentId: string; paymentId: string }> {
  seq += 1;
  const merchantPaymentId = `auth-${seq}-${Date.now()}`;
  const created = await opa(h, { method: 'POST', url: '/v2/codes', body: { merchantPaymentId, amount: jpy(amount), codeType: 'ORDER_QR', isAuthorization: true, ...extra } });
  expect(created.statusCode).toBe(201);
  expect(created.json().data).toMatchObject({ isAuthorization: true, authorizationExpiry: expect.any(Number) });
  const customer = await createCustomer(h.db, h.ledger, balance);
  if (h.app === null) throw new Error('customer routes not mounted');
  const paid = await h.app.inject({ method: 'POST', url: `/v1/wallet/qr/${String(created.json().data.codeId)}/pay`, headers: testCustomerHeader(customer) });
  expect(paid.statusCode).toBe(200);
  expect(paid.json()).toMatchObject({ status: 'AUTHORIZED' });
  return { customer, merchantPaymentId, paymentId: String(paid.json().paymentId) };
}

const capture = (merchantPaymentId: string, merchantCaptureId: string, amount: bigint, orderDescription = 'final bill') =>
  opa(h, { method: 'POST', url: '/v2/payments/capture', body: { merchantPaymentId, merchantCaptureId, amount: jpy(amount), requestedAt: Math.floor(Date.now() / 1000), orderDescription } });
const revert = (paymentId: string, merchantRevertId: string, reason = 'guest left') =>
  opa(h, { method: 'POST', url: '/v2/payments/preauthorize/revert', body: { merchantRevertId, paymentId, requestedAt: Math.floor(Date.now() / 1000), reason } });
const details = async (merchantPaymentId: string) => (await opa(h, { method: 'GET', url: `/v2/payments/${merchantPaymentId}` })).json().data;

describe('authorising an order QR', () => {
  it('holds the money: the wallet cannot spend it, the merchant does not have it, the payment is AUTHORIZED with its expiry', async () => {
    const receivableBefore = await account(h.merchant.receivableAccountId);
    const { customer, merchantPaymentId } = await authorize(4_000n, 5_000n);
    const wallet = await account(customer.walletAccountId);
    expect([wallet.debitsPosted, wallet.debitsPending, availableBalance(wallet)]).toEqual([0n, 4_000n, 1_000n]);
    const receivable = await account(h.merchant.receivableAccountId);
    expect(receivable.creditsPosted).toBe(receivableBefore.creditsPosted);
    expect(receivable.creditsPending - receivableBefore.creditsPending).toBe(4_000n);
    const view = await details(merchantPaymentId);
    expect(view).toMatchObject({ status: 'AUTHORIZED', amount: { amount: 4_000 }, authorizedAmount: { amount: 4_000 }, capturedAmount: null, acceptedAt: null });
    expect(view.expiresAt).toBeGreaterThan(Math.floor(Date.now() / 1000));
    expect(view.authorizedAt).toEqual(expect.any(Number));
    const listed = await opa(h, { method: 'GET', url: '/v2/payments?status=AUTHORIZED' });
    expect(listed.json().data.payments.map((p: { merchantPaymentId: string }) => p.merchantPaymentId)).toContain(merchantPaymentId);
  });

  it('refuses an authorisation expiry beyond the limit or in the past, and makes no order', async () => {
    const now = Math.floor(Date.now() / 1000);
    for (const authorizationExpiry of [now + 8 * 24 * 3600, now - 10]) {
      const response = await opa(h, { method: 'POST', url: '/v2/codes', body: { merchantPaymentId: `bad-expiry-${authorizationExpiry}`, amount: jpy(100), codeType: 'ORDER_QR', isAuthorization: true, authorizationExpiry } });
      expect([response.statusCode, resultCode(response)]).toEqual([400, 'PRE_AUTH_CAPTURE_INVALID_EXPIRY_DATE']);
      expect(resultCode(await opa(h, { method: 'GET', url: `/v2/payments/bad-expiry-${authorizationExpiry}` }))).toBe('RESOURCE_NOT_FOUND');
    }
  });

  it('answers wallet-initiated pre-authorisation with the documented unsupported code', async () => {
    const response = await opa(h, { method: 'POST', url: '/v2/payments/preauthorize', body: { merchantPaymentId: 'direct-1', userAuthorizationId: 'x', amount: jpy(100), requestedAt: 1 } });
    expect([response.statusCode, resultCode(response)]).toEqual([400, 'PRE_AUTH_CAPTURE_UNSUPPORTED_MERCHANT']);
  });
});

describe('capture', () => {
  it('captures in full: the money and the fee move, a repeat answers the same, a changed repeat is a duplicate, then it refunds as any payment', async () => {
    const { customer, merchantPaymentId, paymentId } = await authorize(3_000n, 3_000n);
    const receivableBefore = await account(h.merchant.receivableAccountId);
    const captured = await capture(merchantPaymentId, `cap-${merchantPaymentId}`, 3_000n);
    expect([captured.statusCode, resultCode(captured)]).toEqual([200, 'SUCCESS']);
    expect(captured.json().data).toMatchObject({ paymentId, status: 'COMPLETED', amount: { amount: 3_000 }, capturedAmount: { amount: 3_000 }, merchantCaptureId: `cap-${merchantPaymentId}` });
    const wallet = await account(customer.walletAccountId);
    expect([wallet.debitsPosted, wallet.debitsPending]).toEqual([3_000n, 0n]);
    const receivable = await account(h.merchant.receivableAccountId);
    expect(receivable.creditsPosted - receivable.debitsPosted - (receivableBefore.creditsPosted - receivableBefore.debitsPosted)).toBe(3_000n - fee(3_000n));

    const again = await capture(merchantPaymentId, `cap-${merchantPaymentId}`, 3_000n);
    expect([resultCode(again), again.json().data.status, again.json().data.paymentId]).toEqual(['SUCCESS', 'COMPLETED', paymentId]);
    const changed = await capture(merchantPaymentId, `cap-${merchantPaymentId}`, 2_000n);
    expect(resultCode(changed)).toBe('DUPLICATE_PAYMENT_REQUEST');
    const second = await capture(merchantPaymentId, `cap2-${merchantPaymentId}`, 1_000n);
    expect(resultCode(second)).toBe('ALREADY_CAPTURED');

    const refund = await opa(h, { method: 'POST', url: '/v2/refunds', body: { merchantRefundId: `ref-${merchantPaymentId}`, paymentId, amount: jpy(1_000) } });
    expect([resultCode(refund), refund.json().data.status]).toEqual(['SUCCESS', 'REFUNDED']);
    expect(availableBalance(await account(customer.walletAccountId))).toBe(1_000n);
  });

  it('captures in part: the fee is on the captured amount, the rest of the hold goes back to the wallet', async () => {
    const { customer, merchantPaymentId } = await authorize(10_000n, 12_000n);
    const receivableBefore = await account(h.merchant.receivableAccountId);
    const feeRevenueBefore = await account(PLATFORM_ACCOUNTS.feeRevenue);
    const captured = await capture(merchantPaymentId, `cap-${merchantPaymentId}`, 6_000n);
    expect(captured.json().data).toMatchObject({ status: 'COMPLETED', amount: { amount: 6_000 }, authorizedAmount: { amount: 10_000 } });
    const wallet = await account(customer.walletAccountId);
    expect([wallet.debitsPosted, wallet.debitsPending, availableBalance(wallet)]).toEqual([6_000n, 0n, 6_000n]);
    const receivable = await account(h.merchant.receivableAccountId);
    expect(receivable.creditsPending - receivableBefore.creditsPending).toBe(-10_000n);
    expect(receivable.creditsPosted - receivable.debitsPosted - (receivableBefore.creditsPosted - receivableBefore.debitsPosted)).toBe(6_000n - fee(6_000n));
    const feeRevenue = await account(PLATFORM_ACCOUNTS.feeRevenue);
    expect(feeRevenue.creditsPosted - feeRevenueBefore.creditsPosted).toBe(fee(6_000n));
    const stored = await h.db.pool.query<{ amount_minor: bigint; fee_minor: bigint; business_date: string | null }>('select amount_minor, fee_minor, business_date from payments where merchant_payment_id = $1', [merchantPaymentId]);
    expect(stored.rows[0]).toMatchObject({ amount_minor: 6_000n, fee_minor: fee(6_000n), business_date: expect.any(String) });
  });

  it('refuses a capture above the authorised amount and moves nothing', async () => {
    const { customer, merchantPaymentId } = await authorize(1_000n, 2_000n);
    const response = await capture(merchantPaymentId, `cap-${merchantPaymentId}`, 1_001n);
    expect(resultCode(response)).toBe('INVALID_PARAMS');
    expect((await details(merchantPaymentId)).status).toBe('AUTHORIZED');
    expect((await account(customer.walletAccountId)).debitsPending).toBe(1_000n);
  });

  it('double capture race with one merchantCaptureId: one capture happens, both answer it', async () => {
    const { customer, merchantPaymentId, paymentId } = await authorize(5_000n, 5_000n);
    const racing = await Promise.all(Array.from({ length: 6 }, () => capture(merchantPaymentId, `cap-${merchantPaymentId}`, 4_000n)));
    expect(racing.map((r) => [resultCode(r), r.json().data?.paymentId, r.json().data?.status])).toEqual(Array(6).fill(['SUCCESS', paymentId, 'COMPLETED']));
    const wallet = await account(customer.walletAccountId);
    expect([wallet.debitsPosted, wallet.debitsPending]).toEqual([4_000n, 0n]);
    const events = await h.db.pool.query<{ type: string }>('select type from webhook_events where order_key = $1 order by seq', [paymentId]);
    expect(events.rows.map((r) => r.type)).toEqual(['payment.authorized', 'payment.completed']);
  });

  it('a capture racing another capture id and a revert: exactly one decision, the others hear it', async () => {
    const { customer, merchantPaymentId, paymentId } = await authorize(2_000n, 2_000n);
    const [a, b, r] = await Promise.all([
      capture(merchantPaymentId, `capA-${merchantPaymentId}`, 2_000n), capture(merchantPaymentId, `capB-${merchantPaymentId}`, 1_500n), revert(paymentId, `rev-${merchantPaymentId}`),
    ]);
    const codes = [resultCode(a), resultCode(b), resultCode(r)];
    expect(codes.filter((c) => c === 'SUCCESS')).toHaveLength(1);
    const wallet = await account(customer.walletAccountId);
    expect(wallet.debitsPending).toBe(0n);
    const winner = codes.indexOf('SUCCESS');
    expect(wallet.debitsPosted).toBe([2_000n, 1_500n, 0n][winner]);
    expect(codes.filter((c) => c !== 'SUCCESS').every((c) => ['ALREADY_CAPTURED', 'ORDER_NOT_CAPTURABLE', 'ORDER_NOT_CANCELABLE'].includes(c))).toBe(true);
  });

  it('a capture is scoped to the merchant: another merchant cannot capture or revert this authorisation', async () => {
    const { customer, merchantPaymentId, paymentId } = await authorize(700n, 700n);
    const other = await createTestMerchant(h.db, h.ledger);
    const credential = await createApiCredential(h.db, h.module.box, { merchantId: other.merchantId });
    const stolen = await opa(h, { method: 'POST', url: '/v2/payments/capture', credential, body: { merchantPaymentId, merchantCaptureId: 'steal', amount: jpy(700) } });
    expect(resultCode(stolen)).toBe('RESOURCE_NOT_FOUND');
    const reverted = await opa(h, { method: 'POST', url: '/v2/payments/preauthorize/revert', credential, body: { merchantRevertId: 'steal', paymentId } });
    expect(resultCode(reverted)).toBe('RESOURCE_NOT_FOUND');
    expect((await account(customer.walletAccountId)).debitsPending).toBe(700n);
  });
});

describe('revert', () => {
  it('releases the hold (CANCELED), answers a repeat the same, and a capture after it is refused with nothing moved', async () => {
    const { customer, merchantPaymentId, paymentId } = await authorize(2_500n, 3_000n);
    const reverted = await revert(paymentId, `rev-${merchantPaymentId}`);
    expect([resultCode(reverted), reverted.json().data.status, reverted.json().data.paymentId]).toEqual(['SUCCESS', 'CANCELED', paymentId]);
    expect(availableBalance(await account(customer.walletAccountId))).toBe(3_000n);
    expect(resultCode(await revert(paymentId, `rev-${merchantPaymentId}`))).toBe('SUCCESS');
    expect(resultCode(await revert(paymentId, `rev-${merchantPaymentId}`, 'another reason'))).toBe('DUPLICATE_PAYMENT_REQUEST');
    const late = await capture(merchantPaymentId, `cap-${merchantPaymentId}`, 2_500n);
    expect(resultCode(late)).toBe('ORDER_NOT_CAPTURABLE');
    const wallet = await account(customer.walletAccountId);
    expect([wallet.debitsPosted, wallet.debitsPending]).toEqual([0n, 0n]);
    expect(await details(merchantPaymentId)).toMatchObject({ status: 'CANCELED', acceptedAt: null, capturedAmount: null });
    // A cancel (DELETE) of an authorisation is not how it is released; of this reverted one it changes nothing.
    const { merchantPaymentId: open } = await authorize(100n, 100n);
    expect(resultCode(await opa(h, { method: 'DELETE', url: `/v2/payments/${open}` }))).toBe('ORDER_NOT_REVERSIBLE');
  });
});

describe('expiry', () => {
  /** Waits for the database clock (the ledger's) to pass a time: the event itself, with a generous bound. */
  async function untilDatabaseTimePasses(at: Date): Promise<void> {
    for (let i = 0; i < 300; i += 1) {
      const passed = await h.db.pool.query<{ passed: boolean }>('select now() > $1::timestamptz as passed', [at]);
      if (passed.rows[0]?.passed === true) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error('the database clock never passed the expiry');
  }

  it('the ledger releases an expired hold, the payment becomes EXPIRED with its event, and a capture is refused with nothing moved', async () => {
    const expiry = Math.floor(Date.now() / 1000) + 2;
    const swept = await authorize(900n, 1_000n, { authorizationExpiry: expiry });
    const unswept = await authorize(800n, 1_000n, { authorizationExpiry: expiry });
    // Each hold ends at its own whole-second timeout (at or just after the asked expiry): wait for the later one.
    const ends = await Promise.all([swept, unswept].map(async (a) => (await h.ledger.holdStatus(await holdId(a.paymentId)))?.expiresAt));
    if (ends[0] === undefined || ends[1] === undefined) throw new Error('no hold');
    const holdEnds = new Date(Math.max(ends[0].getTime(), ends[1].getTime()));
    expect(holdEnds.getTime()).toBeGreaterThanOrEqual(expiry * 1000);
    await untilDatabaseTimePasses(holdEnds);
    h.clock.now = new Date(Math.max(Date.now(), holdEnds.getTime() + 1));

    // The capture reaches the ledger after the hold's time passed but before any sweep: the ledger refuses it.
    const late = await capture(unswept.merchantPaymentId, `cap-${unswept.merchantPaymentId}`, 800n);
    expect([late.statusCode, resultCode(late)]).toEqual([400, 'ORDER_EXPIRED']);
    expect(await details(unswept.merchantPaymentId)).toMatchObject({ status: 'EXPIRED' });
    expect(resultCode(await capture(unswept.merchantPaymentId, `cap-${unswept.merchantPaymentId}`, 800n))).toBe('ORDER_EXPIRED');

    // The other is found by the maintenance loop's sweep.
    expect(await h.module.payments.expireAuthorizations()).toBeGreaterThanOrEqual(1);
    expect(await details(swept.merchantPaymentId)).toMatchObject({ status: 'EXPIRED' });
    for (const { customer } of [swept, unswept]) {
      const wallet = await account(customer.walletAccountId);
      expect([wallet.debitsPosted, wallet.debitsPending, availableBalance(wallet)]).toEqual([0n, 0n, 1_000n]);
    }
    const events = await h.db.pool.query<{ type: string }>('select type from webhook_events where order_key = $1 order by seq', [swept.paymentId]);
    expect(events.rows.map((r) => r.type)).toEqual(['payment.authorized', 'payment.expired']);
    expect(resultCode(await revert(swept.paymentId, `rev-${swept.merchantPaymentId}`))).toBe('ORDER_EXPIRED');
    h.clock.now = new Date();
  });

  async function holdId(paymentId: string): Promise<string> {
    const row = await h.db.pool.query<{ payment_transfer_id: string }>('select payment_transfer_id from payments where id = $1', [paymentId]);
    const id = row.rows[0]?.payment_transfer_id;
    if (id === undefined) throw new Error('no hold id');
    return id;
  }
});

describe('webhooks', () => {
  it("sends AUTHORIZED, then COMPLETED or CANCELED, in PayPay's flat format with authorized_at and expires_at", async () => {
    const captured = await authorize(1_200n, 1_200n);
    await capture(captured.merchantPaymentId, `cap-${captured.merchantPaymentId}`, 1_000n);
    const reverted = await authorize(600n, 600n);
    await revert(reverted.paymentId, `rev-${reverted.merchantPaymentId}`);
    const rendered = async (paymentId: string) => {
      const events = await h.db.pool.query<{ type: string; body: string }>('select type, body from webhook_events where order_key = $1 order by seq', [paymentId]);
      return Promise.all(events.rows.map(async (e) => JSON.parse((await renderDelivery(h.db.pool, 'paypay', e.type, e.body)) ?? 'null') as Record<string, unknown> | null));
    };
    const [authorized, completed] = await rendered(captured.paymentId);
    expect(authorized).toMatchObject({ notification_type: 'Transaction', state: 'AUTHORIZED', order_amount: '1200', merchant_order_id: captured.merchantPaymentId, paid_at: null });
    expect(authorized?.authorized_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(authorized?.expires_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(completed).toMatchObject({ state: 'COMPLETED', order_amount: '1000', authorized_at: authorized?.authorized_at });
    const revertedEvents = await rendered(reverted.paymentId);
    expect(revertedEvents.map((e) => e?.state)).toEqual(['AUTHORIZED', 'CANCELED']);
  });
});

describe('a suspended merchant cannot capture (issue 13: merchant containment on every surface)', () => {
  it('a colluding merchant suspended after the hold captures nothing, even by a retry; the payer\'s hold is still reverted; a store suspension bites too', async () => {
    const deps = { db: h.db, ledger: h.ledger, box: h.module.box, now: () => h.clock.now, fourEyesAboveMinor: 1_000_000n };
    const operator = { kind: 'operator' as const, id: 'operator-contain' };
    const captureNow = (merchantPaymentId: string, merchantCaptureId: string, amountMinor = 800n) => h.module.payments.captureAuthorization({
      merchantId: h.merchant.merchantId, merchantPaymentId, merchantCaptureId, amountMinor, orderDescription: 'final bill', requestedAt: null });
    const held = await authorize(1_000n, 1_000n);
    const onStore = await authorize(800n, 800n, { storeId: h.merchant.storeId });
    await setMerchantStatus(deps, h.merchant.merchantId, 'suspended', 'money converging from taken-over wallets', operator, null);
    try {
      await expect(captureNow(held.merchantPaymentId, `cap-s-${held.merchantPaymentId}`)).rejects.toMatchObject({ code: 'merchant_not_active' });
      await expect(captureNow(held.merchantPaymentId, `cap-s-${held.merchantPaymentId}`)).rejects.toMatchObject({ code: 'merchant_not_active' });
      const wallet = await account(held.customer.walletAccountId);
      expect([wallet.debitsPosted, wallet.debitsPending]).toEqual([0n, 1_000n]);
      // Releasing the payer's own money is never blocked by a suspension.
      const reverted = await h.module.payments.revertAuthorization({ merchantId: h.merchant.merchantId, merchantRevertId: `rev-s-${held.merchantPaymentId}`, paymentId: held.paymentId, reason: 'suspended', requestedAt: null });
      expect(reverted.status).toBe('CANCELED');
      expect(availableBalance(await account(held.customer.walletAccountId))).toBe(1_000n);
    } finally {
      await setMerchantStatus(deps, h.merchant.merchantId, 'active', 'checked with the owner', operator, null);
    }
    await setStoreStatus(deps, h.merchant.merchantId, h.merchant.storeId, 'suspended', 'tampered QR stickers', operator, null);
    try {
      await expect(captureNow(onStore.merchantPaymentId, `cap-st-${onStore.merchantPaymentId}`)).rejects.toMatchObject({ code: 'merchant_not_active', detail: 'the store is suspended' });
    } finally {
      await setStoreStatus(deps, h.merchant.merchantId, h.merchant.storeId, 'active', 'stickers replaced', operator, null);
    }
    expect((await captureNow(onStore.merchantPaymentId, `cap-st2-${onStore.merchantPaymentId}`)).status).toBe('COMPLETED');
  });
});
