import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Ledger } from '../../src/ledger/ledger.ts';
import { TransferCodes, TransferFlags, Ledgers } from '../../src/ledger/types.ts';
import { KobanError } from '../../src/platform/errors.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { balanceOf, expectLedgerConsistent, hold, newLedger, openAccounts, post, transfer, voidHold } from './fixtures.ts';

let db: TestDatabase;
let ledger: Ledger;

beforeAll(async () => {
  db = await createTestDatabase();
  ledger = newLedger(db);
});
afterEach(async () => expectLedgerConsistent(db));
afterAll(async () => db.close());

async function fundedAccounts(amount: bigint) {
  const accounts = await openAccounts(ledger);
  const [topUp] = await ledger.createTransfers([transfer(accounts.funding, accounts.wallet, amount, { code: TransferCodes.topUp })]);
  expect(topUp?.result).toBe('created');
  return accounts;
}

describe('single-phase transfers', () => {
  it('moves money from a funded wallet to a merchant and keeps both sides equal', async () => {
    const { wallet, merchant } = await fundedAccounts(10_000n);
    const [result] = await ledger.createTransfers([transfer(wallet, merchant, 2_500n)]);
    expect(result?.result).toBe('created');
    expect((await balanceOf(ledger, wallet)).available).toBe(7_500n);
    expect((await balanceOf(ledger, merchant)).posted).toBe(2_500n);
  });

  it('stores a reference exactly as given, whatever characters it holds (the write inlines it as a literal)', async () => {
    const { wallet, merchant } = await fundedAccounts(1_000n);
    const hostile = `O'Brien \\' "x"; drop table transfers; -- 小判 \u{1F4B4} $1 $$ E'\\n'`;
    const request = transfer(wallet, merchant, 100n, { reference: hostile });
    expect((await ledger.createTransfers([request]))[0]?.result).toBe('created');
    const stored = await ledger.lookupTransfer(request.id);
    expect(stored?.state === 'created' ? stored.transfer.reference : null).toBe(hostile);
  });

  it('matches ids whatever their case (PostgreSQL answers in lowercase)', async () => {
    const { wallet, merchant } = await fundedAccounts(1_000n);
    const shouted = transfer(wallet.toUpperCase(), merchant.toUpperCase(), 100n);
    const [result] = await ledger.createTransfers([{ ...shouted, id: shouted.id.toUpperCase() }]);
    expect(result?.result).toBe('created');
    expect((await ledger.createTransfers([shouted]))[0]?.result).toBe('exists');
    expect((await balanceOf(ledger, wallet)).available).toBe(900n);
  });

  it('refuses to overdraw a wallet and remembers the failure', async () => {
    const { wallet, merchant } = await fundedAccounts(1_000n);
    const attempt = transfer(wallet, merchant, 1_001n);
    expect((await ledger.createTransfers([attempt]))[0]?.result).toBe('exceeds_credits');
    expect((await balanceOf(ledger, wallet)).available).toBe(1_000n);
    // Even after the wallet is topped up, the same id never turns into a success.
    await ledger.createTransfers([transfer((await openAccounts(ledger)).funding, wallet, 5_000n)]);
    expect((await ledger.createTransfers([attempt]))[0]?.result).toBe('id_already_failed');
    expect(await ledger.lookupTransfer(attempt.id)).toEqual({ state: 'failed', result: 'exceeds_credits' });
  });

  it('answers a retry with the original transfer, and a changed retry with a conflict', async () => {
    const { wallet, merchant } = await fundedAccounts(10_000n);
    const payment = transfer(wallet, merchant, 700n);
    const [first] = await ledger.createTransfers([payment]);
    const [again] = await ledger.createTransfers([payment]);
    expect(again?.result).toBe('exists');
    expect(again?.transfer?.createdAt).toEqual(first?.transfer?.createdAt);
    const [changed] = await ledger.createTransfers([{ ...payment, amount: 701n }]);
    expect(changed).toMatchObject({ result: 'exists_with_different_fields', differentFields: ['amount'] });
    expect((await balanceOf(ledger, wallet)).available).toBe(9_300n);
  });

  it('refuses unknown accounts, another ledger and frozen or closed accounts', async () => {
    const { wallet, merchant } = await fundedAccounts(5_000n);
    expect((await ledger.createTransfers([transfer(randomUUID(), merchant, 1n)]))[0]?.result).toBe('debit_account_not_found');
    expect((await ledger.createTransfers([transfer(wallet, randomUUID(), 1n)]))[0]?.result).toBe('credit_account_not_found');
    expect((await ledger.createTransfers([{ ...transfer(wallet, merchant, 1n), ledger: 840 }]))[0]?.result).toBe('transfer_must_have_the_same_ledger_as_accounts');
    await ledger.setAccountStatus(wallet, 'frozen');
    expect((await ledger.createTransfers([transfer(wallet, merchant, 1n)]))[0]?.result).toBe('debit_account_frozen');
    // A frozen wallet still receives money: refunds must land.
    expect((await ledger.createTransfers([transfer(merchant, wallet, 10n, { code: TransferCodes.refund })]))[0]?.result).toBe('created');
    await ledger.setAccountStatus(wallet, 'active');
    expect((await ledger.createTransfers([transfer(wallet, merchant, 1n)]))[0]?.result).toBe('created');
    await expect(ledger.setAccountStatus(wallet, 'closed')).rejects.toMatchObject({ code: 'account_not_empty' });
  });

  it('rejects bad shapes before the ledger and writes nothing', async () => {
    const { wallet, merchant } = await fundedAccounts(5_000n);
    const before = await balanceOf(ledger, wallet);
    const bad = [
      { ...transfer(wallet, merchant, 0n) },
      { ...transfer(wallet, merchant, -5n) },
      { ...transfer(wallet, merchant, 100_000_000_001n) },
      { ...transfer(wallet, wallet, 5n) },
      { ...transfer(wallet, merchant, 5n), id: 'not-a-uuid' },
      { ...transfer(wallet, merchant, 5n), flags: TransferFlags.pending, timeoutSeconds: 0 },
      { ...transfer(wallet, merchant, 5n), flags: 64 },
    ];
    for (const request of bad) {
      await expect(ledger.createTransfers([request])).rejects.toBeInstanceOf(KobanError);
      expect(await ledger.lookupTransfer(request.id).catch(() => null)).toBeNull();
    }
    expect(await balanceOf(ledger, wallet)).toEqual(before);
  });
});

