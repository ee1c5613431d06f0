/**
 * The ledger's state machine, as a pure function over one batch (TigerBeetle's "execute" phase).
 * The store prefetches and locks everything a batch touches, this module decides every transfer
 * in order against that in-memory state, and the store writes the outcome in one statement.
 * Because it is pure, the same code runs against PostgreSQL, PGlite and the property tests.
 */
import { assert } from '../platform/assert.ts';
import { INT64_MAX } from '../platform/money.ts';
import {
  AccountFlags, hasFlag, isStickyFailure, TransferFlags,
  type AccountStatus, type PendingState, type PendingStatus, type Transfer, type TransferRequest,
  type TransferResult, type TransferResultCode,
} from './types.ts';

export interface AccountState {
  readonly id: string;
  readonly ledger: number;
  readonly flags: number;
  readonly status: AccountStatus;
  debitsPending: bigint;
  debitsPosted: bigint;
  creditsPending: bigint;
  creditsPosted: bigint;
}

export interface BatchState {
  readonly now: Date;
  /** Every account any operation in the batch may touch, locked by the caller. */
  readonly accounts: Map<string, AccountState>;
  /** Existing transfers whose ids appear in the batch, and the pending transfers it references. */
  readonly transfers: Map<string, Transfer>;
  readonly failures: Map<string, TransferResultCode>;
  readonly pendings: Map<string, PendingState>;
}

export type LedgerOperation =
  | { readonly kind: 'transfer'; readonly request: TransferRequest }
  /** Release a hold whose timeout has passed (the sweeper's operation). */
  | { readonly kind: 'expire'; readonly pendingId: string };

export interface BatchOutcome {
  /** One list per group, one result per operation, in order; `expire` answers with the pending id. */
  readonly results: TransferResult[][];
  readonly created: Transfer[];
  readonly failures: Array<{ id: string; result: TransferResultCode }>;
  /** Final state of every account whose totals changed. */
  readonly changedAccounts: AccountState[];
  /** Final status of every pending transfer created or resolved in the batch. */
  readonly pendingChanges: Array<{ id: string; status: PendingStatus; expiresAt: Date }>;
}

/**
 * Executes each group of operations in order. A group is one caller's request: linked chains never
 * span groups, so a caller's open chain cannot swallow the next caller's transfers.
 */
export function executeBatch(state: BatchState, groups: ReadonlyArray<readonly LedgerOperation[]>): BatchOutcome {
  const work = new Working(state);
  const results = groups.map((operations) => executeGroup(work, operations));
  return work.outcome(results);
}

function executeGroup(work: Working, operations: readonly LedgerOperation[]): TransferResult[] {
  const results: TransferResult[] = new Array(operations.length);
  let chainStart = -1;
  for (let index = 0; index < operations.length; index++) {
    const operation = operations[index];
    assert(operation !== undefined, 'operation index in range');
    if (operation.kind === 'expire') {
      assert(chainStart < 0, 'expire operations are never inside a linked chain');
      results[index] = work.expire(operation.pendingId);
      continue;
    }
    const linked = hasFlag(operation.request.flags, TransferFlags.linked);
    if (linked && chainStart < 0) {
      chainStart = index;
      work.beginChain();
    }
    const inChain = chainStart >= 0;
    const openAtEnd = linked && index === operations.length - 1;
    const result = openAtEnd ? failure(operation.request.id, 'linked_event_chain_open') : work.apply(operation.request, inChain);
    results[index] = result;
    if (!inChain) continue;
    if (!isSuccessResult(result)) {
      index = failChain(work, operations, results, chainStart, index);
      chainStart = -1;
    } else if (!linked) {
      work.commitChain();
      chainStart = -1;
    }
  }
  assert(chainStart < 0, 'every chain is closed at the end of its group');
  return results;
}

/** Marks a failed chain: the failing member keeps its reason, the others get linked_event_failed. */
function failChain(work: Working, operations: readonly LedgerOperation[], results: TransferResult[], start: number, failedAt: number): number {
  work.rollbackChain();
  let end = failedAt;
  // The chain runs on to the first member without the linked flag.
  while (end < operations.length - 1 && isLinked(operations[end])) end++;
  for (let index = start; index <= end; index++) {
    const operation = operations[index];
    assert(operation?.kind === 'transfer', 'chains hold transfers only');
    if (index !== failedAt) results[index] = failure(operation.request.id, 'linked_event_failed');
  }
  const failed = results[failedAt];
  assert(failed !== undefined, 'failed result present');
  if (isStickyFailure(failed.result)) work.rememberFailure(failed.id, failed.result);
  return end;
}

