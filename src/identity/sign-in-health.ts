/**
 * Platform-wide sign-in health (issue 13): credential stuffing spread thinly — one or two tries per address,
 * from many networks — stays below every per-IP, per-network and per-account threshold of `login/`, so it is
 * measured across all of Koban instead, from the `security_events` sign-in already writes:
 *
 * - **failed sign-in rate**: `login.password` failures ÷ password attempts (failures + right passwords, that is
 *   `login.second_factor_required` after a password and `login` on a remembered device);
 * - **abandoned second factors**: the share of right passwords on a new device (`login.second_factor_required`
 *   after a password) whose customer has no `login` success within `abandonAfterMs` — a leaked list confirming
 *   passwords it cannot use. Only "mature" ones count (older than `abandonAfterMs`), so this window ends
 *   `abandonAfterMs` before the failed-rate window does.
 *
 * Each over the sliding window (`windowMs`, 10 min) and the baseline before it (`baselineMs`, 1 h), and per
 * minute over the last hour for the console. `checkSignInHealth` (a leased background job, once a minute)
 * records a platform security event `platform.sign_in_alert` (no customer; operators see it in
 * GET /v1/ops/security-events, group `platform`, and on the dashboard) when a threshold is crossed, at most
 * once per window.
 */
import type { SignInHealthSettings } from '../platform/config.ts';
import type { Queryable } from '../platform/db/database.ts';
import { recordSecurityEvent } from '../platform/audit/security-log.ts';

export const SIGN_IN_ALERT = 'platform.sign_in_alert';
export const SIGN_IN_HEALTH_MINUTES = 60;
/** How often the background job measures (src/koban.ts). */
export const SIGN_IN_HEALTH_INTERVAL_MS = 60_000;

export interface SignInMeasure {
  /** Password attempts: failures plus right passwords. */
  readonly attempts: number;
  readonly failures: number;
  /** failures ÷ attempts, 0 when there were none. */
  readonly failedRate: number;
  /** Right passwords on a new device old enough to know whether their second factor followed. */
  readonly pending: number;
  readonly abandoned: number;
  /** abandoned ÷ pending, 0 when there were none. */
  readonly abandonedShare: number;
}

export interface SignInMinute {
  readonly minute: string;
  readonly attempts: number;
  readonly failures: number;
  readonly pending: number;
  readonly abandoned: number;
}

export interface SignInHealth {
  readonly at: string;
  readonly windowMinutes: number;
  readonly baselineMinutes: number;
  readonly abandonAfterMinutes: number;
  readonly window: SignInMeasure & { readonly failingAddresses: number; readonly failingNetworks: number };
  readonly baseline: SignInMeasure;
  readonly minutes: SignInMinute[];
  /** Platform sign-in alerts of the last 24 h, newest first. */
  readonly alerts: Array<{ readonly occurredAt: string; readonly reasons: string[] }>;
}

export type SignInAlertReason = 'failed_rate' | 'failure_surge' | 'abandoned_second_factor';

interface Counts { attempts: number; failures: number; pending: number; abandoned: number }
interface HealthRow {
  w: Counts & { addresses: number; networks: number };
  b: Counts;
  minutes: Array<{ m: string } & Counts>;
  alerts: Array<{ at: string; reasons: string[] }>;
}

/**
 * One statement over the sign-in events of the last window + baseline + abandonment delay (index
 * security_events_by_type: event_type, occurred_at). `$1` is the moment measured, so a test can look
 * back at traffic it just made as it will be seen minutes later.
 */
const HEALTH_SQL = `
with p as (
  select $1::timestamptz as at, make_interval(secs => $2::double precision / 1000) as win,
         make_interval(secs => $3::double precision / 1000) as base, make_interval(secs => $4::double precision / 1000) as abandon
), ev as (
  select e.occurred_at, e.customer_id, e.ip, e.event_type = 'login.password' as failed, e.event_type = 'login.second_factor_required' as pending
  from security_events e, p
  where e.event_type in ('login.password', 'login.second_factor_required', 'login')
    and e.occurred_at > p.at - greatest(p.win + p.base, interval '${SIGN_IN_HEALTH_MINUTES} minutes') - p.abandon and e.occurred_at <= p.at
    and ((e.event_type = 'login.password' and e.outcome = 'failure')
      or (e.event_type = 'login.second_factor_required' and 'password' = any(e.reasons))
      or (e.event_type = 'login' and e.outcome = 'success' and 'password' = any(e.reasons) and 'remembered_device' = any(e.reasons)))
), scored as (
  select ev.*, ev.pending and ev.occurred_at <= p.at - p.abandon as mature,
    ev.pending and ev.occurred_at <= p.at - p.abandon and not exists (
      select 1 from security_events s where s.event_type = 'login' and s.outcome = 'success' and s.customer_id = ev.customer_id
        and s.occurred_at >= ev.occurred_at and s.occurred_at <= ev.occurred_at + p.abandon) as abandoned
  from ev, p
)
select
  (select json_build_object(
     'attempts', count(*), 'failures', count(*) filter (where failed),
     'addresses', count(distinct ip) filter (where failed),
     'networks', count(distinct case when ip like '%:%' then array_to_string((string_to_array(ip, ':'))[1:4], ':') else regexp_replace(ip, '[.][0-9]+$', '') end) filter (where failed),
     'pending', (select count(*) from scored s where s.mature and s.occurred_at > p.at - p.win - p.abandon),
     'abandoned', (select count(*) from scored s where s.abandoned and s.occurred_at > p.at - p.win - p.abandon))
   from scored s where s.occurred_at > p.at - p.win) as w,
  (select json_build_object(
     'attempts', count(*) filter (where s.occurred_at > p.at - p.win - p.base and s.occurred_at <= p.at - p.win),
     'failures', count(*) filter (where failed and s.occurred_at > p.at - p.win - p.base and s.occurred_at <= p.at - p.win),
     'pending', count(*) filter (where mature and s.occurred_at <= p.at - p.win - p.abandon),
     'abandoned', count(*) filter (where abandoned and s.occurred_at <= p.at - p.win - p.abandon))
   from scored s where s.occurred_at > p.at - p.win - p.base - p.abandon) as b,
  coalesce((select json_agg(x) from (
    select to_char(date_trunc('minute', s.occurred_at) at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:00"Z"') as m,
      count(*)::int as attempts, count(*) filter (where failed)::int as failures,
      count(*) filter (where mature)::int as pending, count(*) filter (where abandoned)::int as abandoned
    from scored s where s.occurred_at > date_trunc('minute', p.at) - interval '${SIGN_IN_HEALTH_MINUTES - 1} minutes' group by 1) x), '[]') as minutes,
  coalesce((select json_agg(x order by x.at desc) from (
    select to_char(occurred_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') as at, reasons from security_events
    where event_type = '${SIGN_IN_ALERT}' and occurred_at > p.at - interval '24 hours' and occurred_at <= p.at order by occurred_at desc limit 20) x), '[]') as alerts
from p`;

