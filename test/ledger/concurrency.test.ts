/**
 * Races on the real PostgreSQL. Several ledger instances, each with its own connection pool and its
 * own batcher, stand in for several Koban processes, so the row locks, not just one process's
 * batcher, are what keep money safe here.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createLedger, type Ledger } from '../../src/ledger/ledger.ts';
import { AccountCodes, AccountFlags, Ledgers, TransferCodes } from '../../src/ledger/types.ts';
import type { Database } from '../../src/platform/db/database.ts';
import { createMetrics } from '../../src/platform/metrics.ts';
import { createTestDatabase, openAnotherConnection, type TestDatabase } from '../support/database.ts';
import { balanceOf, expectLedgerConsistent, MAX_AMOUNT, openAccounts, openWallet, transfer } from './fixtures.ts';

const PROCESSES = 4;
let db: TestDatabase;
const pools: Database[] = [];
let ledgers: Ledger[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  for (let i = 0; i < PROCESSES; i++) pools.push(await openAnotherConnection(db, 10));
  // Small batches (the smallest a request allows): more transactions, more interleaving, more races.
  ledgers = pools.map((pool) => createLedger(pool, { maxAmountMinor: MAX_AMOUNT, batchItemsMax: 100 }));
});
afterEach(async () => expectLedgerConsistent(db));
afterAll(async () => {
  for (const pool of pools) await pool.close();
  await db.close();
});

const some = (i: number): Ledger => ledgers[i % ledgers.length]!;

describe('concurrency on the real PostgreSQL', () => {
  it('hundreds of simultaneous debits never overdraw a wallet that can afford only some', async () => {
    const { funding, wallet, merchant } = await openAccounts(some(0));
    await some(0).createTransfers([transfer(funding, wallet, 10_000n, { code: TransferCodes.topUp })]);
    const attempts = Array.from({ length: 300 }, (_, i) => some(i).createTransfers([transfer(wallet, merchant, 100n)]));
    const results = (await Promise.all(attempts)).map((r) => r[0]?.result);
    expect(results.filter((r) => r === 'created')).toHaveLength(100);
    expect(results.filter((r) => r === 'exceeds_credits')).toHaveLength(200);
    expect(await balanceOf(some(0), wallet)).toMatchObject({ available: 0n, posted: 0n });
    expect((await balanceOf(some(0), merchant)).posted).toBe(10_000n);
  });

  it('concurrent retries of one transfer id create exactly one transfer', async () => {
    const { funding, wallet, merchant } = await openAccounts(some(0));
    await some(0).createTransfers([transfer(funding, wallet, 1_000n)]);
    const payment = transfer(wallet, merchant, 300n);
    const results = (await Promise.all(Array.from({ length: 60 }, (_, i) => some(i).createTransfers([payment])))).map((r) => r[0]?.result);
    expect(results.filter((r) => r === 'created')).toHaveLength(1);
    expect(results.filter((r) => r === 'exists')).toHaveLength(59);
    const rows = await db.pool.query('select count(*)::int as n from transfers where id = $1', [payment.id]);
    expect(rows.rows[0]?.n).toBe(1);
    expect((await balanceOf(some(0), wallet)).available).toBe(700n);
  });

  it('concurrent payments into one hot merchant lose no credit', async () => {
    const { funding, merchant } = await openAccounts(some(0));
    const wallets = await Promise.all(Array.from({ length: 200 }, (_, i) => openWallet(some(i))));
    await Promise.all(wallets.map((w, i) => some(i).createTransfers([transfer(funding, w, 1_000n)])));
    const payments = wallets.flatMap((w, i) => [transfer(w, merchant, BigInt(1 + (i % 7))), transfer(w, merchant, 10n)]);
    const results = await Promise.all(payments.map((p, i) => some(i).createTransfers([p])));
    expect(results.every((r) => r[0]?.result === 'created')).toBe(true);
    const expected = payments.reduce((sum, p) => sum + (p.amount ?? 0n), 0n);
    expect((await balanceOf(some(0), merchant)).posted).toBe(expected);
  });

  it('transfers in both directions between the same accounts never surface a deadlock', async () => {
    const accounts = await Promise.all(Array.from({ length: 6 }, (_, i) => some(i).createAccounts([
      { id: randomUUID(), ledger: Ledgers.JPY, code: AccountCodes.suspense, flags: AccountFlags.none, reference: null },
    ])));
    const ids = accounts.map((a) => a[0]!.id);
    const work = Array.from({ length: 400 }, (_, i) => {
      const from = ids[i % ids.length]!;
      const to = ids[(i * 7 + 1) % ids.length]!;
      return from === to ? null : some(i).createTransfers([transfer(from, to, BigInt(1 + (i % 13)))]);
    }).filter((p) => p !== null);
    const results = await Promise.all(work);
    expect(results.every((r) => r[0]?.result === 'created')).toBe(true);
  });

  it('an unlocked (hot) account frozen while a batch is deciding: the batch decides again and refuses', async () => {
    const { funding, merchant } = await openAccounts(some(0));
    await some(0).createTransfers([transfer(funding, merchant, 1_000n)]);
    // A ledger of its own, so its retry counter counts this batch alone.
    const metrics = createMetrics({ defaultMetrics: false });
    const watched = createLedger(pools[1]!, { maxAmountMinor: MAX_AMOUNT, batchItemsMax: 100, metrics });
    // Another transaction holds the merchant's row; the batch reads it (no lock), decides, and waits in its write.
    const blocker = await db.pool.connect();
    try {
      await blocker.query('begin');
      const blockerPid = (await blocker.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid;
      await blocker.query('select 1 from accounts where id = $1 for update', [merchant]);
      // More operations than LATE_LOCK_MIN_OPERATIONS, so the batch locks the merchant late.
      const debit = watched.createTransfers(Array.from({ length: 20 }, () => transfer(merchant, funding, 10n)));
      // The event itself: the batch has read the merchant as active and now waits for its late lock.
      await vi.waitFor(async () => {
        const waiting = await db.pool.query('select 1 from pg_stat_activity where $1 = any(pg_blocking_pids(pid))', [blockerPid]);
        if (waiting.rowCount === 0) throw new Error('the batch is not waiting on the merchant yet');
      }, { timeout: 15_000, interval: 10 });
      await blocker.query(`update accounts set status = 'frozen' where id = $1`, [merchant]);
      await blocker.query('commit');
      expect((await debit).map((r) => r.result)).toEqual(Array.from({ length: 20 }, () => 'debit_account_frozen'));
    } finally {
      blocker.release();
    }
    // Which path ran: the status re-check under the late lock sent the batch back once, and the second
    // decision refused. (Had the freeze come before the read, there would be no retry.)
    const retries = (await metrics.ledgerBatchRetries.get()).values;
    expect(retries.map((v) => ({ reason: v.labels.reason, count: v.value }))).toEqual([{ reason: 'late_account_changed', count: 1 }]);
    expect((await balanceOf(some(0), merchant)).posted).toBe(1_000n);
  });

  it('an unlocked account frozen before the batch reads it is refused at once, with no second decision', async () => {
    const { funding, merchant } = await openAccounts(some(0));
    await some(0).createTransfers([transfer(funding, merchant, 1_000n)]);
    const metrics = createMetrics({ defaultMetrics: false });
    const watched = createLedger(pools[1]!, { maxAmountMinor: MAX_AMOUNT, batchItemsMax: 100, metrics });
    await some(0).setAccountStatus(merchant, 'frozen');
    const results = await watched.createTransfers(Array.from({ length: 20 }, () => transfer(merchant, funding, 10n)));
    expect(results.map((r) => r.result)).toEqual(Array.from({ length: 20 }, () => 'debit_account_frozen'));
    expect((await metrics.ledgerBatchRetries.get()).values).toEqual([]);
  });

  it('a post racing a void on the same hold: exactly one wins', async () => {
    const { funding, wallet, merchant } = await openAccounts(some(0));
    await some(0).createTransfers([transfer(funding, wallet, 5_000n)]);
    for (let round = 0; round < 20; round++) {
      const held = transfer(wallet, merchant, 100n, { flags: 2, timeoutSeconds: 60 });
      await some(round).createTransfers([held]);
      const post = { ...transfer(wallet, merchant, 100n), flags: 4, pendingId: held.id, debitAccountId: null, creditAccountId: null, amount: null };
      const voids = { ...post, id: randomUUID(), flags: 8 };
      const [a, b] = await Promise.all([some(round).createTransfers([post]), some(round + 1).createTransfers([voids])]);
      expect([a[0]?.result, b[0]?.result].filter((r) => r === 'created')).toHaveLength(1);
    }
  });
});
