/**
 * `koban ledger verify`: recompute every balance from the transfers and check the invariants.
 * Everything here is read-only and runs in one REPEATABLE READ transaction, so it sees one
 * consistent snapshot even while payments keep flowing.
 */
import type pg from 'pg';
import type { Database } from '../platform/db/database.ts';
import { withTransaction } from '../platform/db/database.ts';

export interface VerifyReport {
  readonly ok: boolean;
  readonly accountsChecked: number;
  readonly transfersChecked: number;
  readonly problems: string[];
}

const PROBLEMS_MAX = 100;

/** Each check returns rows that describe a violation; an empty result means the invariant holds. */
const CHECKS: ReadonlyArray<{ name: string; sql: string }> = [
  {
    name: 'per ledger, posted debits equal posted credits and pending debits equal pending credits',
    sql: `select ledger, sum(debits_posted) - sum(credits_posted) as posted_gap, sum(debits_pending) - sum(credits_pending) as pending_gap
          from accounts group by ledger
          having sum(debits_posted) <> sum(credits_posted) or sum(debits_pending) <> sum(credits_pending)`,
  },
  {
    name: 'every account total equals the sum of its transfers',
    sql: `with posted as (
            select account_id, sum(debit) as debits, sum(credit) as credits from (
              select debit_account_id as account_id, amount as debit, 0::bigint as credit from transfers where flags & 10 = 0
              union all
              select credit_account_id, 0, amount from transfers where flags & 10 = 0) x group by account_id),
          held as (
            select account_id, sum(debit) as debits, sum(credit) as credits from (
              select t.debit_account_id as account_id, t.amount as debit, 0::bigint as credit
                from transfers t join pending_transfers p on p.id = t.id where p.status = 'pending'
              union all
              select t.credit_account_id, 0, t.amount
                from transfers t join pending_transfers p on p.id = t.id where p.status = 'pending') y group by account_id)
          select a.id, a.debits_posted, coalesce(po.debits, 0) as expected_debits_posted,
                 a.credits_posted, coalesce(po.credits, 0) as expected_credits_posted,
                 a.debits_pending, coalesce(h.debits, 0) as expected_debits_pending,
                 a.credits_pending, coalesce(h.credits, 0) as expected_credits_pending
          from accounts a left join posted po on po.account_id = a.id left join held h on h.account_id = a.id
          where a.debits_posted <> coalesce(po.debits, 0) or a.credits_posted <> coalesce(po.credits, 0)
             or a.debits_pending <> coalesce(h.debits, 0) or a.credits_pending <> coalesce(h.credits, 0)`,
  },
  {
    name: 'no account with "debits must not exceed credits" is overdrawn',
    sql: `select id, credits_posted - debits_posted - debits_pending as available from accounts
          where flags & 1 = 1 and debits_posted + debits_pending > credits_posted`,
  },
  {
    name: 'no account with "credits must not exceed debits" is over-credited',
    sql: `select id from accounts where flags & 2 = 2 and credits_posted + credits_pending > debits_posted`,
  },
  {
    name: 'every transfer names existing accounts of its own ledger',
    sql: `select t.id from transfers t
          left join accounts d on d.id = t.debit_account_id left join accounts c on c.id = t.credit_account_id
          where d.id is null or c.id is null or d.ledger <> t.ledger or c.ledger <> t.ledger`,
  },
  {
    name: 'every pending transfer has a hold status, and only pending transfers do',
    sql: `select coalesce(t.id, p.id) as id from transfers t full join pending_transfers p on p.id = t.id
          where (t.flags & 2 = 2 and p.id is null) or (p.id is not null and (t.id is null or t.flags & 2 = 0))`,
  },
  {
    name: 'every post or void resolves an existing pending transfer on the same accounts, and the hold says so',
    sql: `select r.id from transfers r
          left join transfers h on h.id = r.pending_id left join pending_transfers p on p.id = r.pending_id
          where r.flags & 12 <> 0 and (h.id is null or h.flags & 2 = 0 or h.debit_account_id <> r.debit_account_id
            or h.credit_account_id <> r.credit_account_id or r.amount > h.amount
            or p.status <> case when r.flags & 4 = 4 then 'posted' else 'voided' end)`,
  },
  {
    name: 'every posted or voided hold has exactly its resolving transfer',
    sql: `select p.id from pending_transfers p left join transfers r on r.pending_id = p.id
          where p.status in ('posted', 'voided') and r.id is null`,
  },
  {
    name: 'no id is both a transfer and a remembered failure',
    sql: `select f.id from transfer_failures f join transfers t on t.id = f.id`,
  },
];

/**
 * Verify reads every transfer, so on a large ledger its checks outlast the statement timeout that bounds a
 * request (a 10M-transfer run failed on it): its own transaction lifts the server's timeout and its queries
 * wait for the server this long instead of the pool's client-side read timeout.
 */
const VERIFY_READ_TIMEOUT_MS = 24 * 60 * 60 * 1000;

export async function verifyLedger(db: Database): Promise<VerifyReport> {
  return withTransaction(db, async (client) => {
    await client.query('set local statement_timeout = 0');
    const problems: string[] = [];
    for (const check of CHECKS) {
      const result = await client.query<Record<string, unknown>>({ text: `${check.sql} limit ${PROBLEMS_MAX}`, query_timeout: VERIFY_READ_TIMEOUT_MS } as pg.QueryConfig);
      for (const row of result.rows) problems.push(`${check.name}: violated by ${describeRow(row)}`);
    }
    const counts = await client.query<{ accounts: bigint; transfers: bigint }>({
      text: 'select (select count(*) from accounts) as accounts, (select count(*) from transfers) as transfers', query_timeout: VERIFY_READ_TIMEOUT_MS } as pg.QueryConfig);
    const row = counts.rows[0];
    return {
      ok: problems.length === 0,
      accountsChecked: Number(row?.accounts ?? 0n),
      transfersChecked: Number(row?.transfers ?? 0n),
      problems: problems.slice(0, PROBLEMS_MAX),
    };
  }, { isolation: 'repeatable read' });
}

function describeRow(row: Record<string, unknown>): string {
  return Object.entries(row).map(([key, value]) => `${key}=${String(value)}`).join(' ');
}

export function formatReport(report: VerifyReport): string {
  const head = `ledger verify: ${report.accountsChecked} accounts, ${report.transfersChecked} transfers`;
  if (report.ok) return `${head}\nOK: every invariant holds`;
  return `${head}\nFAILED: ${report.problems.length} problem(s)\n${report.problems.map((p) => `  - ${p}`).join('\n')}`;
}
