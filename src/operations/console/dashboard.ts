/**
 * The live dashboard: payments and top-ups per minute over the last hour, risk decisions (decline and
 * challenge rates, which rules fired), open cases and alerts, switches that are off.
 *
 * Cost: every signed-in operator polls it every few seconds, so it is one statement (BRIN range scans
 * over the last hour of payments, top-ups and risk decisions, plus the open-case index; migration 0055)
 * and its answer is shared by every operator of this process for `DASHBOARD_CACHE_MS`.
 */
import type { Database } from '../../platform/db/database.ts';
import type { Switches } from '../switches/switches.ts';

export const DASHBOARD_MINUTES = 60;
export const DASHBOARD_CACHE_MS = 2_000;

export interface MinutePoint {
  /** ISO start of the minute (UTC). */
  readonly minute: string;
  readonly payments: number;
  readonly paymentsFailed: number;
  readonly paymentsAmountMinor: string;
  readonly topUps: number;
  readonly topUpsFailed: number;
  readonly topUpsAmountMinor: string;
}

export interface Dashboard {
  readonly generatedAt: string;
  readonly minutes: MinutePoint[];
  readonly totals: { readonly payments: number; readonly paymentsAmountMinor: string; readonly topUps: number; readonly topUpsAmountMinor: string };
  readonly risk: {
    readonly decisions: number;
    readonly allow: number;
    readonly challenge: number;
    readonly review: number;
    readonly deny: number;
    /** deny ÷ decisions over the hour, 0 when there were none. */
    readonly declineRate: number;
    readonly challengeRate: number;
    readonly byRule: Array<{ rule: string; count: number }>;
  };
  readonly openCases: number;
  readonly unassignedCases: number;
  readonly openAlerts: number;
  readonly switchesOff: Array<{ name: string; effective: string }>;
}

interface DashboardRow {
  payments: Array<{ m: string; ok: number; failed: number; amount: string }>;
  top_ups: Array<{ m: string; ok: number; failed: number; amount: string }>;
  decisions: Array<{ decision: string; n: number }>;
  by_rule: Array<{ rule: string; n: number }>;
  open_cases: number;
  unassigned_cases: number;
  open_alerts: number;
  now: Date;
}

const PAID = `('COMPLETED', 'REFUNDED', 'CANCELED')`;

/** One round trip. Amounts are summed as numeric and sent as text, so no sum ever passes through a float. */
const DASHBOARD_SQL = `
with since as (select date_trunc('minute', now()) - interval '${DASHBOARD_MINUTES - 1} minutes' as t)
select
  coalesce((select json_agg(x) from (
    select to_char(date_trunc('minute', created_at) at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:00"Z"') as m,
           count(*) filter (where status in ${PAID})::int as ok, count(*) filter (where status = 'FAILED')::int as failed,
           coalesce(sum(amount_minor) filter (where status in ${PAID}), 0)::text as amount
    from payments where created_at >= (select t from since) group by 1) x), '[]') as payments,
  coalesce((select json_agg(x) from (
    select to_char(date_trunc('minute', created_at) at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:00"Z"') as m,
           count(*) filter (where status = 'completed')::int as ok, count(*) filter (where status = 'failed')::int as failed,
           coalesce(sum(amount_minor) filter (where status = 'completed'), 0)::text as amount
    from top_ups where created_at >= (select t from since) group by 1) x), '[]') as top_ups,
  coalesce((select json_agg(x) from (
    select decision, count(*)::int as n from risk_events where created_at >= now() - interval '1 hour' group by 1) x), '[]') as decisions,
  coalesce((select json_agg(x) from (
    select r->>'rule' as rule, count(*)::int as n
    from risk_events e cross join lateral jsonb_array_elements(e.reasons) r
    where e.created_at >= now() - interval '1 hour' and e.decision <> 'allow' group by 1 order by 2 desc limit 12) x), '[]') as by_rule,
  (select count(*)::int from cases where status = 'open') as open_cases,
  (select count(*)::int from cases where status = 'open' and assignee_id is null) as unassigned_cases,
  (select coalesce(sum(alert_count), 0)::int from cases where status = 'open') as open_alerts,
  now() as now`;

