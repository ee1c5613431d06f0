/**
 * Issue 15, item 5: a merchant lists yesterday's payments and downloads the settlement CSV by API, and is told
 * by an event when a statement is ready.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiCredential } from '../../src/merchants/credentials.ts';
import type { CustomerContext } from '../../src/payments/context.ts';
import { closeBusinessDay, type SettlementDeps } from '../../src/payments/settlement/close.ts';
import { createOutbox } from '../../src/payments/webhooks/outbox.ts';
import { expectLedgerConsistent } from '../ledger/fixtures.ts';
import { createCustomer } from './customer-fixtures.ts';
import { createTestMerchant } from './merchant-fixtures.ts';
import { opa, resultCode, startHarness, type Harness } from './support.ts';

let h: Harness;
let deps: SettlementDeps;
const DAY = '2025-07-01';
const epoch = (iso: string) => Math.floor(new Date(iso).getTime() / 1000);
const dayStart = epoch('2025-06-30T15:00:00Z'); // 00:00 JST on the 1st
const dayEnd = epoch('2025-07-01T15:00:00Z');

beforeAll(async () => {
  h = await startHarness();
  deps = { db: h.db, ledger: h.ledger, box: h.module.box, rail: null, now: () => h.clock.now, events: createOutbox({ attemptsMax: 3, now: () => h.clock.now }) };
});
afterAll(async () => {
  await expectLedgerConsistent(h.db);
  await h.close();
});

let seq = 0;
async function payAt(at: string, customer: CustomerContext, amount: number, terminal = 0): Promise<{ merchantPaymentId: string; paymentId: string }> {
  h.clock.now = new Date(at);
  const code = (await h.module.payments.mintPaymentCode(customer)).code;
  const merchantPaymentId = `rep-${seq++}`;
  const response = await opa(h, { method: 'POST', url: '/v2/till/payments', body: { merchantPaymentId, code, amount: { amount, currency: 'JPY' }, storeId: h.merchant.storeId, terminalId: h.merchant.terminalIds[terminal] } });
  expect(resultCode(response)).toBe('SUCCESS');
  return { merchantPaymentId, paymentId: response.json().data.paymentId };
}

const list = async (query: string) => {
  const response = await opa(h, { method: 'GET', url: `/v2/payments${query}` });
  expect(resultCode(response)).toBe('SUCCESS');
  return response.json().data as { payments: Array<{ merchantPaymentId: string; status: string; storeId: string; amount: { amount: number } }>; hasMore: boolean; nextCursor: string | null };
};

describe('payments list and search (GET /v2/payments)', () => {
  const ids: string[] = [];
  it('lists the day\'s payments newest first, by time range, status, store and amount, in cursor pages', async () => {
    const customer = await createCustomer(h.db, h.ledger, 100_000n);
    await payAt('2025-06-30T14:00:00Z', customer, 111); // the day before (23:00 JST)
    for (const [i, at] of ['2025-07-01T01:00:00Z', '2025-07-01T02:00:00Z', '2025-07-01T03:00:00Z', '2025-07-01T04:00:00Z'].entries()) {
      ids.push((await payAt(at, customer, 1_000 * (i + 1))).merchantPaymentId);
    }
    await opa(h, { method: 'POST', url: `/v2/merchant/stores/${h.merchant.storeId}`, body: { externalId: 'store-001' } });
    h.clock.now = new Date('2025-07-01T05:00:00Z');
    expect(resultCode(await opa(h, { method: 'DELETE', url: `/v2/payments/${ids[1]}` }))).toBe('REQUEST_ACCEPTED');
    await payAt('2025-07-01T16:00:00Z', customer, 222); // the day after

    const day = await list(`?from=${dayStart}&to=${dayEnd}`);
    expect(day.payments.map((p) => p.merchantPaymentId)).toEqual([...ids].reverse());
    expect((await list(`?from=${dayStart}&to=${dayEnd}&status=FAILED`)).payments.map((p) => p.merchantPaymentId)).toEqual([ids[1]]);
    expect((await list(`?from=${dayStart}&to=${dayEnd}&minAmount=2000&maxAmount=3000`)).payments.map((p) => p.amount.amount)).toEqual([3_000, 2_000]);
    const byStore = await list(`?from=${dayStart}&to=${dayEnd}&storeId=store-001`);
    expect(byStore.payments).toHaveLength(4);
    expect((await list(`?storeId=${h.merchant.otherStoreId}`)).payments).toEqual([]);

    const first = await list(`?from=${dayStart}&to=${dayEnd}&limit=3`);
    expect(first.hasMore).toBe(true);
    const second = await list(`?from=${dayStart}&to=${dayEnd}&limit=3&startingAfter=${first.nextCursor}`);
    expect([...first.payments, ...second.payments].map((p) => p.merchantPaymentId)).toEqual([...ids].reverse());
    expect(second.hasMore).toBe(false);
  });

  it('never shows another merchant\'s payments, and refuses unknown or malformed parameters', async () => {
    const other = await createTestMerchant(h.db, h.ledger);
    const otherKey = await createApiCredential(h.db, h.module.box, { merchantId: other.merchantId });
    const theirs = await opa(h, { method: 'GET', url: `/v2/payments?from=${dayStart}&to=${dayEnd}`, credential: otherKey });
    expect(theirs.json().data.payments).toEqual([]);
    for (const query of ['?status=PAID', '?from=yesterday', '?minAmount=-1', '?limit=1000', '?startingAfter=x', '?sort=asc']) {
      expect(resultCode(await opa(h, { method: 'GET', url: `/v2/payments${query}` }))).toBe('INVALID_PARAMS');
    }
  });
});

describe('settlement statements by API', () => {
  it('is not there before the day is closed', async () => {
    expect(resultCode(await opa(h, { method: 'GET', url: `/v2/settlements/${DAY}/csv` }))).toBe('RESOURCE_NOT_FOUND');
  });

  it('after the close: an event says the statement is ready, the statement and its CSV download by API', async () => {
    h.clock.now = new Date('2025-07-01T18:00:00Z'); // 03:00 JST on the 2nd
    await closeBusinessDay(deps, DAY);
    await closeBusinessDay(deps, DAY); // a second run changes nothing, and tells nobody twice

    const events = (await opa(h, { method: 'GET', url: '/v2/events?type=settlement.statement_ready' })).json().data.events;
    expect(events).toHaveLength(1);
    expect(events[0].data).toMatchObject({ businessDate: DAY, paymentsCount: 4, csvPath: `/v2/settlements/${DAY}/csv` });

    const statement = (await opa(h, { method: 'GET', url: `/v2/settlements/${DAY}` })).json().data;
    expect(statement).toMatchObject({ businessDate: DAY, currency: 'JPY', paymentsCount: 4, grossAmount: '10000', refundsAmount: '2000' });
    const listing = (await opa(h, { method: 'GET', url: '/v2/settlements' })).json().data;
    expect(listing.statements.map((s: { businessDate: string }) => s.businessDate)).toContain(DAY);

    const csv = await opa(h, { method: 'GET', url: `/v2/settlements/${DAY}/csv` });
    expect(csv.statusCode).toBe(200);
    expect(csv.headers['content-type']).toMatch(/^text\/csv/);
    expect(csv.headers['content-disposition']).toContain(`koban-${DAY}.csv`);
    const lines = csv.body.trim().split('\n');
    expect(lines[0]).toBe('type,payment_id,merchant_payment_id,merchant_refund_id,store_id,terminal_id,at,amount,fee');
    expect(lines.filter((l) => l.startsWith('payment,'))).toHaveLength(4);
    expect(lines.filter((l) => l.startsWith('cancel,'))).toHaveLength(1);
    expect(lines.at(-1)).toBe(`net,,,,,,${DAY},${statement.netAmount},`);
  });

  it('another merchant gets none of this merchant\'s statements', async () => {
    const other = await createTestMerchant(h.db, h.ledger);
    const otherKey = await createApiCredential(h.db, h.module.box, { merchantId: other.merchantId });
    expect(resultCode(await opa(h, { method: 'GET', url: `/v2/settlements/${DAY}/csv`, credential: otherKey }))).toBe('RESOURCE_NOT_FOUND');
    expect((await opa(h, { method: 'GET', url: '/v2/settlements', credential: otherKey })).json().data.statements).toEqual([]);
    expect(resultCode(await opa(h, { method: 'GET', url: '/v2/settlements/2025-13-99' }))).toBe('INVALID_PARAMS');
  });
});