const rate = (part: number, whole: number) => (whole === 0 ? 0 : Math.round((part / whole) * 10_000) / 10_000);
const measure = (c: Counts): SignInMeasure => ({ attempts: c.attempts, failures: c.failures, failedRate: rate(c.failures, c.attempts),
  pending: c.pending, abandoned: c.abandoned, abandonedShare: rate(c.abandoned, c.pending) });

export async function signInHealth(db: Queryable, settings: SignInHealthSettings, at: Date): Promise<SignInHealth> {
  const result = await db.query<HealthRow>(HEALTH_SQL, [at, settings.windowMs, settings.baselineMs, settings.abandonAfterMs]);
  const row = result.rows[0];
  if (row === undefined) throw new Error('the sign-in health query returned no row');
  const byMinute = new Map(row.minutes.map((m) => [m.m, m]));
  const firstMinute = Math.floor(at.getTime() / 60_000) * 60_000 - (SIGN_IN_HEALTH_MINUTES - 1) * 60_000;
  const minutes: SignInMinute[] = [];
  for (let i = 0; i < SIGN_IN_HEALTH_MINUTES; i++) {
    const minute = new Date(firstMinute + i * 60_000).toISOString().replace('.000Z', 'Z');
    const m = byMinute.get(minute);
    minutes.push({ minute, attempts: m?.attempts ?? 0, failures: m?.failures ?? 0, pending: m?.pending ?? 0, abandoned: m?.abandoned ?? 0 });
  }
  return {
    at: at.toISOString(),
    windowMinutes: settings.windowMs / 60_000, baselineMinutes: settings.baselineMs / 60_000, abandonAfterMinutes: settings.abandonAfterMs / 60_000,
    window: { ...measure(row.w), failingAddresses: row.w.addresses, failingNetworks: row.w.networks },
    baseline: measure(row.b),
    minutes,
    alerts: row.alerts.map((a) => ({ occurredAt: a.at, reasons: a.reasons })),
  };
}

/** Which thresholds the window crosses (README: "Platform sign-in health"). */
export function alertReasons(health: Pick<SignInHealth, 'window' | 'baseline'>, settings: SignInHealthSettings): SignInAlertReason[] {
  const { window, baseline } = health;
  const reasons: SignInAlertReason[] = [];
  if (window.attempts >= settings.minAttempts && window.failedRate * 100 >= settings.failedPercent) reasons.push('failed_rate');
  // The baseline's failures scaled to one window: a quiet platform suddenly failing many times more.
  const usualFailures = (baseline.failures * settings.windowMs) / settings.baselineMs;
  if (window.failures >= settings.minAttempts && window.failures >= settings.surgeFactor * Math.max(usualFailures, 1)) reasons.push('failure_surge');
  if (window.pending >= settings.minPending && window.abandonedShare * 100 >= settings.abandonedPercent) reasons.push('abandoned_second_factor');
  return reasons;
}

/**
 * Measures and, if a threshold is crossed and no sign-in alert was raised in the last window, records one
 * `platform.sign_in_alert` security event with the figures. Answers whether it raised one.
 */
export async function checkSignInHealth(db: Queryable, settings: SignInHealthSettings, at: Date): Promise<{ raised: boolean; reasons: SignInAlertReason[]; health: SignInHealth }> {
  const health = await signInHealth(db, settings, at);
  const reasons = alertReasons(health, settings);
  if (reasons.length === 0) return { raised: false, reasons, health };
  const recent = health.alerts.some((a) => Date.parse(a.occurredAt) > at.getTime() - settings.windowMs);
  if (recent) return { raised: false, reasons, health };
  const w = health.window;
  await recordSecurityEvent(db, { type: SIGN_IN_ALERT, outcome: 'failure', actor: 'system', customerId: null, reasons, details: {
    windowMinutes: health.windowMinutes, attempts: w.attempts, failures: w.failures, failedRate: w.failedRate,
    failingAddresses: w.failingAddresses, failingNetworks: w.failingNetworks, pending: w.pending, abandoned: w.abandoned, abandonedShare: w.abandonedShare,
    baselineMinutes: health.baselineMinutes, baselineFailedRate: health.baseline.failedRate, baselineAbandonedShare: health.baseline.abandonedShare,
  } });
  return { raised: true, reasons, health };
}
