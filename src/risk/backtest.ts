/**
 * Backtest: what a proposed rule change would have done to the last N days of recorded decisions
 * (`risk_events`), before an operator saves it. Each event keeps the reasons of the rules that fired
 * (observed value and threshold) but not the inputs of the rules that did not, so three levels of replay:
 *
 * - `recount`: velocity rules whose input is a count or sum of earlier events of one kind with the same
 *   account, device, card or store. `risk_events` records every assessment the counters counted, so the
 *   input is recomputed for every event (sliding windows; the live counters' buckets may count up to one
 *   bucket more, so the live engine can fire slightly earlier than the replay says).
 * - `fired`: rules whose fired reasons carry the one observed value a threshold is compared with: a looser
 *   threshold is judged exactly (the stored observed value against the new one); whether a tighter one
 *   would fire on events where the rule stayed silent cannot be known, and those events are counted as
 *   `notReplayable`.
 * - everything else: only a change of action or of enabled is judged (the set of events it fired on is
 *   known); a parameter change leaves every event of the rule's kinds `notReplayable`.
 *
 * The other rules' stored reasons are kept as they are, so the new decision is the most severe of theirs
 * and this rule's proposed action. Reads only; changes nothing.
 */
import type { Database } from '../platform/db/database.ts';
import { KobanError } from '../platform/errors.ts';
import type { AnyRule } from './rules/index.ts';
import type { RiskSettings, RuleChange } from './settings.ts';
import { SEVERITY, type RiskAction, type RiskDecisionKind, type RuleSetting } from './types.ts';

export const BACKTEST_DAYS_DEFAULT = 7;
export const BACKTEST_DAYS_MAX = 30;
/** Events read at most (newest kept): bounds the memory and time of one backtest. */
const BACKTEST_EVENTS_MAX = 200_000;
const EXAMPLES_MAX = 5;
const DECISIONS: readonly RiskDecisionKind[] = ['allow', 'challenge', 'review', 'deny'];

export type ReplayLevel = 'recount' | 'fired' | 'action_only';

export interface BacktestExample {
  readonly eventId: string; readonly kind: string; readonly accountId: string | null; readonly createdAt: string;
  readonly amountMinor: string | null; readonly before: RiskDecisionKind; readonly after: RiskDecisionKind; readonly observed: string | null;
}

export interface BacktestResult {
  readonly ruleId: string;
  readonly days: number;
  readonly from: string;
  readonly to: string;
  readonly replay: ReplayLevel;
  /** Events of the rule's kinds in the period. */
  readonly events: number;
  readonly before: Record<RiskDecisionKind, number>;
  readonly after: Record<RiskDecisionKind, number>;
  /** Decisions that would change, by transition ("allow→challenge"). */
  readonly changes: Array<{ from: RiskDecisionKind; to: RiskDecisionKind; count: number }>;
  readonly newlyFiring: number;
  readonly noLongerFiring: number;
  /** Events whose outcome under the proposal cannot be known from what was recorded (counted as unchanged). */
  readonly notReplayable: number;
  readonly truncated: boolean;
  readonly examples: BacktestExample[];
}

type KeyColumn = 'account_id' | 'device_id' | 'card_ref' | 'store_id';
/** One threshold recomputed from earlier events: `measure` over `windowSec` of events of `kind` with the same `key`. */
interface Recount { readonly kind: string; readonly key: KeyColumn; readonly windowSec: number; readonly measure: 'count' | 'amount'; readonly param: string }
interface StoredReason { rule?: unknown; action?: unknown; observed?: unknown; message?: unknown }

const VELOCITY_KINDS = ['sign_in', 'top_up', 'payment', 'payment_code_mint'];
const RECOUNTS: Readonly<Record<string, readonly Recount[]>> = {
  rapid_top_ups: [{ kind: 'top_up', key: 'account_id', windowSec: 60, measure: 'count', param: 'topUpsPerMinuteMax' }],
  device_velocity: VELOCITY_KINDS.map((kind) => ({ kind, key: 'device_id', windowSec: 3600, measure: 'count', param: 'eventsPerHourMax' })),
  card_velocity: [
    { kind: 'top_up', key: 'card_ref', windowSec: 3600, measure: 'count', param: 'topUpsPerHourMax' },
    { kind: 'top_up', key: 'card_ref', windowSec: 86_400, measure: 'amount', param: 'amountPerDayMaxMinor' },
  ],
  store_velocity: [
    { kind: 'payment', key: 'store_id', windowSec: 60, measure: 'count', param: 'paymentsPerMinuteMax' },
    { kind: 'payment', key: 'store_id', windowSec: 600, measure: 'amount', param: 'amountPer10MinMaxMinor' },
  ],
  account_velocity: [
    { kind: 'top_up', key: 'account_id', windowSec: 3600, measure: 'count', param: 'topUpsPerHourMax' },
    { kind: 'funding_source_add', key: 'account_id', windowSec: 86_400, measure: 'count', param: 'fundingSourcesPerDayMax' },
    { kind: 'top_up', key: 'account_id', windowSec: 86_400, measure: 'amount', param: 'topUpAmountPerDayMaxMinor' },
    { kind: 'payment', key: 'account_id', windowSec: 3600, measure: 'count', param: 'paymentsPerHourMax' },
    { kind: 'payment', key: 'account_id', windowSec: 86_400, measure: 'amount', param: 'paymentAmountPerDayMaxMinor' },
    { kind: 'payment_code_mint', key: 'account_id', windowSec: 3600, measure: 'count', param: 'codeMintsPerHourMax' },
  ],
};

