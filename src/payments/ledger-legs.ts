/**
 * The ledger side of every payments operation: a main leg and an optional fee leg, linked so they commit
 * or fail together. Ids are chosen by the caller and stored before this runs, so re-running it after a
 * crash is safe: the ledger answers `exists` (or the same sticky failure) for ids it has seen.
 */
import type { Ledger } from '../ledger/ledger.ts';
import { isSuccess, TransferFlags, type TransferRequest, type TransferResult, type TransferResultCode } from '../ledger/types.ts';
import { assert } from '../platform/assert.ts';

export interface Leg {
  readonly id: string;
  readonly debitAccountId: string;
  readonly creditAccountId: string;
  readonly amountMinor: bigint;
  readonly code: number;
  readonly reference: string;
  /** The ledger both accounts are on: the merchant's (a test twin's is `Ledgers.TEST_JPY`, tills.ts). */
  readonly ledger: number;
}

export type LegsOutcome = { readonly ok: true } | { readonly ok: false; readonly result: TransferResultCode };

export async function runLegs(ledger: Ledger, legs: readonly Leg[]): Promise<LegsOutcome> {
  return legsOutcome(await ledger.createTransfers(legRequests(legs)));
}

/** The legs as one linked chain of transfer requests (legs of zero are left out). */
export function legRequests(legs: readonly Leg[]): TransferRequest[] {
  const present = legs.filter((leg) => leg.amountMinor > 0n);
  assert(present.length > 0, 'at least one leg moves money');
  return present.map((leg, index) => ({
    id: leg.id, debitAccountId: leg.debitAccountId, creditAccountId: leg.creditAccountId, amount: leg.amountMinor, pendingId: null,
    ledger: leg.ledger, code: leg.code, flags: index < present.length - 1 ? TransferFlags.linked : TransferFlags.none,
    timeoutSeconds: 0, reference: leg.reference,
  }));
}

/** What the ledger's answers to one chain mean for the operation. */
export function legsOutcome(results: readonly TransferResult[]): LegsOutcome {
  if (results.every((r) => isSuccess(r.result))) return { ok: true };
  // The cause is the leg that failed on its own; its partners answer linked_event_failed.
  const cause = results.find((r) => !isSuccess(r.result) && r.result !== 'linked_event_failed') ?? results.find((r) => !isSuccess(r.result));
  assert(cause !== undefined, 'a failed chain has a failed leg');
  return { ok: false, result: cause.result };
}

/**
 * The meaning of a ledger refusal, as the payer's side sees it (the debit account of a payment is the
 * wallet; outcomes.ts turns these into the error every surface answers).
 */
export function failureCodeOf(result: TransferResultCode): string {
  switch (result) {
    case 'exceeds_credits': return 'insufficient_funds';
    case 'debit_account_frozen': return 'wallet_frozen';
    case 'debit_account_closed': return 'wallet_closed';
    case 'credit_account_closed': return 'account_closed';
    default: return `ledger_${result}`;
  }
}
