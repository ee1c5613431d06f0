// Points and cashback campaigns (issue 19) on the real payments pipeline and PostgreSQL: a payment's commit
// queues its consequence (migration 0361's triggers), the relay grants points from the campaign's budget
// account exactly once, stopping exactly at the budget; refunds reverse; points expire; caps hold.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { requireTransferCreated } from '../../src/ledger/ledger.ts';
import { PLATFORM_ACCOUNTS } from '../../src/ledger/platform-accounts.ts';
import { Ledgers, TransferCodes } from '../../src/ledger/types.ts';
import type { CustomerContext } from '../../src/payments/context.ts';
import type { Payment } from '../../src/payments/model.ts';
import { uuidv7 } from '../../src/platform/ids.ts';
import { createCampaign, endCampaign, listCampaigns, type Campaign, type CampaignDefinition } from '../../src/wallet/promo/campaigns.ts';
import { expirePoints } from '../../src/wallet/promo/expiry.ts';
import { pointsAccountId, relayPromotions, type PromoDeps } from '../../src/wallet/promo/relay.ts';
import { expectLedgerConsistent } from '../ledger/fixtures.ts';
import { balanceOf, createCustomer } from '../payments/customer-fixtures.ts';
import { payCompleted, refundCompleted } from '../payments/pay-fixtures.ts';
import { opa, startHarness, type Harness } from '../payments/support.ts';
import { createApiKey } from '../../src/merchants/api-keys.ts';
import { createTestWallet } from '../../src/wallet/test-wallets.ts';

const DAY_MS = 86_400_000;
let h: Harness;
let promo: PromoDeps;

beforeAll(async () => {
  h = await startHarness();
  promo = { db: h.db, ledger: h.ledger, now: () => h.clock.now };
});
afterEach(async () => {
  // Every test leaves its campaigns ended, so the next one starts from its own.
  for (const c of (await listCampaigns(h.db, h.ledger, { limit: 200 })).campaigns) await endCampaign(h.db, c.id);
  await relayAll();
  await expectLedgerConsistent(h.db);
});
afterAll(async () => { await h.close(); });

function definition(overrides: Partial<CampaignDefinition> = {}): CampaignDefinition {
  return {
    name: 'Autumn 10%', merchantId: h.merchant.merchantId, categoryCode: null, rateBps: 1_000, capPerCustomerMinor: 10_000n, budgetMinor: 100_000n,
    startsAt: new Date(h.clock.now.getTime() - DAY_MS), endsAt: new Date(h.clock.now.getTime() + 30 * DAY_MS), pointsValidDays: 90, ...overrides,
  };
}

async function relayAll(): Promise<void> {
  for (let round = 0; round < 100; round++) if (await relayPromotions(promo) === 0) return;
  throw new Error('the relay did not drain its queue in 100 rounds');
}

const pay = (customer: CustomerContext, amountMinor: bigint) => payCompleted(h, customer, amountMinor);
const refund = (payment: Payment, amountMinor: bigint) => refundCompleted(h, payment, amountMinor);

const points = (customer: CustomerContext): Promise<bigint> => balanceOf(h.ledger, pointsAccountId(customer.customerId));
const budget = (campaign: Campaign): Promise<bigint> => balanceOf(h.ledger, campaign.budgetAccountId);

describe('the promotion budget', () => {
  it('never goes below zero under 256 concurrent campaign payments: the grants stop exactly at the budget', async () => {
    const campaign = await createCampaign(h.db, h.ledger, definition({ budgetMinor: 5_050n }), 'operator:test');
    const customers = await Promise.all(Array.from({ length: 256 }, () => createCustomer(h.db, h.ledger, 1_000n)));
    // Relays race the payments too: one relay at a time takes the budget, the others find the lock taken.
    let paying = true;
    const relays = Promise.all(Array.from({ length: 3 }, async () => { while (paying) await relayPromotions(promo); }));
    const payments = await Promise.all(customers.map((customer) => pay(customer, 1_000n)));
    paying = false;
    await relays;
    await relayAll();
    expect(payments.every((p) => p.status === 'COMPLETED')).toBe(true);
    expect(await budget(campaign)).toBe(0n);
    const grants = await h.db.pool.query<{ granted: string; n: string; full: string; partial: string }>(
      `select sum(granted_minor)::text as granted, count(*)::text as n, count(*) filter (where granted_minor = 100)::text as full,
         count(*) filter (where granted_minor > 0 and granted_minor < 100)::text as partial from promo_grants where campaign_id = $1`, [campaign.id]);
    expect(grants.rows[0]).toEqual({ granted: '5050', n: '256', full: '50', partial: '1' });
    const earned = await Promise.all(customers.map(points));
    expect(earned.reduce((a, b) => a + b, 0n)).toBe(5_050n);
    expect((await h.db.pool.query('select 1 from promo_queue')).rowCount).toBe(0);
  });

  it('grants each payment once, however often the relay runs', async () => {
    const campaign = await createCampaign(h.db, h.ledger, definition(), 'operator:test');
    const customer = await createCustomer(h.db, h.ledger, 5_000n);
    await pay(customer, 2_000n);
    await Promise.all([relayAll(), relayAll(), relayAll()]);
    await relayAll();
    expect(await points(customer)).toBe(200n);
    expect(await budget(campaign)).toBe(100_000n - 200n);
  });
});

