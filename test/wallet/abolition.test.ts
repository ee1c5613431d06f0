// Abolition of the prepaid instrument (資金決済法 Art. 20, issue 19) on PostgreSQL and the sandbox bank over HTTP:
// customers claim their prepaid balance to their own bank account, batches pay each claim exactly once even when
// two batches run at once, a failed payout returns the money and the claim to pending once, and the regulator's
// CSV lists what is still owed.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildBank } from '../../sandbox/bank/app.ts';
import type { SandboxApp } from '../../sandbox/shared/server.ts';
import { createLedger, requireTransferCreated, type Ledger } from '../../src/ledger/ledger.ts';
import { ensurePlatformAccounts, PLATFORM_ACCOUNTS } from '../../src/ledger/platform-accounts.ts';
import { Ledgers, TransferCodes } from '../../src/ledger/types.ts';
import { uuidv7 } from '../../src/platform/ids.ts';
import { claimBalance, claimsOf, outstandingCsv, recordProcedure, runPayoutBatch, type AbolitionDeps } from '../../src/wallet/abolition/claims.ts';
import { ensureCustomerWallet } from '../../src/wallet/customer-wallets.ts';
import { outstandingAt } from '../../src/wallet/regulatory.ts';
import { createTestWallet } from '../../src/wallet/test-wallets.ts';
import { createTestMerchant } from '../payments/merchant-fixtures.ts';
import { HttpBankRail } from '../../src/wallet/funding/http-bank.ts';
import { expectLedgerConsistent } from '../ledger/fixtures.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';

const DAY_MS = 86_400_000;
const BOUND = { timeout: 60_000, interval: 50 };
let db: TestDatabase;
let ledger: Ledger;
let bank: SandboxApp;
let deps: AbolitionDeps;
const clock = { now: new Date() };

beforeAll(async () => {
  db = await createTestDatabase();
  ledger = createLedger(db, { maxAmountMinor: 100_000_000_000n });
  await ensurePlatformAccounts(ledger);
  bank = buildBank({ apiKey: 'abolition-bank-key', webhookSecret: 'abolition-bank-secret', payoutSettleDelayMs: 0 });
  const url = await bank.listen({ port: 0, host: '127.0.0.1' });
  deps = { db, ledger, bank: new HttpBankRail({ baseUrl: url, apiKey: 'abolition-bank-key', timeoutMs: 5_000 }), now: () => clock.now };
});
afterAll(async () => {
  if (db !== undefined) await expectLedgerConsistent(db);
  await bank?.close();
  await ledger?.drain();
  await db?.close();
});

async function customerWith(balance: bigint): Promise<{ customerId: string; walletAccountId: string }> {
  const customerId = uuidv7();
  const walletAccountId = await ensureCustomerWallet(db, ledger, customerId);
  if (balance > 0n) {
    requireTransferCreated(await ledger.createTransfers([{ id: uuidv7(), debitAccountId: PLATFORM_ACCOUNTS.cardClearing, creditAccountId: walletAccountId, amount: balance,
      pendingId: null, ledger: Ledgers.JPY, code: TransferCodes.topUp, flags: 0, timeoutSeconds: 0, reference: 'test top-up' }]));
  }
  return { customerId, walletAccountId };
}

const account = (accountNumber: string) => ({ bankCode: '0001', branchCode: '123', accountNumber, holderNameKana: 'ｺﾊﾞﾝ ﾀﾛｳ' });

async function balanceOf(accountId: string): Promise<bigint> {
  const found = await ledger.getAccount(accountId);
  return found === null ? 0n : found.creditsPosted - found.debitsPosted;
}

async function transfersReferencing(reference: string): Promise<number> {
  return (await db.pool.query('select 1 from transfers where reference = $1', [reference])).rowCount ?? 0;
}

/** Runs batches (two at once each round) until the claim reaches `status`; the bound only stops a broken run. */
async function untilClaim(customerId: string, status: string): Promise<void> {
  await vi.waitFor(async () => {
    await Promise.all([runPayoutBatch(deps), runPayoutBatch(deps)]);
    expect((await claimsOf(db.pool, customerId))[0]?.status).toBe(status);
  }, BOUND);
}

describe('before the procedure', () => {
  it('refuses a claim while no abolition is under way, and a claim period under 60 days', async () => {
    const customer = await customerWith(1_000n);
    await expect(claimBalance(deps, customer.customerId, customer.walletAccountId, account('1234567'))).rejects.toMatchObject({ code: 'abolition_not_active' });
    await expect(recordProcedure(db.pool, 'operator:a', 'operator:b', clock.now, 59)).rejects.toMatchObject({ code: 'validation_failed' });
    expect(await balanceOf(customer.walletAccountId)).toBe(1_000n);
  });
});