function isLinked(operation: LedgerOperation | undefined): boolean {
  return operation?.kind === 'transfer' && hasFlag(operation.request.flags, TransferFlags.linked);
}

function isSuccessResult(result: TransferResult): boolean {
  return result.result === 'created' || result.result === 'exists';
}

function failure(id: string, result: TransferResultCode, differentFields?: string[]): TransferResult {
  return differentFields === undefined ? { id, result, transfer: null } : { id, result, transfer: null, differentFields };
}

/**
 * Mutable working copy of the batch state with an undo journal, so a failed linked chain can be
 * rolled back without copying the whole state.
 */
class Working {
  private readonly state: BatchState;
  private readonly created: Transfer[] = [];
  private readonly failures = new Map<string, TransferResultCode>();
  private readonly changedAccounts = new Set<string>();
  private readonly pendingChanges = new Map<string, { id: string; status: PendingStatus; expiresAt: Date }>();
  private journal: Array<() => void> | null = null;

  constructor(state: BatchState) {
    this.state = state;
  }

  beginChain(): void {
    assert(this.journal === null, 'chains do not nest');
    this.journal = [];
  }

  commitChain(): void {
    assert(this.journal !== null, 'a chain is open');
    this.journal = null;
  }

  rollbackChain(): void {
    assert(this.journal !== null, 'a chain is open');
    const journal = this.journal;
    this.journal = null;
    for (let index = journal.length - 1; index >= 0; index--) journal[index]?.();
  }

  rememberFailure(id: string, result: TransferResultCode): void {
    assert(isStickyFailure(result), 'only sticky failures are remembered');
    if (this.state.failures.has(id) || this.state.transfers.has(id)) return;
    this.state.failures.set(id, result);
    this.failures.set(id, result);
  }

  apply(request: TransferRequest, inChain: boolean): TransferResult {
    const existing = this.state.transfers.get(request.id);
    if (existing !== undefined) return compareWithExisting(request, existing);
    if (this.state.failures.has(request.id)) return failure(request.id, 'id_already_failed');
    const isResolution = hasFlag(request.flags, TransferFlags.postPendingTransfer) || hasFlag(request.flags, TransferFlags.voidPendingTransfer);
    const result = isResolution ? this.resolvePending(request) : this.createTransfer(request);
    // Inside a chain the decision to remember waits until the whole chain is known (failChain).
    if (!inChain && isStickyFailure(result.result)) this.rememberFailure(request.id, result.result);
    return result;
  }

  expire(pendingId: string): TransferResult {
    const pending = this.state.pendings.get(pendingId);
    if (pending === undefined) return failure(pendingId, 'pending_transfer_not_found');
    if (pending.status !== 'pending' || pending.expiresAt > this.state.now) return failure(pendingId, 'pending_transfer_not_pending');
    this.releaseHold(pending, 'expired');
    return { id: pendingId, result: 'created', transfer: null };
  }

  private createTransfer(request: TransferRequest): TransferResult {
    assert(request.amount !== null && request.amount > 0n, 'validated amount');
    assert(request.debitAccountId !== null && request.creditAccountId !== null, 'validated accounts');
    const debit = this.state.accounts.get(request.debitAccountId);
    const credit = this.state.accounts.get(request.creditAccountId);
    const refusal = refuseAccounts(request, debit, credit);
    if (refusal !== null) return failure(request.id, refusal);
    assert(debit !== undefined && credit !== undefined, 'accounts checked');
    const pending = hasFlag(request.flags, TransferFlags.pending);
    const limit = refuseLimits(debit, credit, request.amount, pending);
    if (limit !== null) return failure(request.id, limit);
    const transfer = this.store(request, debit.id, credit.id, request.amount);
    if (pending) {
      this.addTotals(debit, 'debitsPending', request.amount);
      this.addTotals(credit, 'creditsPending', request.amount);
      const expiresAt = new Date(this.state.now.getTime() + request.timeoutSeconds * 1000);
      this.setPending({ transfer, status: 'pending', expiresAt });
    } else {
      this.addTotals(debit, 'debitsPosted', request.amount);
      this.addTotals(credit, 'creditsPosted', request.amount);
    }
    return { id: request.id, result: 'created', transfer };
  }