describe('earning', () => {
  it('caps what one customer earns in a campaign', async () => {
    await createCampaign(h.db, h.ledger, definition({ capPerCustomerMinor: 150n }), 'operator:test');
    const customer = await createCustomer(h.db, h.ledger, 5_000n);
    for (let i = 0; i < 3; i++) await pay(customer, 1_000n);
    await relayAll();
    expect(await points(customer)).toBe(150n);
    const grants = await h.db.pool.query<{ wanted_minor: string; granted_minor: string }>('select wanted_minor::text, granted_minor::text from promo_grants where customer_id = $1 order by promo_grants.granted_minor desc', [customer.customerId]);
    expect(grants.rows).toEqual([{ wanted_minor: '100', granted_minor: '100' }, { wanted_minor: '100', granted_minor: '50' }, { wanted_minor: '100', granted_minor: '0' }]);
  });

  it('earns nothing outside the campaign: another category, or before it starts', async () => {
    await createCampaign(h.db, h.ledger, definition({ merchantId: null, categoryCode: '9999' }), 'operator:test');
    await createCampaign(h.db, h.ledger, definition({ startsAt: new Date(h.clock.now.getTime() + DAY_MS) }), 'operator:test');
    const customer = await createCustomer(h.db, h.ledger, 5_000n);
    await pay(customer, 1_000n);
    await relayAll();
    expect((await h.db.pool.query('select 1 from promo_grants where customer_id = $1', [customer.customerId])).rowCount).toBe(0);
  });

  it('matches a campaign by the merchant category', async () => {
    const category = await h.db.pool.query<{ category_code: string }>('select category_code from merchants where id = $1', [h.merchant.merchantId]);
    await createCampaign(h.db, h.ledger, definition({ merchantId: null, categoryCode: category.rows[0]?.category_code as string, rateBps: 500 }), 'operator:test');
    const customer = await createCustomer(h.db, h.ledger, 5_000n);
    await pay(customer, 1_000n);
    await relayAll();
    expect(await points(customer)).toBe(50n);
  });

  it('refuses a campaign naming both a merchant and a category, writing nothing', async () => {
    const before = (await h.db.pool.query('select 1 from promo_campaigns')).rowCount;
    await expect(createCampaign(h.db, h.ledger, definition({ categoryCode: '5411' }), 'operator:test')).rejects.toMatchObject({ code: 'validation_failed' });
    expect((await h.db.pool.query('select 1 from promo_campaigns')).rowCount).toBe(before);
  });
});

describe('refunds reverse their cashback', () => {
  it('a partial refund reverses its share, a cancel the rest, back into the budget', async () => {
    const campaign = await createCampaign(h.db, h.ledger, definition(), 'operator:test');
    const customer = await createCustomer(h.db, h.ledger, 5_000n);
    const payment = await pay(customer, 1_000n);
    await relayAll();
    expect(await points(customer)).toBe(100n);
    await refund(payment, 300n);
    await relayAll();
    expect(await points(customer)).toBe(70n);
    expect((await h.module.payments.cancelPayment(h.merchant.merchantId, payment.merchantPaymentId)).status).toBe('CANCELED');
    await relayAll();
    expect(await points(customer)).toBe(0n);
    expect(await budget(campaign)).toBe(100_000n);
  });

  it('successive partial refunds reverse the whole grant when the whole payment comes back', async () => {
    await createCampaign(h.db, h.ledger, definition({ rateBps: 333 }), 'operator:test');
    const customer = await createCustomer(h.db, h.ledger, 5_000n);
    const payment = await pay(customer, 1_000n);
    await relayAll();
    expect(await points(customer)).toBe(33n);
    for (const amount of [1n, 499n, 250n, 250n]) await refund(payment, amount);
    await relayAll();
    expect(await points(customer)).toBe(0n);
  });

  it('points already spent are not taken from another balance: the reversal takes what is there and records the rest', async () => {
    await createCampaign(h.db, h.ledger, definition(), 'operator:test');
    const customer = await createCustomer(h.db, h.ledger, 5_000n);
    const payment = await pay(customer, 1_000n);
    await relayAll();
    // The customer spends 80 of the 100 points (a points leg of a payment into a merchant's receivable).
    requireTransferCreated(await h.ledger.createTransfers([{ id: uuidv7(), debitAccountId: pointsAccountId(customer.customerId), creditAccountId: h.merchant.receivableAccountId,
      amount: 80n, pendingId: null, ledger: Ledgers.JPY, code: TransferCodes.payment, flags: 0, timeoutSeconds: 0, reference: 'test points spend' }]));
    await refund(payment, 1_000n);
    await relayAll();
    expect(await points(customer)).toBe(0n);
    expect(await balanceOf(h.ledger, customer.walletAccountId)).toBe(5_000n);
    const grant = await h.db.pool.query<{ reversed_minor: string; unrecovered_minor: string }>('select reversed_minor::text, unrecovered_minor::text from promo_grants where payment_id = $1', [payment.id]);
    expect(grant.rows[0]).toEqual({ reversed_minor: '20', unrecovered_minor: '80' });
  });
});

