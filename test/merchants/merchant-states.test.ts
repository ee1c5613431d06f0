/**
 * Issue 16 / 13: a merchant's life (applied → reviewed → active ⇄ suspended → closed) and merchant
 * containment. The threat: a colluding or compromised merchant keeps taking money from stolen wallets
 * after an operator suspended it — through a surface nobody thought of, or through a cached "active".
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyForMerchant, listApplications, readMerchantProfile, reviewMerchant, setMerchantStatus, setPayoutHold, type MerchantApplication, type MerchantsDeps } from '../../src/merchants/onboarding.ts';
import { createStore, setStoreStatus, updateStore } from '../../src/merchants/stores.ts';
import { buildStaticQrPayload, parseStaticQrPayload } from '../../src/payments/emvco.ts';
import { closeBusinessDay, type SettlementDeps } from '../../src/payments/settlement/close.ts';
import type { CustomerContext } from '../../src/payments/context.ts';
import { expectLedgerConsistent } from '../ledger/fixtures.ts';
import { balanceOf, createCustomer } from '../payments/customer-fixtures.ts';
import { opa, resultCode, startHarness, type Harness } from '../payments/support.ts';

let h: Harness;
let deps: MerchantsDeps;
const operatorA = { kind: 'operator' as const, id: 'operator-a' };
const operatorB = { kind: 'operator' as const, id: 'operator-b' };

beforeAll(async () => {
  h = await startHarness();
  deps = { db: h.db, ledger: h.ledger, box: h.module.box, now: () => h.clock.now, fourEyesAboveMinor: 1_000_000n };
});
afterAll(async () => {
  await expectLedgerConsistent(h.db);
  await h.close();
});

const payments = () => h.module.payments;
const orderId = () => `ms-${randomBytes(6).toString('hex')}`;

async function payAtTill(customer: CustomerContext, amount: bigint) {
  const code = (await payments().mintPaymentCode(customer)).code;
  return payments().payAtTill({ merchantId: h.merchant.merchantId, merchantPaymentId: orderId(), code, amountMinor: amount, storeId: h.merchant.storeId, terminalId: h.merchant.terminalIds[0]!, orderDescription: null, requestedAt: null });
}

function storeQr(storeId: string): string {
  return buildStaticQrPayload({ merchantId: h.merchant.merchantId, storeId, categoryCode: '5411', merchantName: 'Test shop', merchantCity: 'Chiyoda-ku', postalCode: '100-0001' });
}

const orderRequest = (amountMinor: bigint) => ({ merchantId: h.merchant.merchantId, merchantPaymentId: orderId(), amountMinor, orderDescription: null, storeId: h.merchant.storeId, terminalId: null, requestedAt: null });

function application(volume: bigint): MerchantApplication {
  const tag = randomBytes(4).toString('hex');
  return {
    nameJa: 'こばん商店', nameLatin: 'Koban Shoten', corporateNumber: '1234567890123', representative: '山田 太郎', address: '東京都千代田区1-1',
    contactEmail: `contact-${tag}@example.jp`, contactPhone: '03-1234-5678', categoryCode: '5411', expectedMonthlyVolumeMinor: volume,
    bank: { bankCode: '0001', branchCode: '001', accountType: 'ordinary', accountNumber: '7654321', holderNameKana: 'ｺﾊﾞﾝｼｮｳﾃﾝ' },
    owner: { email: `owner-${tag}@example.jp`, displayName: 'Owner', password: 'a long owner password 1' },
  };
}

describe('a suspended merchant takes no payment on any surface, at once', () => {
  it('refuses the till code, the store QR, a new order QR and an order QR made before, even with its facts cached; refunds still return money; reactivation restores payments', async () => {
    const customer = await createCustomer(h.db, h.ledger, 50_000n);
    // Warm every cache: a till payment and a store-QR payment succeed first.
    const first = await payAtTill(customer, 1_000n);
    expect(first.payment.status).toBe('COMPLETED');
    expect((await payments().payStaticQr(customer, storeQr(h.merchant.storeId), 500n)).status).toBe('COMPLETED');
    const earlierOrder = await payments().createDynamicQr(orderRequest(700n));
    const balanceBefore = await balanceOf(h.ledger, customer.walletAccountId);

    await setMerchantStatus(deps, h.merchant.merchantId, 'suspended', 'money converging from taken-over wallets', operatorA, null);

    await expect(payAtTill(customer, 1_000n)).rejects.toMatchObject({ code: 'merchant_not_active' });
    // The wallet's scan of the store QR already reads the store and merchant state uncached (customer-pay.ts previewStaticQr).
    await expect(payments().payStaticQr(customer, storeQr(h.merchant.storeId), 500n)).rejects.toMatchObject({ code: 'qr_payload_invalid', message: 'this store does not take payments' });
    await expect(payments().createDynamicQr(orderRequest(800n))).rejects.toMatchObject({ code: 'merchant_not_active' });
    await expect(payments().payDynamicQr(customer, earlierOrder.codeId)).rejects.toMatchObject({ code: 'merchant_not_active' });
    // The signed merchant API: refused too (the key's cached "active" cannot help it).
    const code = (await payments().mintPaymentCode(customer)).code;
    const signed = await opa(h, { method: 'POST', url: '/v2/till/payments', body: { merchantPaymentId: orderId(), code, amount: { amount: 300, currency: 'JPY' }, storeId: h.merchant.storeId, terminalId: h.merchant.terminalIds[0] } });
    expect(['OP_OUT_OF_SCOPE', 'UNAUTHORIZED']).toContain(resultCode(signed));
    expect(await balanceOf(h.ledger, customer.walletAccountId)).toBe(balanceBefore);

    // Money only goes back to the wallet that paid: a refund is not blocked by a suspension.
    const refund = await payments().refundPayment({ merchantId: h.merchant.merchantId, merchantRefundId: orderId(), paymentId: first.payment.id, amountMinor: 400n, reason: 'customer', requestedAt: null });
    expect(refund.status).toBe('REFUNDED');
    expect(await balanceOf(h.ledger, customer.walletAccountId)).toBe(balanceBefore + 400n);

    const audit = await h.db.pool.query<{ action: string; reason: string }>(`select action, reason from audit_events where target_id = $1 order by id`, [h.merchant.merchantId]);
    expect(audit.rows).toContainEqual({ action: 'merchant.suspended', reason: 'money converging from taken-over wallets' });

    await setMerchantStatus(deps, h.merchant.merchantId, 'active', 'checked with the owner', operatorB, null);
    expect((await payAtTill(customer, 1_000n)).payment.status).toBe('COMPLETED');
  });

  it('a suspended store takes nothing while the merchant\'s other store still does', async () => {
    const customer = await createCustomer(h.db, h.ledger, 10_000n);
    expect((await payments().payStaticQr(customer, storeQr(h.merchant.storeId), 100n)).status).toBe('COMPLETED');
    await setStoreStatus(deps, h.merchant.merchantId, h.merchant.storeId, 'suspended', 'tampered QR stickers', operatorA, null);
    await expect(payAtTill(customer, 100n)).rejects.toMatchObject({ code: 'merchant_not_active' });
    await expect(payments().payStaticQr(customer, storeQr(h.merchant.storeId), 100n)).rejects.toMatchObject({ code: 'qr_payload_invalid', message: 'this store does not take payments' });
    expect((await payments().payStaticQr(customer, storeQr(h.merchant.otherStoreId), 100n)).status).toBe('COMPLETED');
    await setStoreStatus(deps, h.merchant.merchantId, h.merchant.storeId, 'active', 'stickers replaced', operatorA, null);
    expect((await payAtTill(customer, 100n)).payment.status).toBe('COMPLETED');
  });

  it('refuses a state change without a reason, and one that skips a state, and changes nothing', async () => {
    await expect(setMerchantStatus(deps, h.merchant.merchantId, 'suspended', '  ', operatorA, null)).rejects.toMatchObject({ code: 'validation_failed' });
    const applied = await applyForMerchant(deps, application(0n), null);
    await expect(setMerchantStatus(deps, applied.merchantId, 'active', 'skip the review', operatorA, null)).rejects.toMatchObject({ code: 'merchant_state_conflict' });
    expect((await readMerchantProfile(h.db, applied.merchantId)).status).toBe('applied');
    expect((await readMerchantProfile(h.db, h.merchant.merchantId)).status).toBe('active');
  });
});

describe('onboarding and review', () => {
  it('an application waits in the queue and takes no payment until an operator approves it', async () => {
    const applied = await applyForMerchant(deps, application(100_000n), null);
    expect(applied.owner.totpUri).toMatch(/^otpauth:\/\/totp\//);
    const queue = await listApplications(h.db);
    expect(queue.map((m) => m.id)).toContain(applied.merchantId);
    await expect(createStore(deps, applied.merchantId, { name: '本店', address: '', city: 'Chiyoda-ku', cityLocal: '千代田区', postalCode: '100-0001' }, operatorA, null))
      .rejects.toMatchObject({ code: 'merchant_not_active' });
    const approved = await reviewMerchant(deps, applied.merchantId, { decision: 'approve', note: 'documents checked' }, operatorA, null);
    expect(approved).toMatchObject({ status: 'active', reviewState: 'approved' });
    await expect(reviewMerchant(deps, applied.merchantId, { decision: 'reject', reason: 'too late' }, operatorB, null)).rejects.toMatchObject({ code: 'merchant_review_closed' });
    expect((await listApplications(h.db)).map((m) => m.id)).not.toContain(applied.merchantId);
  });

  it('above the configured volume, one operator cannot approve alone: the second approval must be someone else', async () => {
    const applied = await applyForMerchant(deps, application(5_000_000n), null);
    const first = await reviewMerchant(deps, applied.merchantId, { decision: 'approve' }, operatorA, null);
    expect(first).toMatchObject({ status: 'applied', firstApprovedBy: 'operator:operator-a' });
    await expect(reviewMerchant(deps, applied.merchantId, { decision: 'approve' }, operatorA, null)).rejects.toMatchObject({ code: 'merchant_review_self_approval' });
    expect((await readMerchantProfile(h.db, applied.merchantId)).status).toBe('applied');
    expect(await reviewMerchant(deps, applied.merchantId, { decision: 'approve' }, operatorB, null)).toMatchObject({ status: 'active', reviewState: 'approved' });
  });

  it('asking for more keeps the application in the queue; a rejection closes it with its reason', async () => {
    const applied = await applyForMerchant(deps, application(0n), null);
    await expect(reviewMerchant(deps, applied.merchantId, { decision: 'reject', reason: '' }, operatorA, null)).rejects.toMatchObject({ code: 'validation_failed' });
    expect(await reviewMerchant(deps, applied.merchantId, { decision: 'ask_for_more', reason: 'send the registry extract' }, operatorA, null))
      .toMatchObject({ status: 'applied', reviewState: 'more_info_requested', reviewNote: 'send the registry extract' });
    expect(await reviewMerchant(deps, applied.merchantId, { decision: 'reject', reason: 'corporate number does not match' }, operatorA, null))
      .toMatchObject({ status: 'closed', reviewState: 'rejected', statusReason: 'corporate number does not match' });
  });

  it('bad application input is a clear 4xx and creates nothing', async () => {
    const before = await h.db.pool.query<{ n: number }>('select count(*)::int as n from merchants');
    await expect(applyForMerchant(deps, { ...application(0n), corporateNumber: '12' }, null)).rejects.toMatchObject({ code: 'validation_failed' });
    await expect(applyForMerchant(deps, { ...application(0n), nameLatin: 'こばん' }, null)).rejects.toMatchObject({ code: 'validation_failed' });
    const after = await h.db.pool.query<{ n: number }>('select count(*)::int as n from merchants');
    expect(after.rows[0]?.n).toBe(before.rows[0]?.n);
  });
});

describe('stores', () => {
  it('city and postal code setters feed the store QR tags 60 and 61; another merchant cannot touch the store', async () => {
    const updated = await updateStore(deps, h.merchant.merchantId, h.merchant.otherStoreId, { city: 'Shibuya-ku', cityLocal: '渋谷区', postalCode: '150-0002' }, operatorA, null);
    expect(updated).toMatchObject({ city: 'Shibuya-ku', cityLocal: '渋谷区', postalCode: '150-0002' });
    const parsed = parseStaticQrPayload(buildStaticQrPayload({ merchantId: h.merchant.merchantId, storeId: updated.id, categoryCode: '5411', merchantName: 'Test shop', merchantCity: updated.city, postalCode: updated.postalCode }));
    expect(parsed).toMatchObject({ merchantCity: 'Shibuya-ku', postalCode: '150-0002' });
    const other = await applyForMerchant(deps, application(0n), null);
    await expect(updateStore(deps, other.merchantId, h.merchant.otherStoreId, { name: 'taken over' }, operatorA, null)).rejects.toMatchObject({ code: 'store_not_found' });
    await expect(updateStore(deps, h.merchant.merchantId, h.merchant.otherStoreId, { postalCode: 'abc' }, operatorA, null)).rejects.toMatchObject({ code: 'validation_failed' });
  });
});

describe('payout hold', () => {
  it('the day still closes, but a held merchant\'s money stays in its payout account', async () => {
    const day = '2025-07-01';
    h.clock.now = new Date('2025-07-01T01:00:00Z');
    const customer = await createCustomer(h.db, h.ledger, 10_000n);
    await payAtTill(customer, 2_000n);
    await setPayoutHold(deps, h.merchant.merchantId, true, 'investigating converging payments', operatorA, null);
    h.clock.now = new Date('2025-07-01T18:00:00Z');
    const settlementDeps: SettlementDeps = { db: h.db, ledger: h.ledger, box: h.module.box, rail: null, now: () => h.clock.now };
    const settlements = await closeBusinessDay(settlementDeps, day);
    const ours = settlements.find((s) => s.merchantId === h.merchant.merchantId);
    expect(ours).toMatchObject({ payoutStatus: 'held', payoutTransferId: null, netMinor: 2_000n - 39n });
    const audit = await h.db.pool.query<{ action: string }>(`select action from audit_events where target_id = $1 and action like 'merchant.payouts%'`, [h.merchant.merchantId]);
    expect(audit.rows.map((r) => r.action)).toEqual(['merchant.payouts_held']);
    expect((await readMerchantProfile(h.db, h.merchant.merchantId)).payoutsHeld).toBe(true);
  });
});
