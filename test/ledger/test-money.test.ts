/**
 * Test money is a currency of its own (Ledgers.TEST_JPY, src/ledger/types.ts): random linked chains, holds, posts
 * and voids between real-yen and test-yen accounts, naming either ledger, on the real ledger (PostgreSQL). The
 * property: real and test money never meet — no transfer is ever written between accounts of two ledgers or on
 * a ledger other than its accounts', each ledger's money stays where it was (the sum of one ledger's balances is
 * zero), and `ledger verify` passes.
 */
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Ledger } from '../../src/ledger/ledger.ts';
import { AccountCodes, AccountFlags, Ledgers, TransferCodes, TransferFlags, type TransferRequest } from '../../src/ledger/types.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { expectLedgerConsistent, newLedger } from './fixtures.ts';

let db: TestDatabase;
let ledger: Ledger;
beforeAll(async () => {
  db = await createTestDatabase();
  ledger = newLedger(db);
});
afterAll(async () => {
  await ledger.drain();
  await db.close();
});

/** Per ledger: an issuer (unflagged), two wallets (never below zero) and a merchant receivable. */
async function openBooks(): Promise<Array<{ id: string; ledger: number }>> {
  const specs = [Ledgers.JPY, Ledgers.TEST_JPY].flatMap((on) => [
    { code: on === Ledgers.JPY ? AccountCodes.fundingClearingCard : AccountCodes.testMoneyIssuer, flags: AccountFlags.none },
    { code: AccountCodes.customerWallet, flags: AccountFlags.debitsMustNotExceedCredits },
    { code: AccountCodes.customerWallet, flags: AccountFlags.debitsMustNotExceedCredits },
    { code: AccountCodes.merchantReceivable, flags: AccountFlags.none },
  ].map((spec) => ({ ...spec, id: randomUUID(), ledger: on, reference: null })));
  await ledger.createAccounts(specs);
  return specs.map((s) => ({ id: s.id, ledger: s.ledger }));
}

const legArbitrary = fc.record({ debit: fc.nat(7), credit: fc.nat(7), amount: fc.integer({ min: 1, max: 500 }), namesTest: fc.boolean(), pending: fc.boolean() });
const chainArbitrary = fc.array(legArbitrary, { minLength: 1, maxLength: 3 });

it('no transfer ever moves money between the real-yen and the test ledger, whatever ledger a request names', async () => {
  const books = await openBooks();
  // Fund both sets of wallets on their own ledger, so the chains below can move money at all.
  const fund = books.filter((_, i) => i % 4 === 1 || i % 4 === 2).map((wallet, i): TransferRequest => ({
    id: randomUUID(), debitAccountId: books[wallet.ledger === Ledgers.JPY ? 0 : 4]!.id, creditAccountId: wallet.id, amount: 10_000n, pendingId: null,
    ledger: wallet.ledger, code: TransferCodes.topUp, flags: 0, timeoutSeconds: 0, reference: `fund-${i}`,
  }));
  expect((await ledger.createTransfers(fund)).map((r) => r.result)).toEqual(fund.map(() => 'created'));
  const holds: Array<{ id: string; ledger: number }> = [];

  await fc.assert(fc.asyncProperty(chainArbitrary, fc.boolean(), async (chain, resolveAHold) => {
    const requests: TransferRequest[] = chain.filter((leg) => leg.debit !== leg.credit).map((leg, i, legs) => ({
      id: randomUUID(), debitAccountId: books[leg.debit]!.id, creditAccountId: books[leg.credit]!.id, amount: BigInt(leg.amount), pendingId: null,
      ledger: leg.namesTest ? Ledgers.TEST_JPY : Ledgers.JPY, code: TransferCodes.payment,
      flags: (i < legs.length - 1 ? TransferFlags.linked : 0) | (leg.pending ? TransferFlags.pending : 0), timeoutSeconds: leg.pending ? 3600 : 0, reference: null,
    }));
    const held = holds.pop();
    if (resolveAHold && held !== undefined) {
      // A post naming the other ledger than its hold's is refused too.
      requests.push({ id: randomUUID(), debitAccountId: null, creditAccountId: null, amount: null, pendingId: held.id, ledger: held.ledger === Ledgers.JPY ? Ledgers.TEST_JPY : Ledgers.JPY,
        code: TransferCodes.payment, flags: TransferFlags.postPendingTransfer, timeoutSeconds: 0, reference: null });
    }
    if (requests.length === 0) return;
    const results = await ledger.createTransfers(requests);
    requests.forEach((request, i) => {
      const debit = books.find((b) => b.id === request.debitAccountId);
      const credit = books.find((b) => b.id === request.creditAccountId);
      const crosses = debit !== undefined && credit !== undefined && (debit.ledger !== credit.ledger || request.ledger !== debit.ledger);
      if (crosses || request.pendingId !== null) expect(results[i]?.result).not.toMatch(/^(created|exists)$/);
      if (results[i]?.result === 'created' && request.flags & TransferFlags.pending && debit !== undefined) holds.push({ id: request.id, ledger: debit.ledger });
    });
  }), { numRuns: 150 });

  const mixed = await db.pool.query<{ n: number }>(
    `select count(*)::int as n from transfers t join accounts d on d.id = t.debit_account_id join accounts c on c.id = t.credit_account_id
     where d.ledger <> c.ledger or t.ledger <> d.ledger`);
  expect(mixed.rows[0]?.n).toBe(0);
  const perLedger = await db.pool.query<{ ledger: number; net: string }>(
    `select ledger, (sum(credits_posted) - sum(debits_posted))::text as net from accounts group by ledger order by ledger`);
  expect(perLedger.rows).toEqual([{ ledger: Ledgers.JPY, net: '0' }, { ledger: Ledgers.TEST_JPY, net: '0' }]);
  // Something did move on each ledger: the property was not vacuous.
  const moved = await db.pool.query<{ ledger: number; n: number }>(`select ledger, count(*)::int as n from transfers where code = ${TransferCodes.payment} group by ledger order by ledger`);
  expect(moved.rows.map((r) => r.ledger)).toEqual([Ledgers.JPY, Ledgers.TEST_JPY]);
  await expectLedgerConsistent(db);
});
