/**
 * What became of the payouts the bank accepted. The bank settles a payout later (sandbox: seconds;
 * a real bank: the next banking day) and may fail it — a closed account, a wrong number. Koban asks the
 * bank (the provider's word, not a webhook's body) for every payout still `instructed`:
 * - paid → `paid`; the money left bank clearing for good.
 * - failed → the amount comes back from bank clearing (310) to the merchant's payout account (210) with
 *   a transfer whose id is derived from the settlement, so running this twice returns the money once; the
 *   settlement says `returned` with the bank's reason, and the next close pays it out again (together
 *   with that day's net) — after the merchant has fixed the bank account, it arrives.
 * Runs at the start of every close and on its own (`koban settlement payouts`).
 */
import { PLATFORM_ACCOUNTS } from '../../ledger/platform-accounts.ts';
import { Ledgers, TransferCodes } from '../../ledger/types.ts';
import { assert } from '../../platform/assert.ts';
import { derivedUuid } from '../../platform/ids.ts';
import { runLegs } from '../ledger-legs.ts';
import type { SettlementDeps } from './close.ts';

/** Payouts asked about per run; the rest wait for the next run (oldest-checked first). */
export const PAYOUTS_PER_RECONCILE_MAX = 500;

export interface PayoutReconciliation {
  readonly checked: number;
  readonly paid: number;
  readonly returned: number;
}

interface InstructedRow { id: string; merchant_id: string; payout_reference: string; payout_amount_minor: bigint; payout_account_id: string }

export async function reconcilePayouts(deps: SettlementDeps): Promise<PayoutReconciliation> {
  if (deps.rail === null) return { checked: 0, paid: 0, returned: 0 };
  const instructed = await deps.db.pool.query<InstructedRow>(
    `select s.id, s.merchant_id, s.payout_reference, s.payout_amount_minor, m.payout_account_id
     from settlements s join merchants m on m.id = s.merchant_id
     where s.payout_status = 'instructed' order by s.payout_checked_at nulls first limit $1`, [PAYOUTS_PER_RECONCILE_MAX]);
  let paid = 0;
  let returned = 0;
  for (const row of instructed.rows) {
    const outcome = await settleOne(deps, row);
    if (outcome === 'paid') paid++;
    if (outcome === 'returned') returned++;
  }
  return { checked: instructed.rows.length, paid, returned };
}

async function settleOne(deps: SettlementDeps, row: InstructedRow): Promise<'paid' | 'returned' | 'still_pending'> {
  assert(deps.rail !== null, 'a rail to ask');
  const answer = await deps.rail.getPayout(row.payout_reference);
  if (!answer.ok || answer.value.status === 'accepted') {
    await deps.db.pool.query(`update settlements set payout_checked_at = $2 where id = $1`, [row.id, deps.now()]);
    return 'still_pending';
  }
  if (answer.value.status === 'paid') {
    await deps.db.pool.query(`update settlements set payout_status = 'paid', payout_checked_at = $2 where id = $1 and payout_status = 'instructed'`, [row.id, deps.now()]);
    return 'paid';
  }
  const returnTransferId = returnTransferIdOf(row.id);
  const moved = await runLegs(deps.ledger, [{
    id: returnTransferId, debitAccountId: PLATFORM_ACCOUNTS.bankClearing, creditAccountId: row.payout_account_id,
    amountMinor: row.payout_amount_minor, code: TransferCodes.payoutReturn, reference: `payout-return:${row.payout_reference}`, ledger: Ledgers.JPY,
  }]);
  assert(moved.ok, 'returning a failed payout between unflagged platform accounts cannot be refused');
  await deps.db.pool.query(
    `update settlements set payout_status = 'returned', payout_return_transfer_id = $2, payout_failure = $3, payout_checked_at = $4
     where id = $1 and payout_status = 'instructed'`,
    [row.id, returnTransferId, `bank: ${answer.value.failureCode ?? 'failed'}`.slice(0, 300), deps.now()]);
  return 'returned';
}

/** Derived from the settlement: the ledger answers `exists` to a second return of the same payout. */
function returnTransferIdOf(settlementId: string): string {
  return derivedUuid('koban-payout-return', settlementId);
}
