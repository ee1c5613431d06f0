/**
 * Auto top-up (issue 19) through the real sandbox acquirer on PostgreSQL: set up behind the top-up gate from a
 * card that passed 3-D Secure; fires once per crossing of the threshold (even when two scans race), after the
 * spending committed; respects its daily cap; a failure turns it off with a notice.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireTransferCreated } from '../../src/ledger/ledger.ts';
import { Ledgers, TransferCodes } from '../../src/ledger/types.ts';
import { uuidv7 } from '../../src/platform/ids.ts';
import { stepUpBySms, type Customer } from '../identity/support.ts';
import { createTestMerchant, type TestMerchant } from '../payments/merchant-fixtures.ts';
import { answerChallenge, balanceOf, CARDS, cardSource, customerWithPin, expectLedgerVerifies, feedKinds, PIN, startWalletEnv, topUp, type WalletEnv } from './support.ts';

let w: WalletEnv;
let merchant: TestMerchant;
beforeAll(async () => {
  w = await startWalletEnv({ KOBAN_AUTO_TOP_UPS_PER_DAY: '2' });
  merchant = await createTestMerchant(w.db, w.koban.ledger);
});
afterAll(async () => {
  if (w !== undefined) await expectLedgerVerifies(w.db);
  await w?.close();
});

/** A customer whose visa card passed 3-D Secure on a first top-up of `first`. */
async function customerWithVerifiedCard(first: number): Promise<{ customer: Customer; card: string }> {
  const customer = await customerWithPin(w.koban);
  const card = await cardSource(w.koban, customer, CARDS.visa);
  const started = (await topUp(w.koban, customer, card, first, { threeDSecure: true })).json();
  expect((await answerChallenge(started.challengeUrl)).status).toBe(200);
  const back = await w.koban.app.inject({ method: 'GET', url: `/v1/top-ups/${started.topUpId}/3ds-return` });
  expect(back.json().status).toBe('completed');
  return { customer, card };
}

async function setAuto(customer: Customer, card: string, body: Record<string, unknown>, grant: string | null) {
  const headers: Record<string, string> = grant === null ? {} : { 'x-step-up-grant': grant };
  return customer.client.request({ method: 'PUT', url: '/v1/wallet/auto-top-up', body: { fundingSourceId: card, pin: PIN, ...body }, headers });
}

/** Spends from the prepaid wallet as a payment would (committed before any scan). */
async function spend(customerId: string, amount: bigint): Promise<void> {
  const wallet = await w.db.pool.query<{ account_id: string }>('select account_id from customer_wallets where customer_id = $1', [customerId]);
  requireTransferCreated(await w.koban.ledger.createTransfers([{ id: uuidv7(), debitAccountId: wallet.rows[0]!.account_id, creditAccountId: merchant.receivableAccountId,
    amount, pendingId: null, ledger: Ledgers.JPY, code: TransferCodes.payment, flags: 0, timeoutSeconds: 0, reference: 'test spend' }]));
}

async function autoTopUps(customerId: string): Promise<Array<{ status: string; failure_code: string | null }>> {
  const rows = await w.db.pool.query<{ status: string; failure_code: string | null }>('select status, failure_code from auto_top_up_runs where customer_id = $1 order by created_at', [customerId]);
  return rows.rows;
}

