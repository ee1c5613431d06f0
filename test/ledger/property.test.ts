/**
 * Random sequences of transfers, holds, posts, voids, linked chains, retries, changed retries,
 * freezes and failures, run against the real ledger (on PostgreSQL) and the simple model: every
 * result code and every balance must agree, and `ledger verify` must pass after the run. Steps come in
 * windows of up to six groups submitted at once, so they meet in the batcher and share transactions
 * (holds posted or voided twice in one batch, a retry beside its twin, a chain failing beside others).
 */
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createLedger, type Ledger } from '../../src/ledger/ledger.ts';
import { createMetrics } from '../../src/platform/metrics.ts';
import { AccountCodes, AccountFlags, Ledgers, TransferCodes, TransferFlags, type TransferRequest } from '../../src/ledger/types.ts';
import type { Database } from '../../src/platform/db/database.ts';
import { createTestDatabase, openAnotherConnection, type TestDatabase } from '../support/database.ts';
import { expectLedgerConsistent, MAX_AMOUNT } from './fixtures.ts';
import { LedgerModel } from './model.ts';

let db: TestDatabase;
let pool: Database;
let ledger: Ledger;
const metrics = createMetrics({ defaultMetrics: false });
beforeAll(async () => {
  db = await createTestDatabase();
  // Thousands of small commits: what is checked is what each commit decides and makes visible, not that it
  // survives a power cut, so this throwaway database skips the wait for the WAL flush (fresh pool, new setting).
  await db.pool.query(`alter database ${(await db.pool.query<{ name: string }>('select current_database() as name')).rows[0]!.name} set synchronous_commit to off`);
  pool = await openAnotherConnection(db, 4);
  // One batch written at a time, so the batcher writes groups in the order they were submitted and the
  // model can replay that order; groups submitted together still share a batch (a transaction). Batches
  // written at once by several processes are the subject of concurrency.test.ts.
  ledger = createLedger(pool, { maxAmountMinor: MAX_AMOUNT, batchItemsMax: 100, batchesInFlightMax: 1, metrics });
});
afterAll(async () => {
  await pool.close();
  await db.close();
});

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

/** Groups submitted together, without waiting for one another: they meet in the batcher and share batches. */
const WINDOW_MAX = 6;
const RUNS = 400;

it('the ledger and the model agree on every result and every balance, with several transfers in flight at once', async () => {
  let groupsSubmitted = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(fc.array(stepArbitrary, { minLength: 1, maxLength: WINDOW_MAX }), { minLength: 2, maxLength: 10 }), async (windows) => {
      const model = new LedgerModel();
      const ids = await setUpAccounts(model);
      // Fund the wallets so that most payments can succeed and some cannot.
      const funding = [1, 2].map((w) => ({ id: randomUUID(), debitAccountId: ids[0]!, creditAccountId: ids[w]!, amount: 5000n, pendingId: null, ledger: Ledgers.JPY, code: TransferCodes.topUp, flags: 0, timeoutSeconds: 0, reference: null }));
      expect((await ledger.createTransfers(funding)).map((r) => r.result)).toEqual(model.submit(funding));
      const holds: string[] = [];
      const history: TransferRequest[][] = [];
      for (const window of windows) {
        // Status changes are their own transactions: applied first, as a barrier.
        for (const step of window) {
          if (step.kind !== 'freeze' && step.kind !== 'unfreeze') continue;
          const status = step.kind === 'freeze' ? 'frozen' : 'active';
          await ledger.setAccountStatus(ids[step.account]!, status);
          model.setStatus(ids[step.account]!, status);
        }
        // Posts, voids and retries refer only to what earlier windows acknowledged, as a real client's would.
        const groups = window.map((step) => buildGroup(step, ids, holds, history)).filter((group) => group !== null);
        groupsSubmitted += groups.length;
        const actual = (await Promise.all(groups.map((group) => ledger.createTransfers(group)))).map((results) => results.map((r) => r.result));
        groups.forEach((group, index) => {
          expect(actual[index], JSON.stringify({ window, index })).toEqual(model.submit(group));
          history.push(group);
          group.forEach((r, i) => {
            if ((r.flags & TransferFlags.pending) !== 0 && actual[index]![i] === 'created') holds.push(r.id);
          });
        });
      }
      const accounts = new Map((await ledger.getAccounts(ids.slice(0, 4))).map((account) => [account.id, account]));
      for (const id of ids.slice(0, 4)) {
        const account = accounts.get(id);
        const expected = model.account(id)!;
        expect([account?.debitsPending, account?.debitsPosted, account?.creditsPending, account?.creditsPosted]).toEqual([expected.dp, expected.dpo, expected.cp, expected.cpo]);
      }
    }),
    { numRuns: RUNS },
  );
  // The submissions did meet in the batcher: fewer database transactions than groups.
  const batches = (await metrics.ledgerBatchSize.get()).values.find((v) => v.metricName === 'koban_ledger_batch_operations_count')?.value ?? 0;
  expect(batches).toBeGreaterThan(0);
  expect(batches).toBeLessThan(groupsSubmitted + RUNS);
  await expectLedgerConsistent(db);
}, 300_000);