  private resolvePending(request: TransferRequest): TransferResult {
    assert(request.pendingId !== null, 'validated pending id');
    const pending = this.state.pendings.get(request.pendingId);
    const refusal = refusePendingResolution(request, pending, this.state.now);
    if (refusal === 'pending_transfer_expired' && pending?.status === 'pending') this.releaseHold(pending, 'expired');
    if (refusal !== null) return failure(request.id, refusal);
    assert(pending !== undefined, 'pending checked');
    const held = pending.transfer;
    const debit = this.state.accounts.get(held.debitAccountId);
    const credit = this.state.accounts.get(held.creditAccountId);
    assert(debit !== undefined && credit !== undefined, 'accounts of a pending transfer are prefetched');
    const post = hasFlag(request.flags, TransferFlags.postPendingTransfer);
    if (post && debit.status !== 'active') return failure(request.id, debit.status === 'frozen' ? 'debit_account_frozen' : 'debit_account_closed');
    if (post && credit.status === 'closed') return failure(request.id, 'credit_account_closed');
    const amount = request.amount ?? held.amount;
    const transfer = this.store(request, held.debitAccountId, held.creditAccountId, amount);
    this.releaseHold(pending, post ? 'posted' : 'voided');
    if (post) {
      this.addTotals(debit, 'debitsPosted', amount);
      this.addTotals(credit, 'creditsPosted', amount);
    }
    return { id: request.id, result: 'created', transfer };
  }

  private releaseHold(pending: PendingState, status: Exclude<PendingStatus, 'pending'>): void {
    const held = pending.transfer;
    const debit = this.state.accounts.get(held.debitAccountId);
    const credit = this.state.accounts.get(held.creditAccountId);
    assert(debit !== undefined && credit !== undefined, 'accounts of a pending transfer are prefetched');
    this.addTotals(debit, 'debitsPending', -held.amount);
    this.addTotals(credit, 'creditsPending', -held.amount);
    this.setPending({ transfer: held, status, expiresAt: pending.expiresAt });
  }

  private store(request: TransferRequest, debitAccountId: string, creditAccountId: string, amount: bigint): Transfer {
    const transfer: Transfer = {
      id: request.id, debitAccountId, creditAccountId, amount,
      pendingId: request.pendingId, ledger: request.ledger, code: request.code, flags: request.flags,
      timeoutSeconds: request.timeoutSeconds, reference: request.reference, createdAt: this.state.now,
    };
    this.state.transfers.set(transfer.id, transfer);
    this.created.push(transfer);
    this.journal?.push(() => {
      this.state.transfers.delete(transfer.id);
      assert(this.created.pop() === transfer, 'undo in reverse order');
    });
    return transfer;
  }

  private addTotals(account: AccountState, field: 'debitsPending' | 'debitsPosted' | 'creditsPending' | 'creditsPosted', delta: bigint): void {
    const before = account[field];
    const after = before + delta;
    assert(after >= 0n && after <= INT64_MAX, `account ${account.id} ${field} stays within 0..INT64_MAX`);
    account[field] = after;
    this.changedAccounts.add(account.id);
    this.journal?.push(() => {
      account[field] = before;
    });
  }

  private setPending(next: PendingState): void {
    const id = next.transfer.id;
    const previousState = this.state.pendings.get(id);
    const previousChange = this.pendingChanges.get(id);
    this.state.pendings.set(id, next);
    this.pendingChanges.set(id, { id, status: next.status, expiresAt: next.expiresAt });
    this.journal?.push(() => {
      if (previousState === undefined) this.state.pendings.delete(id);
      else this.state.pendings.set(id, previousState);
      if (previousChange === undefined) this.pendingChanges.delete(id);
      else this.pendingChanges.set(id, previousChange);
    });
  }

  outcome(results: TransferResult[][]): BatchOutcome {
    assert(this.journal === null, 'no chain left open');
    const changedAccounts = [...this.changedAccounts].map((id) => {
      const account = this.state.accounts.get(id);
      assert(account !== undefined, 'changed account exists');
      return account;
    });
    return {
      results,
      created: this.created,
      failures: [...this.failures].map(([id, result]) => ({ id, result })),
      changedAccounts,
      pendingChanges: [...this.pendingChanges.values()],
    };
  }
}

