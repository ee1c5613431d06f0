// Top-up limits (LED-05), decided under a per-customer lock with top-ups in flight counted, and the 7pay pattern.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireTransferCreated } from '../../src/ledger/ledger.ts';
import { Ledgers, TransferCodes } from '../../src/ledger/types.ts';
import { uuidv7 } from '../../src/platform/ids.ts';
import { ensureCustomerWallet } from '../../src/wallet/customer-wallets.ts';
import { PLATFORM_ACCOUNTS } from '../../src/ledger/platform-accounts.ts';
import { stepUpBySms } from '../identity/support.ts';
import {
  answerChallenge, balanceOf, bankSource, CARDS, cardSource, customerWithPin, expectLedgerVerifies, startWalletEnv, topUp, type WalletEnv,
} from './support.ts';

let w: WalletEnv;
beforeAll(async () => {
  // The defaults except a lower 30-day cap, so the 30-day test needs few top-ups.
  w = await startWalletEnv({ KOBAN_TOPUP_30D_MAX: '150000' });
});
afterAll(async () => {
  if (w !== undefined) await expectLedgerVerifies(w.db);
  await w?.close();
});

function expectLimit(response: { statusCode: number; json(): Record<string, unknown> }, limit: string): void {
  expect(response.statusCode).toBe(422);
  expect(response.json()).toMatchObject({ code: 'top_up_limit_exceeded', limit });
}

describe('top-up limits', () => {
  it('refuses a top-up above the per-top-up limit', async () => {
    const customer = await customerWithPin(w.koban);
    const bank = await bankSource(w, customer);
    expectLimit(await topUp(w.koban, customer, bank, 50_001), 'per_top_up');
    expect((await topUp(w.koban, customer, bank, 50_000)).json().status).toBe('completed');
  });

  it('the 7pay pattern: several top-ups within a minute stop at the daily cap', async () => {
    const customer = await customerWithPin(w.koban);
    const bank = await bankSource(w, customer);
    const started = Date.now();
    expect((await topUp(w.koban, customer, bank, 40_000)).json().status).toBe('completed');
    expect((await topUp(w.koban, customer, bank, 40_000)).json().status).toBe('completed');
    const third = await topUp(w.koban, customer, bank, 40_000);
    expectLimit(third, 'daily');
    expect(third.json()).toMatchObject({ limitAmount: '100000', available: '20000' });
    expect(Date.now() - started).toBeLessThan(60_000);
    expect((await topUp(w.koban, customer, bank, 20_000)).json().status).toBe('completed');
    expectLimit(await topUp(w.koban, customer, bank, 1), 'daily');
    expect(await balanceOf(w, customer.customerId)).toBe(100_000n);
  });

  it('decides concurrent top-ups one after the other: two racing for the last 50,000 of the day, one wins', async () => {
    const customer = await customerWithPin(w.koban);
    const bank = await bankSource(w, customer);
    expect((await topUp(w.koban, customer, bank, 50_000)).json().status).toBe('completed');
    const grants = [
      await stepUpBySms(w.koban, customer, 'top_up', { amountMinor: 50_000, fundingSourceId: bank }),
      await stepUpBySms(w.koban, customer, 'top_up', { amountMinor: 40_000, fundingSourceId: bank }),
    ];
    const [a, b] = await Promise.all([
      topUp(w.koban, customer, bank, 50_000, { grant: grants[0] }),
      topUp(w.koban, customer, bank, 40_000, { grant: grants[1] }),
    ]);
    const outcomes = [a, b].map((r) => (r.statusCode === 201 ? r.json().status : r.json().code)).sort();
    expect(outcomes).toEqual(['completed', 'top_up_limit_exceeded']);
    expect(await balanceOf(w, customer.customerId)).toBeLessThanOrEqual(100_000n);
  });

  it('counts a top-up still waiting for 3-D Secure against the daily cap', async () => {
    const customer = await customerWithPin(w.koban);
    const card = await cardSource(w.koban, customer, CARDS.threeDs);
    const pending = (await topUp(w.koban, customer, card, 50_000)).json();
    expect(pending.status).toBe('requires_action');
    expect((await topUp(w.koban, customer, card, 50_000)).json().status).toBe('requires_action');
    expectLimit(await topUp(w.koban, customer, card, 1), 'daily');
    expect((await answerChallenge(pending.challengeUrl)).status).toBe(200);
    await w.koban.app.inject({ method: 'GET', url: `/v1/top-ups/${pending.topUpId}/3ds-return` });
    expect(await balanceOf(w, customer.customerId)).toBe(50_000n);
  });

  it('refuses a top-up above the 30-day limit', async () => {
    const customer = await customerWithPin(w.koban);
    const bank = await bankSource(w, customer);
    for (let i = 0; i < 2; i++) expect((await topUp(w.koban, customer, bank, 50_000)).json().status).toBe('completed');
    // Those two were ten days ago: the daily window is clear, the 30-day one is not.
    await w.db.pool.query(`update top_ups set created_at = created_at - interval '10 days' where customer_id = $1`, [customer.customerId]);
    expect((await topUp(w.koban, customer, bank, 50_000)).json().status).toBe('completed');
    expectLimit(await topUp(w.koban, customer, bank, 1_000), 'monthly');
  });

  it('refuses a top-up that would take the wallet above its maximum balance', async () => {
    const customer = await customerWithPin(w.koban);
    const bank = await bankSource(w, customer);
    const walletId = await ensureCustomerWallet(w.db, w.koban.ledger, customer.customerId);
    requireTransferCreated(await w.koban.ledger.createTransfers([{
      id: uuidv7(), debitAccountId: PLATFORM_ACCOUNTS.bankClearing, creditAccountId: walletId, amount: 990_000n, pendingId: null,
      ledger: Ledgers.JPY, code: TransferCodes.seed, flags: 0, timeoutSeconds: 0, reference: 'test: a wallet near its cap',
    }]));
    const over = await topUp(w.koban, customer, bank, 10_001);
    expectLimit(over, 'wallet_balance');
    expect(over.json()).toMatchObject({ available: '10000' });
    expect((await topUp(w.koban, customer, bank, 10_000)).json().status).toBe('completed');
    expect(await balanceOf(w, customer.customerId)).toBe(1_000_000n);
  });

  it('gives cards that skipped 3-D Secure the lower caps, and the normal ones once 3-D Secure is asked for', async () => {
    const customer = await customerWithPin(w.koban);
    const card = await cardSource(w.koban, customer, CARDS.visa);
    expectLimit(await topUp(w.koban, customer, card, 5_001), 'non_3ds_per_top_up');
    expect((await topUp(w.koban, customer, card, 5_000)).json()).toMatchObject({ status: 'completed', threeDSecure: false });
    expectLimit(await topUp(w.koban, customer, card, 1), 'non_3ds_daily');
    // Asking for 3-D Secure on the same card: challenged, then counted under the normal caps.
    const challenged = (await topUp(w.koban, customer, card, 10_000, { threeDSecure: true })).json();
    expect(challenged).toMatchObject({ status: 'requires_action', threeDSecure: true });
    expect((await answerChallenge(challenged.challengeUrl)).status).toBe(200);
    await w.koban.wallet.reconcile({ ignoreSchedule: true });
    // Verified now: later top-ups need no challenge and use the normal caps.
    expect((await topUp(w.koban, customer, card, 8_000)).json()).toMatchObject({ status: 'completed', threeDSecure: true });
    expect(await balanceOf(w, customer.customerId)).toBe(23_000n);
  });
});