describe('claims and payouts', () => {
  beforeAll(async () => { await recordProcedure(db.pool, 'operator:a', 'operator:b', clock.now, 60); });

  it('pays each claim exactly once even when two batches run at once, again and again', async () => {
    const customers = await Promise.all([customerWith(3_000n), customerWith(4_500n), customerWith(1n)]);
    const claims = await Promise.all(customers.map((c, i) => claimBalance(deps, c.customerId, c.walletAccountId, account(`765432${i}`))));
    for (const c of customers) await untilClaim(c.customerId, 'paid');
    await Promise.all([runPayoutBatch(deps), runPayoutBatch(deps)]);
    for (const [i, c] of customers.entries()) {
      expect(await balanceOf(c.walletAccountId)).toBe(0n);
      expect(await transfersReferencing(`abolition:${claims[i]?.id}`)).toBe(1);
      expect((await claimsOf(db.pool, c.customerId))[0]).toMatchObject({ status: 'paid', attempt: 1, amountMinor: [3_000n, 4_500n, 1n][i] });
    }
  });

  it('a failed payout returns the money and the claim to pending once', async () => {
    const customer = await customerWith(2_000n);
    const claim = await claimBalance(deps, customer.customerId, customer.walletAccountId, account('7658888'));
    await vi.waitFor(async () => {
      await Promise.all([runPayoutBatch(deps), runPayoutBatch(deps)]);
      expect((await claimsOf(db.pool, customer.customerId))[0]?.attempt).toBeGreaterThan(1);
    }, BOUND);
    // The next attempt goes out at once with the same account (and fails again): every attempt's money came back once.
    const after = (await claimsOf(db.pool, customer.customerId))[0];
    expect(after?.failureCode).toBe('account_not_found');
    const returned = await db.pool.query<{ n: string }>(`select count(*)::text as n from transfers where reference = $1`, [`abolition-return:${claim.id}`]);
    const sent = await transfersReferencing(`abolition:${claim.id}`);
    const current = after?.status === 'sent' ? 1 : 0;
    expect(Number(returned.rows[0]?.n)).toBe(sent - current);
    expect(await balanceOf(customer.walletAccountId)).toBe(current === 1 ? 0n : 2_000n);
  });

  it('one open claim per customer; nothing to claim from an empty balance', async () => {
    const customer = await customerWith(500n);
    await claimBalance(deps, customer.customerId, customer.walletAccountId, account('1111111'));
    await expect(claimBalance(deps, customer.customerId, customer.walletAccountId, account('2222222'))).rejects.toMatchObject({ code: 'abolition_claim_open' });
    const empty = await customerWith(0n);
    await expect(claimBalance(deps, empty.customerId, empty.walletAccountId, account('3333333'))).rejects.toMatchObject({ code: 'abolition_nothing_to_claim' });
    await untilClaim(customer.customerId, 'paid');
  });

  it('the regulator\'s CSV lists every customer still owed a prepaid balance', async () => {
    const owed = await customerWith(12_345n);
    const csv = await outstandingCsv(db.pool);
    expect(csv.split('\r\n')[0]).toBe('customer_id,prepaid_balance_jpy,claim_status,claimed_jpy');
    expect(csv).toContain(`${owed.customerId},12345,,`);
  });

  it('test money is owed to nobody: a test wallet is in neither the regulator\'s CSV nor the outstanding prepaid total', async () => {
    const before = await outstandingAt(db.pool, new Date());
    const merchant = await createTestMerchant(db, ledger);
    const tester = await createTestWallet(db, ledger, merchant.merchantId, { label: 'sandbox', initialMinor: 54_321n, createdBy: null });
    const after = await outstandingAt(db.pool, new Date());
    expect([after.prepaidMinor, after.prepaidAccounts]).toEqual([before.prepaidMinor, before.prepaidAccounts]);
    expect(await outstandingCsv(db.pool)).not.toContain(tester.customerId);
  });

  it('refuses a claim after the claim period', async () => {
    const customer = await customerWith(700n);
    const start = clock.now;
    clock.now = new Date(start.getTime() + 61 * DAY_MS);
    try {
      await expect(claimBalance(deps, customer.customerId, customer.walletAccountId, account('4444444'))).rejects.toMatchObject({ code: 'abolition_claim_period_over' });
    } finally {
      clock.now = start;
    }
  });
});
