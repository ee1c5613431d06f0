// Money movements at the sandbox bank: debits under an active mandate (settled at once, unlike a real
// 口座振替 batch) and payouts to any account (accepted now, paid or failed a little later, with a webhook).
import { BoundedMap } from '../shared/bounded-map.ts';
import { invalidState, notFound, SandboxError } from '../shared/errors.ts';
import { newId } from '../shared/ids.ts';
import { accountBehaviour } from './accounts.ts';
import type { BankFailureCode } from './accounts.ts';
import type { BankAccount, MandateBook } from './mandates.ts';

const DEBIT_CAPACITY = 100_000;
const PAYOUT_CAPACITY = 100_000;
const MAX_UNSETTLED_PAYOUTS = 10_000;
export const DEFAULT_PAYOUT_SETTLE_DELAY_MS = 2_000;

export type TransferEventType = 'debit_succeeded' | 'debit_failed' | 'payout_accepted' | 'payout_paid' | 'payout_failed';

export interface DebitRecord {
  id: string;
  mandateId: string;
  amountMinor: bigint;
  reference: string;
  status: 'succeeded' | 'failed';
  failureCode: BankFailureCode | null;
  createdAtMs: number;
}

export interface PayoutRecord extends BankAccount {
  id: string;
  amountMinor: bigint;
  reference: string;
  status: 'accepted' | 'paid' | 'failed';
  failureCode: BankFailureCode | null;
  createdAtMs: number;
  settledAtMs: number | null;
}

export type EmitTransfer = (type: TransferEventType, transfer: DebitRecord | PayoutRecord) => void;

export class TransferBook {
  readonly #debits = new BoundedMap<DebitRecord>('debits', DEBIT_CAPACITY, 'reject');
  readonly #payouts = new BoundedMap<PayoutRecord>('payouts', PAYOUT_CAPACITY, 'reject');
  readonly #settleTimers = new Set<NodeJS.Timeout>();
  readonly #mandates: MandateBook;
  readonly #now: () => number;
  readonly #emit: EmitTransfer;
  readonly #settleDelayMs: number;

  constructor(mandates: MandateBook, now: () => number, emit: EmitTransfer, settleDelayMs: number) {
    this.#mandates = mandates;
    this.#now = now;
    this.#emit = emit;
    this.#settleDelayMs = settleDelayMs;
  }

  debit(input: { mandateId: string; amountMinor: bigint; reference: string }): DebitRecord {
    const mandate = this.#mandates.get(input.mandateId, 'mandateId');
    if (mandate.status !== 'active') throw invalidState('mandate_not_active', `The mandate is ${mandate.status}.`);
    const failureCode = accountBehaviour(mandate.accountNumber).debitFailure;
    const debit: DebitRecord = {
      id: newId('dbt'), mandateId: mandate.id, amountMinor: input.amountMinor, reference: input.reference,
      status: failureCode === null ? 'succeeded' : 'failed', failureCode, createdAtMs: this.#now(),
    };
    this.#debits.set(debit.id, debit);
    this.#emit(failureCode === null ? 'debit_succeeded' : 'debit_failed', debit);
    return debit;
  }

  getDebit(id: string): DebitRecord {
    const debit = this.#debits.get(id);
    if (debit === undefined) throw notFound('debit', 'id');
    return debit;
  }

  /** A payout to the account behind an active mandate: the holder's own account, whose number Koban never keeps (a withdrawal). */
  payoutToMandate(input: { mandateId: string; amountMinor: bigint; reference: string }): PayoutRecord {
    const mandate = this.#mandates.get(input.mandateId, 'id');
    if (mandate.status !== 'active') throw invalidState('mandate_not_active', `The mandate is ${mandate.status}.`);
    const { bankCode, branchCode, accountType, accountNumber, holderNameKana } = mandate;
    return this.payout({ bankCode, branchCode, accountType, accountNumber, holderNameKana, amountMinor: input.amountMinor, reference: input.reference });
  }

  payout(input: BankAccount & { amountMinor: bigint; reference: string }): PayoutRecord {
    if (this.#settleTimers.size >= MAX_UNSETTLED_PAYOUTS) {
      throw new SandboxError(503, 'api_error', 'sandbox_capacity_exceeded', 'Too many payouts are waiting to settle.');
    }
    const payout: PayoutRecord = {
      ...input, id: newId('po'), status: 'accepted', failureCode: null, createdAtMs: this.#now(), settledAtMs: null,
    };
    this.#payouts.set(payout.id, payout);
    this.#emit('payout_accepted', payout);
    const timer = setTimeout(() => {
      this.#settleTimers.delete(timer);
      this.#settle(payout);
    }, this.#settleDelayMs);
    this.#settleTimers.add(timer);
    return payout;
  }

  getPayout(id: string): PayoutRecord {
    const payout = this.#payouts.get(id);
    if (payout === undefined) throw notFound('payout', 'id');
    return payout;
  }

  close(): void {
    for (const timer of this.#settleTimers) clearTimeout(timer);
    this.#settleTimers.clear();
  }

  #settle(payout: PayoutRecord): void {
    const failureCode = accountBehaviour(payout.accountNumber).payoutFailure;
    payout.status = failureCode === null ? 'paid' : 'failed';
    payout.failureCode = failureCode;
    payout.settledAtMs = this.#now();
    this.#emit(failureCode === null ? 'payout_paid' : 'payout_failed', payout);
  }
}