describe('two-phase transfers', () => {
  it('holds, then posts part and releases the rest', async () => {
    const { wallet, merchant } = await fundedAccounts(10_000n);
    const reservation = hold(wallet, merchant, 3_000n);
    expect((await ledger.createTransfers([reservation]))[0]?.result).toBe('created');
    expect(await balanceOf(ledger, wallet)).toMatchObject({ available: 7_000n, posted: 10_000n, debitsPending: 3_000n });
    expect((await ledger.createTransfers([post(reservation.id, 2_000n)]))[0]?.result).toBe('created');
    expect(await balanceOf(ledger, wallet)).toMatchObject({ available: 8_000n, posted: 8_000n, debitsPending: 0n });
    expect((await ledger.createTransfers([post(reservation.id)]))[0]?.result).toBe('pending_transfer_already_posted');
    expect((await ledger.createTransfers([voidHold(reservation.id)]))[0]?.result).toBe('pending_transfer_already_posted');
  });

  it('voids a hold and refuses to post more than was held', async () => {
    const { wallet, merchant } = await fundedAccounts(10_000n);
    const reservation = hold(wallet, merchant, 3_000n);
    await ledger.createTransfers([reservation]);
    expect((await ledger.createTransfers([post(reservation.id, 3_001n)]))[0]?.result).toBe('exceeds_pending_transfer_amount');
    expect((await ledger.createTransfers([voidHold(reservation.id)]))[0]?.result).toBe('created');
    expect((await balanceOf(ledger, wallet)).available).toBe(10_000n);
    expect((await balanceOf(ledger, merchant)).posted).toBe(0n);
  });

  it('lets a hold expire: it can no longer be posted and the sweeper releases it', async () => {
    const { wallet, merchant } = await fundedAccounts(10_000n);
    const reservation = hold(wallet, merchant, 4_000n, 1);
    await ledger.createTransfers([reservation]);
    expect((await balanceOf(ledger, wallet)).available).toBe(6_000n);
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    expect(await ledger.expireDueHolds()).toBeGreaterThanOrEqual(1);
    expect((await balanceOf(ledger, wallet)).available).toBe(10_000n);
    expect((await ledger.createTransfers([post(reservation.id)]))[0]?.result).toBe('pending_transfer_expired');
  });

  it('a hold counts against the balance while pending', async () => {
    const { wallet, merchant } = await fundedAccounts(1_000n);
    await ledger.createTransfers([hold(wallet, merchant, 800n)]);
    expect((await ledger.createTransfers([transfer(wallet, merchant, 300n)]))[0]?.result).toBe('exceeds_credits');
  });
});

