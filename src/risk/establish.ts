/**
 * Outside production only (`koban drill`'s established customers, src/wiring-drill.ts): the risk facts of an
 * account as if its customer had been here for `ageDays` — every link the account already has (its devices,
 * networks, card) first seen that long ago, its usual stores linked as long, and a spending history of
 * `dailySpendMinor` a day in the day buckets the account budget is sized from (account-spending-budget.ts).
 * Only the risk module's own rows change: the ledger is never rewritten, so the history is a fact for the
 * rules and nothing else; the account's own short-window counters (set-up's card and top-up, minutes ago) are
 * dropped, as they would have aged out. Without this every drill customer was minutes old, so every victim was a newcomer
 * and only the newcomer's budget applied to them.
 */
import type { Clock } from '../platform/clock.ts';
import type { Queryable } from '../platform/db/database.ts';
import { BUCKET, bucketOf, counterKey, DAY, HISTORY_DAYS_MAX } from './keys.ts';

export interface EstablishedHistory {
  readonly accountId: string;
  readonly ageDays: number;
  /** What the customer spends on an ordinary day (spread over the history's days, today excluded). */
  readonly dailySpendMinor: bigint;
  /** Payments a day in that history (the counters' count). */
  readonly paymentsPerDay: number;
  /** The stores the customer usually pays at, linked as long as the account. */
  readonly storeIds: readonly string[];
}

export async function backdateRiskHistory(db: Queryable, clock: Clock, history: EstablishedHistory): Promise<{ links: number; historyDays: number }> {
  const nowMs = clock().getTime();
  const since = new Date(nowMs - history.ageDays * DAY * 1000);
  const links = await db.query(
    `with aged as (update risk_links set first_seen = least(first_seen, $2::timestamptz) where account_id = $1 returning 1),
     usual as (insert into risk_links (kind, key, account_id, first_seen, last_seen)
               select 'store', s, $1, $2::timestamptz, $3::timestamptz from unnest($4::text[]) as t(s)
               on conflict (kind, key, account_id) do update set first_seen = least(risk_links.first_seen, excluded.first_seen) returning 1)
     select (select count(*) from aged) + (select count(*) from usual) as n`,
    [history.accountId, since, new Date(nowMs - DAY * 1000), [...history.storeIds]]);
  // What set-up itself counted minutes ago (its card added, its top-up) belongs to the customer's past: left in
  // the short windows it would read as "a funding source added in the last 24 h" on every established account.
  await db.query(`delete from risk_counters where key like $1 and key not like $2`, [`${counterKey('acct', history.accountId, '')}%`, `%|${BUCKET.day}`]);
  const historyDays = Math.min(history.ageDays, HISTORY_DAYS_MAX);
  const days = Array.from({ length: historyDays }, (_, k) => bucketOf(Math.floor(nowMs / 1000) - (k + 1) * DAY, BUCKET.day));
  const key = `${counterKey('acct', history.accountId, 'spend')}|${BUCKET.day}`;
  await db.query(
    `insert into risk_counters (key, bucket, shard, count, amount_minor) select $1, b, 0, $3, $4 from unnest($2::bigint[]) as t(b)
     on conflict (key, bucket, shard) do update set count = excluded.count, amount_minor = excluded.amount_minor`,
    [key, days, history.paymentsPerDay, history.dailySpendMinor.toString()]);
  return { links: Number((links.rows[0] as { n: string | number } | undefined)?.n ?? 0), historyDays };
}