export function createDashboard(db: Database, switches: Switches, clock: () => number = Date.now) {
  const compute = async (): Promise<Dashboard> => {
    const result = await db.pool.query<DashboardRow>(DASHBOARD_SQL);
    const row = result.rows[0];
    if (row === undefined) throw new Error('the dashboard query returned no row');
    return shape(row, switches);
  };
  return sharedFor(DASHBOARD_CACHE_MS, compute, clock);
}

function shape(row: DashboardRow, switches: Switches): Dashboard {
  const now = row.now;
  const payments = new Map(row.payments.map((p) => [p.m, p]));
  const topUps = new Map(row.top_ups.map((p) => [p.m, p]));
  const firstMinute = Math.floor(now.getTime() / 60_000) * 60_000 - (DASHBOARD_MINUTES - 1) * 60_000;
  const minutes: MinutePoint[] = [];
  for (let i = 0; i < DASHBOARD_MINUTES; i++) {
    const minute = new Date(firstMinute + i * 60_000).toISOString().replace('.000Z', 'Z');
    const p = payments.get(minute);
    const t = topUps.get(minute);
    minutes.push({ minute, payments: p?.ok ?? 0, paymentsFailed: p?.failed ?? 0, paymentsAmountMinor: p?.amount ?? '0',
      topUps: t?.ok ?? 0, topUpsFailed: t?.failed ?? 0, topUpsAmountMinor: t?.amount ?? '0' });
  }
  const count = (decision: string) => row.decisions.find((d) => d.decision === decision)?.n ?? 0;
  const decisions = row.decisions.reduce((sum, d) => sum + d.n, 0);
  const rate = (n: number) => (decisions === 0 ? 0 : Math.round((n / decisions) * 10_000) / 10_000);
  const sum = (values: string[]) => values.reduce((total, value) => total + BigInt(value), 0n).toString();
  return {
    generatedAt: now.toISOString(),
    minutes,
    totals: {
      payments: minutes.reduce((n, m) => n + m.payments, 0), paymentsAmountMinor: sum(minutes.map((m) => m.paymentsAmountMinor)),
      topUps: minutes.reduce((n, m) => n + m.topUps, 0), topUpsAmountMinor: sum(minutes.map((m) => m.topUpsAmountMinor)),
    },
    risk: { decisions, allow: count('allow'), challenge: count('challenge'), review: count('review'), deny: count('deny'),
      declineRate: rate(count('deny')), challengeRate: rate(count('challenge')), byRule: row.by_rule.map((r) => ({ rule: r.rule ?? 'unknown', count: r.n })) },
    openCases: row.open_cases,
    unassignedCases: row.unassigned_cases,
    openAlerts: row.open_alerts,
    switchesOff: switches.list().filter((s) => s.effective === 'off').map((s) => ({ name: s.name, effective: s.effective })),
  };
}

/**
 * One answer shared by every operator of this process for `ms` (the dashboard; the sign-in health, ~0.4 s under a
 * heavy attack with 220k sign-in events in its 70 minutes). A failed computation is not kept.
 */
export function sharedFor<T>(ms: number, compute: () => Promise<T>, clock: () => number = Date.now): { read(): Promise<T>; invalidate(): void } {
  let cached: { at: number; value: Promise<T> } | null = null;
  return {
    /** The shared answer if it is younger than `ms`. */
    read(): Promise<T> {
      const now = clock();
      if (cached !== null && now - cached.at < ms) return cached.value;
      const value = compute();
      cached = { at: now, value };
      value.catch(() => { if (cached?.value === value) cached = null; });
      return value;
    },
    /** Drops the shared answer (a test that just made a payment wants to see it). */
    invalidate(): void {
      cached = null;
    },
  };
}
