import { randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import { createLedger, type Ledger } from '../../src/ledger/ledger.ts';
import { AccountCodes, AccountFlags, Ledgers, TransferCodes, TransferFlags, type TransferRequest } from '../../src/ledger/types.ts';
import { verifyLedger, formatReport } from '../../src/ledger/verify.ts';
import type { Database } from '../../src/platform/db/database.ts';

export const MAX_AMOUNT = 100_000_000_000n;

export function newLedger(db: Database, batchItemsMax?: number): Ledger {
  return createLedger(db, { maxAmountMinor: MAX_AMOUNT, ...(batchItemsMax === undefined ? {} : { batchItemsMax }) });
}

export async function openAccounts(ledger: Ledger) {
  const [funding, wallet, merchant] = await ledger.createAccounts([
    { id: randomUUID(), ledger: Ledgers.JPY, code: AccountCodes.fundingClearingCard, flags: AccountFlags.none, reference: 'card-rail' },
    { id: randomUUID(), ledger: Ledgers.JPY, code: AccountCodes.customerWallet, flags: AccountFlags.debitsMustNotExceedCredits, reference: 'customer-1' },
    { id: randomUUID(), ledger: Ledgers.JPY, code: AccountCodes.merchantReceivable, flags: AccountFlags.none, reference: 'merchant-1' },
  ]);
  if (funding === undefined || wallet === undefined || merchant === undefined) throw new Error('accounts not created');
  return { funding: funding.id, wallet: wallet.id, merchant: merchant.id };
}

export async function openWallet(ledger: Ledger): Promise<string> {
  const [wallet] = await ledger.createAccounts([
    { id: randomUUID(), ledger: Ledgers.JPY, code: AccountCodes.customerWallet, flags: AccountFlags.debitsMustNotExceedCredits, reference: null },
  ]);
  if (wallet === undefined) throw new Error('wallet not created');
  return wallet.id;
}

export function transfer(debit: string, credit: string, amount: bigint, extra: Partial<TransferRequest> = {}): TransferRequest {
  return {
    id: randomUUID(), debitAccountId: debit, creditAccountId: credit, amount, pendingId: null,
    ledger: Ledgers.JPY, code: TransferCodes.payment, flags: TransferFlags.none, timeoutSeconds: 0, reference: null, ...extra,
  };
}

export function hold(debit: string, credit: string, amount: bigint, timeoutSeconds = 60): TransferRequest {
  return transfer(debit, credit, amount, { flags: TransferFlags.pending, timeoutSeconds, code: TransferCodes.payment });
}

export function post(pendingId: string, amount: bigint | null = null): TransferRequest {
  return { ...transfer('', '', 1n), debitAccountId: null, creditAccountId: null, amount, pendingId, flags: TransferFlags.postPendingTransfer };
}

export function voidHold(pendingId: string): TransferRequest {
  return { ...transfer('', '', 1n), debitAccountId: null, creditAccountId: null, amount: null, pendingId, flags: TransferFlags.voidPendingTransfer };
}

export async function balanceOf(ledger: Ledger, id: string) {
  const account = await ledger.getAccount(id);
  if (account === null) throw new Error(`no account ${id}`);
  return {
    available: account.creditsPosted - account.debitsPosted - account.debitsPending,
    posted: account.creditsPosted - account.debitsPosted,
    debitsPending: account.debitsPending,
    creditsPending: account.creditsPending,
  };
}

/** The invariants every test ends with: verify recomputes all totals from the transfers. */
export async function expectLedgerConsistent(db: Database): Promise<void> {
  const report = await verifyLedger(db);
  expect(report.problems, formatReport(report)).toEqual([]);
  expect(report.ok).toBe(true);
}