function refuseAccounts(request: TransferRequest, debit: AccountState | undefined, credit: AccountState | undefined): TransferResultCode | null {
  if (debit === undefined) return 'debit_account_not_found';
  if (credit === undefined) return 'credit_account_not_found';
  if (debit.ledger !== credit.ledger) return 'accounts_must_have_the_same_ledger';
  if (request.ledger !== debit.ledger) return 'transfer_must_have_the_same_ledger_as_accounts';
  if (debit.status === 'closed') return 'debit_account_closed';
  if (debit.status === 'frozen') return 'debit_account_frozen';
  if (credit.status === 'closed') return 'credit_account_closed';
  return null;
}

function refuseLimits(debit: AccountState, credit: AccountState, amount: bigint, pending: boolean): TransferResultCode | null {
  if (hasFlag(debit.flags, AccountFlags.debitsMustNotExceedCredits)
    && debit.debitsPending + debit.debitsPosted + amount > debit.creditsPosted) return 'exceeds_credits';
  if (hasFlag(credit.flags, AccountFlags.creditsMustNotExceedDebits)
    && credit.creditsPending + credit.creditsPosted + amount > credit.debitsPosted) return 'exceeds_debits';
  const debitTotal = pending ? debit.debitsPending : debit.debitsPosted;
  const creditTotal = pending ? credit.creditsPending : credit.creditsPosted;
  if (debitTotal + amount > INT64_MAX || debit.debitsPending + debit.debitsPosted + amount > INT64_MAX) return 'overflows_debits';
  if (creditTotal + amount > INT64_MAX || credit.creditsPending + credit.creditsPosted + amount > INT64_MAX) return 'overflows_credits';
  return null;
}

function refusePendingResolution(request: TransferRequest, pending: PendingState | undefined, now: Date): TransferResultCode | null {
  if (pending === undefined) return 'pending_transfer_not_found';
  const held = pending.transfer;
  if (!hasFlag(held.flags, TransferFlags.pending)) return 'pending_transfer_not_pending';
  if (request.debitAccountId !== null && request.debitAccountId !== held.debitAccountId) return 'pending_transfer_has_different_debit_account_id';
  if (request.creditAccountId !== null && request.creditAccountId !== held.creditAccountId) return 'pending_transfer_has_different_credit_account_id';
  if (request.ledger !== held.ledger) return 'pending_transfer_has_different_ledger';
  if (request.code !== held.code) return 'pending_transfer_has_different_code';
  if (pending.status === 'posted') return 'pending_transfer_already_posted';
  if (pending.status === 'voided') return 'pending_transfer_already_voided';
  if (pending.status === 'expired' || pending.expiresAt <= now) return 'pending_transfer_expired';
  const post = hasFlag(request.flags, TransferFlags.postPendingTransfer);
  if (request.amount !== null && post && request.amount > held.amount) return 'exceeds_pending_transfer_amount';
  if (request.amount !== null && !post && request.amount !== held.amount) return 'pending_transfer_has_different_amount';
  return null;
}

/** Idempotency: the same id with the same fields is the same transfer; anything else is a conflict. */
function compareWithExisting(request: TransferRequest, existing: Transfer): TransferResult {
  const different: string[] = [];
  if (request.debitAccountId !== null && request.debitAccountId !== existing.debitAccountId) different.push('debitAccountId');
  if (request.creditAccountId !== null && request.creditAccountId !== existing.creditAccountId) different.push('creditAccountId');
  if (request.amount !== null && request.amount !== existing.amount) different.push('amount');
  if (request.pendingId !== existing.pendingId) different.push('pendingId');
  if (request.ledger !== existing.ledger) different.push('ledger');
  if (request.code !== existing.code) different.push('code');
  if (request.flags !== existing.flags) different.push('flags');
  if (request.timeoutSeconds !== existing.timeoutSeconds) different.push('timeoutSeconds');
  if (request.reference !== existing.reference) different.push('reference');
  if (different.length > 0) return failure(request.id, 'exists_with_different_fields', different);
  return { id: request.id, result: 'exists', transfer: existing };
}