describe('spending points', () => {
  it('points pay first, then prepaid; a refund returns money before points', async () => {
    await createCampaign(h.db, h.ledger, definition(), 'operator:test');
    const customer = await createCustomer(h.db, h.ledger, 2_000n);
    await pay(customer, 1_000n);
    await relayAll();
    expect(await points(customer)).toBe(100n);
    const second = await pay(customer, 500n);
    const debits = await h.db.pool.query<{ debit_account_id: string; amount: string }>(
      'select debit_account_id, amount::text from transfers where reference = $1 and code = $2 order by amount', [`payment:${second.id}`, TransferCodes.payment]);
    expect(debits.rows).toEqual([{ debit_account_id: pointsAccountId(customer.customerId), amount: '100' }, { debit_account_id: customer.walletAccountId, amount: '400' }]);
    expect(await balanceOf(h.ledger, customer.walletAccountId)).toBe(600n);
    await relayAll();
    expect(await points(customer)).toBe(50n); // the second payment earned 10% too
    await refund(second, 450n);
    expect(await balanceOf(h.ledger, customer.walletAccountId)).toBe(1_000n);
    await relayAll();
    // 50 points came back as points; the second payment's 50 points were reversed in proportion (45).
    expect(await points(customer)).toBe(50n + 50n - 45n);
  });
});

describe('expiry', () => {
  it('expires points after their validity into the platform promotion account, keeping those still valid, once', async () => {
    await createCampaign(h.db, h.ledger, definition({ pointsValidDays: 10 }), 'operator:test');
    const customer = await createCustomer(h.db, h.ledger, 9_000n);
    // Both payments are relayed together, so the second does not spend the first's points (points pay first).
    await pay(customer, 1_000n);
    const start = h.clock.now;
    h.clock.now = new Date(start.getTime() + 5 * DAY_MS);
    try {
      await pay(customer, 2_000n);
      await relayAll();
      expect(await points(customer)).toBe(300n);
      expect(await expirePoints(promo)).toBe(0n);
      h.clock.now = new Date(start.getTime() + 11 * DAY_MS);
      const platformBefore = await balanceOf(h.ledger, PLATFORM_ACCOUNTS.promotionBudget);
      expect(await expirePoints(promo)).toBe(100n);
      expect(await points(customer)).toBe(200n);
      expect(await balanceOf(h.ledger, PLATFORM_ACCOUNTS.promotionBudget)).toBe(platformBefore + 100n);
      expect(await expirePoints(promo)).toBe(0n);
      h.clock.now = new Date(start.getTime() + 16 * DAY_MS);
      expect(await expirePoints(promo)).toBe(200n);
      expect(await points(customer)).toBe(0n);
    } finally {
      h.clock.now = start;
    }
  });
});

describe('the consequence rows', () => {
  it('a payment queues nothing while no campaign is active', async () => {
    const customer = await createCustomer(h.db, h.ledger, 5_000n);
    await pay(customer, 1_000n);
    expect((await h.db.pool.query('select 1 from promo_queue where kind = $1', ['payment'])).rowCount).toBe(0);
  });
});

describe('test money', () => {
  it('a test-mode payment by a test wallet earns no campaign points: campaign points are real money', async () => {
    const twinCategory = (await h.db.pool.query<{ category_code: string }>('select category_code from merchants where id = $1', [h.merchant.merchantId])).rows[0]!.category_code;
    const campaign = await createCampaign(h.db, h.ledger, definition({ merchantId: null, categoryCode: twinCategory }), 'operator:test');
    const testKey = await createApiKey(h.db, h.module.box, h.ledger, h.merchant.merchantId, { mode: 'test', name: 'promo' });
    const created = await opa(h, { method: 'POST', url: '/v2/codes', credential: testKey, body: { merchantPaymentId: 'promo-test-order', amount: { amount: 2_000, currency: 'JPY' }, codeType: 'ORDER_QR' } });
    expect(created.statusCode, created.body).toBe(201);
    const wallet = await createTestWallet(h.db, h.ledger, h.merchant.merchantId, { label: 'promo', initialMinor: 5_000n, createdBy: null });
    const tester = { customerId: wallet.customerId, walletAccountId: wallet.walletAccountId, deviceId: 'test-device' };
    expect((await h.module.payments.payDynamicQr(tester, String(created.json().data.codeId))).status).toBe('COMPLETED');
    // The same campaign still pays a real customer at the live merchant.
    const real = await createCustomer(h.db, h.ledger, 5_000n);
    await pay(real, 2_000n);
    await relayAll();
    expect(await points(real)).toBe(200n);
    expect((await h.db.pool.query('select 1 from promo_grants where customer_id = $1', [tester.customerId])).rowCount).toBe(0);
    expect(await h.ledger.getAccount(pointsAccountId(tester.customerId))).toBeNull();
    expect(await budget(campaign)).toBe(100_000n - 200n);
  });
});