/**
 * Fired-only re-judging: the parameter a fired reason's observed value was compared with (by its message
 * where a rule has two), and whether reaching it fires (`>=`) or only passing it (`>`).
 */
interface FiredCheck { readonly param: string; readonly inclusive: boolean; /** False when a later check of the rule, never recorded, could still fire. */ readonly last?: boolean }
const FIRED: Readonly<Record<string, (reason: StoredReason) => FiredCheck>> = {
  network_velocity: () => ({ param: 'attemptsPer10MinMax', inclusive: false }),
  network_accounts: () => ({ param: 'accountsPerDayMax', inclusive: false }),
  distant_store: () => ({ param: 'distanceKmMin', inclusive: false }),
  resale_bulk: () => ({ param: 'amountPerHourMaxMinor', inclusive: false }),
  // The account's failures are checked first: when they no longer fire, the network's (not recorded) might.
  failure_burst: (reason) => (String(reason.message).includes('on the account') ? { param: 'accountFailuresMax', inclusive: true, last: false } : { param: 'networkFailuresMax', inclusive: true }),
};
/** Parameters the fired-only re-judging cannot see (a change to them makes the rule's events not replayable). */
const FIRED_BLIND: Readonly<Record<string, readonly string[]>> = { distant_store: ['usualStoresMin'], resale_bulk: ['categoryCodes'] };

export function replayLevelOf(ruleId: string): ReplayLevel {
  return RECOUNTS[ruleId] !== undefined ? 'recount' : FIRED[ruleId] !== undefined ? 'fired' : 'action_only';
}

interface EventRow {
  id: string; kind: string; account_id: string | null; decision: RiskDecisionKind; reasons: StoredReason[]; amount_minor: bigint | null; created_at: Date;
  in_period: boolean; [measure: `m${number}`]: bigint | null;
}

export async function backtestRule(db: Database, settings: RiskSettings, ruleId: string, change: RuleChange, days: number, now: Date): Promise<BacktestResult> {
  const rule = settings.rules.find((candidate) => candidate.id === ruleId);
  if (rule === undefined) throw new KobanError('risk_rule_unknown', { detail: `no rule ${ruleId}` });
  if (!Number.isInteger(days) || days < 1 || days > BACKTEST_DAYS_MAX) {
    throw new KobanError('validation_failed', { detail: `days must be 1 to ${BACKTEST_DAYS_MAX}`, errors: [{ pointer: '/body/days', message: `must be 1 to ${BACKTEST_DAYS_MAX}` }] });
  }
  const current = settings.settingOf(rule);
  // The same validation as saving: a change the PATCH would refuse is refused here.
  const proposed: RuleSetting<unknown> = { enabled: change.enabled ?? current.enabled, action: change.action ?? current.action,
    params: rule.parse({ ...rule.serialize(current.params), ...(change.params ?? {}) }), version: current.version };
  const from = new Date(now.getTime() - days * 86_400_000);
  const replay = replayLevelOf(rule.id);
  const recounts = (RECOUNTS[rule.id] ?? []).filter((recount) => rule.kinds.includes(recount.kind as never));
  const rows = await readEvents(db, rule, recounts, from, now);
  const newParams = rule.serialize(proposed.params);
  const changedParams = Object.keys(newParams).filter((name) => JSON.stringify(newParams[name]) !== JSON.stringify(rule.serialize(current.params)[name]));
  const tally = newTally();
  for (const row of rows.events) {
    if (!row.in_period) continue;
    const others = (row.reasons ?? []).filter((reason) => reason.rule !== rule.id);
    const fired = (row.reasons ?? []).find((reason) => reason.rule === rule.id);
    const judged = judge(rule.id, replay, row, fired, recounts, proposed, changedParams, current.enabled, rule.serialize(current.params));
    let after: RiskDecisionKind = 'allow';
    for (const reason of others) if (isAction(reason.action) && SEVERITY[reason.action] > SEVERITY[after]) after = reason.action;
    if (judged.fires === null) tally.notReplayable += 1;
    const firesNow = judged.fires ?? fired !== undefined;
    if (firesNow && SEVERITY[proposed.action] > SEVERITY[after]) after = proposed.action;
    if (judged.fires === null) after = row.decision;
    if (firesNow && fired === undefined) tally.newlyFiring += 1;
    if (!firesNow && fired !== undefined) tally.noLongerFiring += 1;
    record(tally, row, after, judged.observed);
  }
  return {
    ruleId: rule.id, days, from: from.toISOString(), to: now.toISOString(), replay, events: tally.events, before: tally.before, after: tally.after,
    changes: [...tally.changes.entries()].map(([key, count]) => { const [before, after] = key.split('>') as [RiskDecisionKind, RiskDecisionKind]; return { from: before, to: after, count }; }),
    newlyFiring: tally.newlyFiring, noLongerFiring: tally.noLongerFiring, notReplayable: tally.notReplayable, truncated: rows.truncated, examples: tally.examples,
  };
}

