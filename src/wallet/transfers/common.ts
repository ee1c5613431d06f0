/**
 * What sending, requesting and withdrawing share: the module's dependencies, derived ledger ids, the money
 * transaction (the row and the ledger legs commit together, under the customer's lock) and the leg builder.
 */
import { createHash } from 'node:crypto';
import type pg from 'pg';
import { isLedgerRetryable } from '../../ledger/ledger.ts';
import { isSuccess, Ledgers, TransferFlags, type TransferRequest, type TransferResult } from '../../ledger/types.ts';
import { assert } from '../../platform/assert.ts';
import type { Clock } from '../../platform/clock.ts';
import { withTransaction } from '../../platform/db/database.ts';
import { KobanError } from '../../platform/errors.ts';
import { derivedUuid, isUuid } from '../../platform/ids.ts';
import type { WalletDeps } from '../deps.ts';
import type { WalletIdentity } from '../identity-port.ts';

export interface TransfersDeps {
  readonly wallet: WalletDeps;
  readonly identity: WalletIdentity;
  readonly clock: Clock;
}

/** Every ledger leg of a send, acceptance, return or withdrawal has an id derived from its row: retries move it once. */
export function legId(kind: 'send' | 'accept' | 'return' | 'withdraw' | 'withdraw-fee' | 'withdraw-return' | 'withdraw-fee-return', rowId: string): string {
  assert(isUuid(rowId), 'legs derive from a row id');
  return derivedUuid('koban-wallet-transfer-leg', kind, rowId.toLowerCase());
}

export function leg(id: string, debitAccountId: string, creditAccountId: string, amount: bigint, code: number, reference: string): TransferRequest {
  assert(amount > 0n, 'a leg moves a positive amount');
  return { id, debitAccountId, creditAccountId, amount, pendingId: null, ledger: Ledgers.JPY, code, flags: TransferFlags.none, timeoutSeconds: 0, reference };
}

/** One chain: every leg but the last is linked to the next, so they move together or not at all. */
export function chain(legs: readonly TransferRequest[]): TransferRequest[] {
  return legs.map((l, index) => (index < legs.length - 1 ? { ...l, flags: l.flags | TransferFlags.linked } : l));
}


export function requestHash(parts: readonly unknown[]): Buffer {
  return createHash('sha256').update(JSON.stringify(parts, (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value))).digest();
}

const MONEY_TRANSACTION_ATTEMPTS = 5;

/**
 * Runs work that writes rows and moves money in one transaction (`ledger.createTransfersWithin`). A conflict
 * the ledger would retry rolls everything back and decides again, a bounded number of times.
 */
export async function inMoneyTransaction<T>(deps: TransfersDeps, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await withTransaction(deps.wallet.db, work);
    } catch (error) {
      if (attempt >= MONEY_TRANSACTION_ATTEMPTS || !isLedgerRetryable(error)) throw error;
    }
  }
}

/** Moves one chain in the caller's transaction; a refusal throws (the transaction rolls back, nothing moved). */
export async function moveWithin(deps: TransfersDeps, client: pg.PoolClient, legs: readonly TransferRequest[]): Promise<void> {
  const [results] = await deps.wallet.ledger.createTransfersWithin(client, [chain(legs)]);
  assert(results !== undefined && results.length === legs.length, 'one ledger result per leg');
  // In a chain, the leg that failed names the reason; the others only say they were linked to it.
  const refused = results.find((result) => !isSuccess(result.result) && result.result !== 'linked_event_failed') ?? results.find((result) => !isSuccess(result.result));
  if (refused !== undefined) throw refusal(refused);
}

function refusal(result: TransferResult): KobanError {
  switch (result.result) {
    case 'exceeds_credits':
    case 'debit_account_not_found':
      return new KobanError('insufficient_funds');
    case 'debit_account_frozen':
    case 'debit_account_closed':
      return new KobanError('wallet_frozen');
    default:
      // Any other refusal of a leg whose id is derived from its row is a bug in this module, never the customer's.
      throw new Error(`ledger refused a wallet transfer leg: ${result.result}`);
  }
}
