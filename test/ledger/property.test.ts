/**
 * Random sequences of transfers, holds, posts, voids, linked chains, retries, changed retries,
 * freezes and failures, run against the real ledger (on PostgreSQL) and the simple model: every
 * result code and every balance must agree, and `ledger verify` must pass after each sequence.
 */
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Ledger } from '../../src/ledger/ledger.ts';
import { AccountCodes, AccountFlags, Ledgers, TransferCodes, TransferFlags, type TransferRequest } from '../../src/ledger/types.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { expectLedgerConsistent, newLedger } from './fixtures.ts';
import { LedgerModel } from './model.ts';

let db: TestDatabase;
let ledger: Ledger;
beforeAll(async () => {
  db = await createTestDatabase();
  ledger = newLedger(db, 100);
});
afterAll(async () => db.close());

const ACCOUNT_SLOTS = 5; // funding, two wallets, merchant, and one id that does not exist

type Step =
  | { kind: 'transfer'; debit: number; credit: number; amount: number; pending: boolean; chainLength: number }
  | { kind: 'post' | 'void'; hold: number; amount: number | null }
  | { kind: 'retry'; of: number; changeAmount: boolean }
  | { kind: 'freeze' | 'unfreeze'; account: number };

const stepArbitrary: fc.Arbitrary<Step> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('transfer' as const), debit: fc.nat(ACCOUNT_SLOTS - 1), credit: fc.nat(ACCOUNT_SLOTS - 1), amount: fc.integer({ min: 1, max: 3000 }), pending: fc.boolean(), chainLength: fc.integer({ min: 1, max: 3 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constantFrom('post' as const, 'void' as const), hold: fc.nat(20), amount: fc.option(fc.integer({ min: 1, max: 3000 }), { nil: null }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('retry' as const), of: fc.nat(40), changeAmount: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constantFrom('freeze' as const, 'unfreeze' as const), account: fc.nat(ACCOUNT_SLOTS - 2) }) },
);

async function setUpAccounts(model: LedgerModel): Promise<string[]> {
  const specs = [
    { code: AccountCodes.fundingClearingCard, flags: AccountFlags.none },
    { code: AccountCodes.customerWallet, flags: AccountFlags.debitsMustNotExceedCredits },
    { code: AccountCodes.customerWallet, flags: AccountFlags.debitsMustNotExceedCredits },
    { code: AccountCodes.merchantReceivable, flags: AccountFlags.none },
  ].map((spec) => ({ id: randomUUID(), ledger: Ledgers.JPY, reference: null, ...spec }));
  await ledger.createAccounts(specs);
  for (const spec of specs) model.addAccount(spec.id, spec.ledger, spec.flags);
  return [...specs.map((s) => s.id), randomUUID()];
}

function buildGroup(step: Step, ids: string[], holds: string[], history: TransferRequest[][]): TransferRequest[] | null {
  const base = { pendingId: null, ledger: Ledgers.JPY, code: TransferCodes.payment, timeoutSeconds: 0, reference: null };
  switch (step.kind) {
    case 'transfer': {
      if (step.debit === step.credit) return null;
      return Array.from({ length: step.chainLength }, (_, i) => ({
        ...base, id: randomUUID(), debitAccountId: ids[step.debit]!, creditAccountId: ids[(step.credit + i) % ACCOUNT_SLOTS === step.debit ? step.credit : (step.credit + i) % ACCOUNT_SLOTS]!,
        amount: BigInt(step.amount * (i + 1)), flags: (i < step.chainLength - 1 ? TransferFlags.linked : 0) | (step.pending ? TransferFlags.pending : 0),
        timeoutSeconds: step.pending ? 3600 : 0,
      }));
    }
    case 'post':
    case 'void': {
      const pendingId = holds[step.hold % Math.max(1, holds.length)] ?? randomUUID();
      const flags = step.kind === 'post' ? TransferFlags.postPendingTransfer : TransferFlags.voidPendingTransfer;
      return [{ ...base, id: randomUUID(), debitAccountId: null, creditAccountId: null, amount: step.amount === null ? null : BigInt(step.amount), pendingId, flags }];
    }
    case 'retry': {
      const earlier = history[step.of % Math.max(1, history.length)];
      if (earlier === undefined) return null;
      if (!step.changeAmount) return earlier;
      return earlier.map((r) => ({ ...r, amount: r.amount === null ? 1n : r.amount + 1n }));
    }
    default:
      return null;
  }
}

it('the ledger and the model agree on every result and every balance', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(stepArbitrary, { minLength: 5, maxLength: 40 }), async (steps) => {
      const model = new LedgerModel();
      const ids = await setUpAccounts(model);
      // Fund the wallets so that most payments can succeed and some cannot.
      const funding = [1, 2].map((w) => ({ id: randomUUID(), debitAccountId: ids[0]!, creditAccountId: ids[w]!, amount: 5000n, pendingId: null, ledger: Ledgers.JPY, code: TransferCodes.topUp, flags: 0, timeoutSeconds: 0, reference: null }));
      expect((await ledger.createTransfers(funding)).map((r) => r.result)).toEqual(model.submit(funding));
      const holds: string[] = [];
      const history: TransferRequest[][] = [];
      for (const step of steps) {
        if (step.kind === 'freeze' || step.kind === 'unfreeze') {
          const status = step.kind === 'freeze' ? 'frozen' : 'active';
          await ledger.setAccountStatus(ids[step.account]!, status);
          model.setStatus(ids[step.account]!, status);
          continue;
        }
        const group = buildGroup(step, ids, holds, history);
        if (group === null) continue;
        const actual = (await ledger.createTransfers(group)).map((r) => r.result);
        expect(actual, JSON.stringify(step)).toEqual(model.submit(group));
        history.push(group);
        group.forEach((r, i) => {
          if ((r.flags & TransferFlags.pending) !== 0 && actual[i] === 'created') holds.push(r.id);
        });
      }
      for (const id of ids.slice(0, 4)) {
        const account = await ledger.getAccount(id);
        const expected = model.account(id)!;
        expect([account?.debitsPending, account?.debitsPosted, account?.creditsPending, account?.creditsPosted]).toEqual([expected.dp, expected.dpo, expected.cp, expected.cpo]);
      }
    }),
    { numRuns: 40 },
  );
  await expectLedgerConsistent(db);
}, 180_000);
