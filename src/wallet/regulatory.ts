/**
 * What Koban owes its customers, for the regulator (issue 19), computed from the ledger's immutable transfers
 * for any instant — not from today's balances — so a figure for a past base date can be recomputed and
 * checked at any time.
 *
 * - **Prepaid** (前払式支払手段, Art. 14): when the unused balance at a base date (31 March, 30 September)
 *   exceeds ¥10,000,000, the issuer must deposit at least half of it (発行保証金), filing within two months.
 * - **Funds transfer** (資金移動業, Art. 43): at least 100% of what is owed to customers must be secured
 *   (履行保証金).
 */
import { AccountCodes, Ledgers } from '../ledger/types.ts';
import { assert } from '../platform/assert.ts';
import type { Queryable } from '../platform/db/database.ts';

export const PREPAID_DEPOSIT_THRESHOLD_MINOR = 10_000_000n;

export interface Outstanding {
  readonly at: Date;
  readonly prepaidMinor: bigint;
  readonly prepaidAccounts: number;
  readonly fundsTransferMinor: bigint;
  readonly fundsTransferAccounts: number;
}

/** Half of the unused prepaid balance, rounded up ("at least half"), once it exceeds ¥10M; nothing below. */
export function prepaidSecurityDeposit(unusedPrepaidMinor: bigint): bigint {
  assert(unusedPrepaidMinor >= 0n, 'an unused balance is not negative');
  if (unusedPrepaidMinor <= PREPAID_DEPOSIT_THRESHOLD_MINOR) return 0n;
  return (unusedPrepaidMinor + 1n) / 2n;
}

const JST_OFFSET_MS = 9 * 60 * 60 * 1000;

/** The end (23:59:59.999 JST) of a base date, which must be 31 March or 30 September. */
export function baseDateEnd(day: string): Date {
  const match = /^([0-9]{4})-(03-31|09-30)$/.exec(day);
  assert(match !== null, 'a base date is 31 March or 30 September');
  return new Date(Date.parse(`${day}T00:00:00Z`) - JST_OFFSET_MS + 24 * 60 * 60 * 1000 - 1);
}

/** The latest base date whose end is at or before `at`, as YYYY-MM-DD. */
export function latestBaseDate(at: Date): string {
  const jst = new Date(at.getTime() + JST_OFFSET_MS);
  const year = jst.getUTCFullYear();
  const candidates = [`${year}-09-30`, `${year}-03-31`, `${year - 1}-09-30`];
  const found = candidates.find((day) => baseDateEnd(day).getTime() <= at.getTime());
  assert(found !== undefined, 'a base date precedes every instant');
  return found;
}

/** The filing deadline: two months after the base date. */
export function filingDeadline(baseDate: string): string {
  return baseDate.endsWith('03-31') ? `${baseDate.slice(0, 4)}-05-31` : `${baseDate.slice(0, 4)}-11-30`;
}

/**
 * Customer balances of each kind at `at`, from the posted transfers created up to then (holds and voids
 * excluded: flags 2 and 8, as `ledger verify` counts posted totals). A report: one scan of the transfers.
 */
export async function outstandingAt(db: Queryable, at: Date): Promise<Outstanding> {
  const rows = await db.query<{ code: number; outstanding: string; accounts: string }>(
    `with legs as (
       select credit_account_id as account_id, amount from transfers where flags & 10 = 0 and created_at <= $1
       union all
       select debit_account_id, -amount from transfers where flags & 10 = 0 and created_at <= $1
     ), balances as (
       select a.code, l.account_id, sum(l.amount) as balance from legs l join accounts a on a.id = l.account_id
       where a.code = any($2::smallint[]) and a.ledger = $3 group by a.code, l.account_id
     )
     select code, coalesce(sum(balance), 0)::text as outstanding, count(*) filter (where balance <> 0)::text as accounts from balances group by code`,
    // Real yen only: test wallets' test money (Ledgers.TEST_JPY, test-wallets.ts) is owed to nobody.
    [at, [AccountCodes.customerWallet, AccountCodes.customerFundsTransfer], Ledgers.JPY]);
  const of = (code: number) => rows.rows.find((row) => row.code === code);
  const prepaid = of(AccountCodes.customerWallet);
  const fundsTransfer = of(AccountCodes.customerFundsTransfer);
  const result = {
    at, prepaidMinor: BigInt(prepaid?.outstanding ?? '0'), prepaidAccounts: Number(prepaid?.accounts ?? '0'),
    fundsTransferMinor: BigInt(fundsTransfer?.outstanding ?? '0'), fundsTransferAccounts: Number(fundsTransfer?.accounts ?? '0'),
  };
  assert(result.prepaidMinor >= 0n && result.fundsTransferMinor >= 0n, 'customer balances never go below zero');
  return result;
}
