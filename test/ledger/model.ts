/**
 * A deliberately simple, independent model of the ledger's rules for the property tests. It copies
 * its whole state to run a linked chain (where the engine keeps an undo journal), and it is written
 * from the spec in src/ledger/README.md, not from the engine's code.
 */
import { AccountFlags, TransferFlags, type TransferRequest, type TransferResultCode } from '../../src/ledger/types.ts';

interface ModelAccount { ledger: number; flags: number; status: 'active' | 'frozen' | 'closed'; dp: bigint; dpo: bigint; cp: bigint; cpo: bigint }
interface ModelTransfer { request: TransferRequest; debit: string; credit: string; amount: bigint }
interface ModelHold { debit: string; credit: string; amount: bigint; ledger: number; code: number; status: 'pending' | 'posted' | 'voided' }
interface ModelState { accounts: Map<string, ModelAccount>; transfers: Map<string, ModelTransfer>; failed: Map<string, TransferResultCode>; holds: Map<string, ModelHold> }

const has = (flags: number, flag: number) => (flags & flag) === flag;

export class LedgerModel {
  state: ModelState = { accounts: new Map(), transfers: new Map(), failed: new Map(), holds: new Map() };

  addAccount(id: string, ledger: number, flags: number): void {
    this.state.accounts.set(id, { ledger, flags, status: 'active', dp: 0n, dpo: 0n, cp: 0n, cpo: 0n });
  }

  setStatus(id: string, status: 'active' | 'frozen'): void {
    const account = this.state.accounts.get(id);
    if (account !== undefined) account.status = status;
  }

  account(id: string): ModelAccount | undefined {
    return this.state.accounts.get(id);
  }

  submit(group: TransferRequest[]): TransferResultCode[] {
    const results: TransferResultCode[] = [];
    let index = 0;
    while (index < group.length) {
      let end = index;
      while (end < group.length - 1 && has(group[end]!.flags, TransferFlags.linked)) end++;
      const chain = group.slice(index, end + 1);
      const lastIsLinked = has(chain[chain.length - 1]!.flags, TransferFlags.linked);
      results.push(...(chain.length === 1 && !lastIsLinked ? [this.single(chain[0]!)] : this.chain(chain, lastIsLinked)));
      index = end + 1;
    }
    return results;
  }

  private single(request: TransferRequest): TransferResultCode {
    const result = this.decide(this.state, request);
    if (sticky(result)) this.state.failed.set(request.id, result);
    return result;
  }

  private chain(chain: TransferRequest[], openAtEnd: boolean): TransferResultCode[] {
    const copy = cloneState(this.state);
    const results: TransferResultCode[] = [];
    for (let i = 0; i < chain.length; i++) {
      const isLast = i === chain.length - 1;
      const result = isLast && openAtEnd ? 'linked_event_chain_open' : this.decide(copy, chain[i]!);
      if (result !== 'created' && result !== 'exists') {
        const failedResults = chain.map((_, j): TransferResultCode => (j === i ? result : 'linked_event_failed'));
        if (sticky(result)) this.state.failed.set(chain[i]!.id, result);
        return failedResults;
      }
      results.push(result);
    }
    this.state = copy;
    return results;
  }