describe('auto top-up', () => {
  it('is set up only behind the top-up gate and only from a card that passed 3-D Secure', async () => {
    const { customer, card } = await customerWithVerifiedCard(1000);
    const unverified = await cardSource(w.koban, customer, CARDS.mastercard);
    const grantFor = (fundingSourceId: string) => stepUpBySms(w.koban, customer, 'top_up', { amountMinor: 3000, fundingSourceId });
    const notEligible = await setAuto(customer, unverified, { threshold: '1000', amount: '3000', enabled: true }, await grantFor(unverified));
    expect(notEligible.json()).toMatchObject({ code: 'auto_top_up_source_not_eligible' });
    const noGrant = await setAuto(customer, card, { threshold: '1000', amount: '3000', enabled: true }, null);
    expect(noGrant.statusCode).toBe(403);
    const tooMuch = await setAuto(customer, card, { threshold: '1000', amount: '30001', enabled: true }, await grantFor(card));
    expect(tooMuch.statusCode).toBe(400);
    const set = await setAuto(customer, card, { threshold: '1000', amount: '3000', enabled: true }, await grantFor(card));
    expect(set.statusCode, set.body).toBe(200);
    expect(set.json()).toMatchObject({ settings: { threshold: '1000', amount: '3000', enabled: true }, caps: { perDayMax: 2, amountMax: '30000' } });
    const read = await customer.client.request({ method: 'GET', url: '/v1/wallet/auto-top-up' });
    expect(read.json().settings).toMatchObject({ fundingSourceId: card, enabled: true });
  });

  it('fires once per crossing even when scans race, and respects its daily cap', async () => {
    const { customer, card } = await customerWithVerifiedCard(20_000);
    const grant = await stepUpBySms(w.koban, customer, 'top_up', { amountMinor: 10_000, fundingSourceId: card });
    expect((await setAuto(customer, card, { threshold: '5000', amount: '10000', enabled: true }, grant)).statusCode).toBe(200);
    await w.koban.wallet.runAutoTopUps();
    expect(await autoTopUps(customer.customerId)).toEqual([]);

    await spend(customer.customerId, 16_000n); // 4,000 left: below the threshold
    await Promise.all([w.koban.wallet.runAutoTopUps(), w.koban.wallet.runAutoTopUps(), w.koban.wallet.runAutoTopUps()]);
    await w.koban.wallet.runAutoTopUps();
    expect(await autoTopUps(customer.customerId)).toEqual([{ status: 'completed', failure_code: null }]);
    expect(await balanceOf(w, customer.customerId)).toBe(14_000n);

    await w.koban.wallet.runAutoTopUps(); // sees 14,000: armed again
    await spend(customer.customerId, 10_000n);
    await w.koban.wallet.runAutoTopUps();
    expect(await balanceOf(w, customer.customerId)).toBe(14_000n);
    await w.koban.wallet.runAutoTopUps();
    await spend(customer.customerId, 10_000n);
    await w.koban.wallet.runAutoTopUps(); // a third crossing today: over the cap of 2
    await w.koban.wallet.runAutoTopUps();
    expect(await balanceOf(w, customer.customerId)).toBe(4_000n);
    expect((await autoTopUps(customer.customerId)).map((r) => r.status)).toEqual(['completed', 'completed', 'refused']);
    const kinds = await feedKinds(w, customer.customerId);
    expect(kinds.filter((k) => k === 'auto_top_up_completed')).toHaveLength(2);
    expect(kinds.filter((k) => k === 'auto_top_up_skipped')).toHaveLength(1);
    const topUps = await w.db.pool.query(`select 1 from top_ups where customer_id = $1 and idempotency_key like 'auto-%'`, [customer.customerId]);
    expect(topUps.rowCount).toBe(2);
  });

  it('a failed run turns auto top-up off and tells the customer', async () => {
    const { customer, card } = await customerWithVerifiedCard(6_000);
    const grant = await stepUpBySms(w.koban, customer, 'top_up', { amountMinor: 5_000, fundingSourceId: card });
    expect((await setAuto(customer, card, { threshold: '2000', amount: '5000', enabled: true }, grant)).statusCode).toBe(200);
    expect((await customer.client.request({ method: 'DELETE', url: `/v1/customer/funding-sources/${card}` })).statusCode).toBe(200);
    await spend(customer.customerId, 5_000n);
    await w.koban.wallet.runAutoTopUps();
    expect(await autoTopUps(customer.customerId)).toEqual([{ status: 'failed', failure_code: 'funding_source_not_found' }]);
    const read = await customer.client.request({ method: 'GET', url: '/v1/wallet/auto-top-up' });
    expect(read.json().settings).toMatchObject({ enabled: false, disabledReason: 'funding_source_not_found' });
    expect(await feedKinds(w, customer.customerId)).toContain('auto_top_up_disabled');
    await w.koban.wallet.runAutoTopUps();
    expect(await autoTopUps(customer.customerId)).toHaveLength(1);
    expect(await balanceOf(w, customer.customerId)).toBe(1_000n);
  });
});