describe('linked transfers', () => {
  it('commit together: payment, fee and cashback', async () => {
    const { funding, wallet, merchant } = await fundedAccounts(10_000n);
    const results = await ledger.createTransfers([
      transfer(wallet, merchant, 1_000n, { flags: TransferFlags.linked }),
      transfer(merchant, funding, 30n, { flags: TransferFlags.linked, code: TransferCodes.fee }),
      transfer(funding, wallet, 50n, { code: TransferCodes.cashback }),
    ]);
    expect(results.map((r) => r.result)).toEqual(['created', 'created', 'created']);
    expect((await balanceOf(ledger, wallet)).available).toBe(9_050n);
  });

  it('fail together when one member fails, and only the failing member is remembered', async () => {
    const { funding, wallet, merchant } = await fundedAccounts(500n);
    const chain = [
      transfer(funding, wallet, 100n, { flags: TransferFlags.linked }),
      transfer(wallet, merchant, 1_000n, { flags: TransferFlags.linked }),
      transfer(merchant, funding, 10n),
    ];
    const results = await ledger.createTransfers(chain);
    expect(results.map((r) => r.result)).toEqual(['linked_event_failed', 'exceeds_credits', 'linked_event_failed']);
    expect((await balanceOf(ledger, wallet)).available).toBe(500n);
    expect(await ledger.lookupTransfer(chain[0]?.id ?? '')).toBeNull();
    // The first member was never decided on its own: it may be submitted again.
    expect((await ledger.createTransfers([{ ...chain[0]!, flags: TransferFlags.none }]))[0]?.result).toBe('created');
  });

  it('reports a chain left open at the end of a request', async () => {
    const { wallet, merchant } = await fundedAccounts(500n);
    const results = await ledger.createTransfers([transfer(wallet, merchant, 1n, { flags: TransferFlags.linked })]);
    expect(results[0]?.result).toBe('linked_event_chain_open');
  });
});

describe('statements', () => {
  it('pages an account history newest first with a cursor', async () => {
    const { wallet, merchant } = await fundedAccounts(10_000n);
    for (let i = 1; i <= 7; i++) await ledger.createTransfers([transfer(wallet, merchant, BigInt(i))]);
    const first = await ledger.statement({ accountId: wallet, limit: 3 });
    expect(first.entries.map((e) => e.transfer.amount)).toEqual([7n, 6n, 5n]);
    expect(first.entries.every((e) => e.side === 'debit')).toBe(true);
    const second = await ledger.statement({ accountId: wallet, limit: 3, cursor: first.nextCursor });
    expect(second.entries.map((e) => e.transfer.amount)).toEqual([4n, 3n, 2n]);
    const third = await ledger.statement({ accountId: wallet, limit: 3, cursor: second.nextCursor });
    expect(third.entries.map((e) => [e.transfer.amount, e.side])).toEqual([[1n, 'debit'], [10_000n, 'credit']]);
    expect(third.nextCursor).toBeNull();
  });

  it('rejects a forged cursor', async () => {
    const { wallet } = await fundedAccounts(1n);
    await expect(ledger.statement({ accountId: wallet, cursor: 'bm9wZQ' })).rejects.toMatchObject({ code: 'validation_failed' });
  });
});

describe('immutability', () => {
  it('the database refuses to update or delete a transfer', async () => {
    const { wallet, merchant } = await fundedAccounts(100n);
    const [created] = await ledger.createTransfers([transfer(wallet, merchant, 10n)]);
    await expect(db.pool.query('update transfers set amount = 1 where id = $1', [created?.id])).rejects.toThrow(/immutable/);
    await expect(db.pool.query('delete from transfers where id = $1', [created?.id])).rejects.toThrow(/immutable/);
  });

  it('the database refuses to overdraw a wallet even if the application tried', async () => {
    const { wallet } = await fundedAccounts(100n);
    await expect(db.pool.query('update accounts set debits_posted = 101 where id = $1', [wallet])).rejects.toThrow(/debits_must_not_exceed_credits/);
  });
});

describe('accounts', () => {
  it('are created idempotently and refuse a changed repeat', async () => {
    const id = randomUUID();
    const spec = { id, ledger: Ledgers.JPY, code: 100, flags: 1, reference: 'c-9' };
    await ledger.createAccounts([spec]);
    await expect(ledger.createAccounts([spec])).resolves.toHaveLength(1);
    await expect(ledger.createAccounts([{ ...spec, flags: 0 }])).rejects.toMatchObject({ code: 'account_exists_with_different_fields' });
    await expect(ledger.createAccounts([{ ...spec, id: randomUUID(), ledger: 999 }])).rejects.toMatchObject({ code: 'ledger_not_found' });
    await expect(ledger.createAccounts([{ ...spec, id: randomUUID(), code: 123 }])).rejects.toMatchObject({ code: 'account_code_unknown' });
  });
});