  private decide(state: ModelState, r: TransferRequest): TransferResultCode {
    const existing = state.transfers.get(r.id);
    if (existing !== undefined) return sameAs(existing, r) ? 'exists' : 'exists_with_different_fields';
    if (state.failed.has(r.id)) return 'id_already_failed';
    if (has(r.flags, TransferFlags.postPendingTransfer) || has(r.flags, TransferFlags.voidPendingTransfer)) return this.resolve(state, r);
    const debit = state.accounts.get(r.debitAccountId!);
    const credit = state.accounts.get(r.creditAccountId!);
    if (debit === undefined) return 'debit_account_not_found';
    if (credit === undefined) return 'credit_account_not_found';
    if (debit.ledger !== credit.ledger) return 'accounts_must_have_the_same_ledger';
    if (r.ledger !== debit.ledger) return 'transfer_must_have_the_same_ledger_as_accounts';
    if (debit.status === 'closed') return 'debit_account_closed';
    if (debit.status === 'frozen') return 'debit_account_frozen';
    if (credit.status === 'closed') return 'credit_account_closed';
    const amount = r.amount!;
    if (has(debit.flags, AccountFlags.debitsMustNotExceedCredits) && debit.dp + debit.dpo + amount > debit.cpo) return 'exceeds_credits';
    if (has(credit.flags, AccountFlags.creditsMustNotExceedDebits) && credit.cp + credit.cpo + amount > credit.dpo) return 'exceeds_debits';
    if (has(r.flags, TransferFlags.pending)) {
      debit.dp += amount;
      credit.cp += amount;
      state.holds.set(r.id, { debit: r.debitAccountId!, credit: r.creditAccountId!, amount, ledger: r.ledger, code: r.code, status: 'pending' });
    } else {
      debit.dpo += amount;
      credit.cpo += amount;
    }
    state.transfers.set(r.id, { request: r, debit: r.debitAccountId!, credit: r.creditAccountId!, amount });
    return 'created';
  }

  private resolve(state: ModelState, r: TransferRequest): TransferResultCode {
    const holdTransfer = state.transfers.get(r.pendingId!);
    const held = state.holds.get(r.pendingId!);
    if (holdTransfer === undefined) return 'pending_transfer_not_found';
    if (held === undefined) return 'pending_transfer_not_pending';
    if (r.debitAccountId !== null && r.debitAccountId !== held.debit) return 'pending_transfer_has_different_debit_account_id';
    if (r.creditAccountId !== null && r.creditAccountId !== held.credit) return 'pending_transfer_has_different_credit_account_id';
    if (r.ledger !== held.ledger) return 'pending_transfer_has_different_ledger';
    if (r.code !== held.code) return 'pending_transfer_has_different_code';
    if (held.status === 'posted') return 'pending_transfer_already_posted';
    if (held.status === 'voided') return 'pending_transfer_already_voided';
    const post = has(r.flags, TransferFlags.postPendingTransfer);
    if (post && r.amount !== null && r.amount > held.amount) return 'exceeds_pending_transfer_amount';
    if (!post && r.amount !== null && r.amount !== held.amount) return 'pending_transfer_has_different_amount';
    const debit = state.accounts.get(held.debit)!;
    const credit = state.accounts.get(held.credit)!;
    if (post && debit.status !== 'active') return debit.status === 'frozen' ? 'debit_account_frozen' : 'debit_account_closed';
    if (post && credit.status === 'closed') return 'credit_account_closed';
    const amount = r.amount ?? held.amount;
    debit.dp -= held.amount;
    credit.cp -= held.amount;
    if (post) {
      debit.dpo += amount;
      credit.cpo += amount;
    }
    held.status = post ? 'posted' : 'voided';
    state.transfers.set(r.id, { request: r, debit: held.debit, credit: held.credit, amount });
    return 'created';
  }
}

function sameAs(existing: ModelTransfer, r: TransferRequest): boolean {
  const e = existing.request;
  return (r.debitAccountId === null || r.debitAccountId === existing.debit)
    && (r.creditAccountId === null || r.creditAccountId === existing.credit)
    && (r.amount === null || r.amount === existing.amount)
    && r.pendingId === e.pendingId && r.ledger === e.ledger && r.code === e.code && r.flags === e.flags
    && r.timeoutSeconds === e.timeoutSeconds && r.reference === e.reference;
}

function sticky(result: TransferResultCode): boolean {
  return !['created', 'exists', 'exists_with_different_fields', 'id_already_failed', 'linked_event_failed', 'linked_event_chain_open'].includes(result);
}

function cloneState(state: ModelState): ModelState {
  return {
    accounts: new Map([...state.accounts].map(([id, a]) => [id, { ...a }])),
    transfers: new Map(state.transfers),
    failed: new Map(state.failed),
    holds: new Map([...state.holds].map(([id, h]) => [id, { ...h }])),
  };
}