/** Whether the rule fires on this event under the proposal (null: cannot be known), and the value it judged. */
function judge(ruleId: string, replay: ReplayLevel, row: EventRow, fired: StoredReason | undefined, recounts: readonly Recount[], proposed: RuleSetting<unknown>,
  changedParams: readonly string[], enabledNow: boolean, previous: Record<string, unknown>): { fires: boolean | null; observed: string | null } {
  if (!proposed.enabled) return { fires: false, observed: null };
  const params = proposed.params as Record<string, unknown>;
  if (replay === 'recount') {
    for (const [index, recount] of recounts.entries()) {
      const measured = row[`m${index}`];
      if (recount.kind !== row.kind || measured === null || measured === undefined) continue;
      if (measured > BigInt(params[recount.param] as number | bigint)) return { fires: true, observed: measured.toString() };
    }
    return { fires: false, observed: null };
  }
  // A rule enabled now was not necessarily enabled then: what it would have seen is unknown.
  if (changedParams.length === 0 && enabledNow) return { fires: fired !== undefined, observed: typeof fired?.observed === 'string' ? fired.observed : null };
  const check = FIRED[ruleId];
  if (check === undefined || !enabledNow || changedParams.some((name) => FIRED_BLIND[ruleId]?.includes(name))) return { fires: null, observed: null };
  // Every re-judged threshold fires above its value: a change that only raises them cannot make a silent rule fire.
  if (fired === undefined) return { fires: changedParams.every((name) => Number(params[name]) >= Number(previous[name])) ? false : null, observed: null };
  if (typeof fired.observed !== 'string' || !/^[0-9]+$/.test(fired.observed)) return { fires: null, observed: null };
  const { param, inclusive, last } = check(fired);
  const threshold = BigInt(Math.ceil(Number(params[param])));
  const observed = BigInt(fired.observed);
  const firesNow = inclusive ? observed >= threshold : observed > threshold;
  // Still firing: exact. No longer firing on this check: exact unless a later, unrecorded check could fire.
  return { fires: firesNow || last !== false ? firesNow : null, observed: fired.observed };
}

async function readEvents(db: Database, rule: AnyRule, recounts: readonly Recount[], from: Date, to: Date): Promise<{ events: EventRow[]; truncated: boolean }> {
  const longest = Math.max(0, ...recounts.map((recount) => recount.windowSec));
  // Key columns and windows come from the constant table above, never from the request.
  const measures = recounts.map((recount, index) => `case when e.${recount.key} is null then null else coalesce(${recount.measure === 'count' ? 'count(*)' : 'sum(e.amount_minor)'}
    over (partition by e.${recount.key}, e.kind order by e.created_at range between interval '${recount.windowSec} seconds' preceding and current row), 0)::bigint end as m${index}`);
  const result = await db.pool.query<EventRow>(
    `select * from (select e.id, e.kind, e.account_id, e.decision, e.reasons, e.amount_minor, e.created_at, e.created_at > $2 as in_period${measures.map((m) => `, ${m}`).join('')}
       from risk_events e where e.kind = any($1::text[]) and e.created_at > $2::timestamptz - make_interval(secs => $4) and e.created_at <= $3
       order by e.created_at desc limit $5) recent order by created_at`,
    [rule.kinds, from, to, longest, BACKTEST_EVENTS_MAX + 1]);
  const truncated = result.rows.length > BACKTEST_EVENTS_MAX;
  return { events: truncated ? result.rows.slice(1) : result.rows, truncated };
}

function newTally() {
  const zero = (): Record<RiskDecisionKind, number> => ({ allow: 0, challenge: 0, review: 0, deny: 0 });
  return { events: 0, before: zero(), after: zero(), changes: new Map<string, number>(), newlyFiring: 0, noLongerFiring: 0, notReplayable: 0, examples: [] as BacktestExample[] };
}

function record(tally: ReturnType<typeof newTally>, row: EventRow, after: RiskDecisionKind, observed: string | null): void {
  tally.events += 1;
  tally.before[row.decision] += 1;
  tally.after[after] += 1;
  if (after === row.decision) return;
  const key = `${row.decision}>${after}`;
  tally.changes.set(key, (tally.changes.get(key) ?? 0) + 1);
  if (tally.examples.length < EXAMPLES_MAX) {
    tally.examples.push({ eventId: row.id, kind: row.kind, accountId: row.account_id, createdAt: row.created_at.toISOString(), amountMinor: row.amount_minor?.toString() ?? null,
      before: row.decision, after, observed });
  }
}

function isAction(value: unknown): value is RiskAction {
  return typeof value === 'string' && DECISIONS.includes(value as RiskDecisionKind) && value !== 'allow';
}
