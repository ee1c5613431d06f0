/**
 * The risk module's public face for other modules (identity, wallet, payments):
 *
 *   const decision = await koban.risk.assess({ kind: 'top_up', accountId, deviceId, ip, cardRef, amountMinor, ref });
 *   requireAllowed(decision);          // or handle 'challenge' with a step-up and assess again
 *   await koban.risk.recordFailure({ kind: 'password', accountId, ip });   // after a failed password or PIN
 */
import { systemClock, type Clock } from '../platform/clock.ts';
import type { Database } from '../platform/db/database.ts';
import { KobanError } from '../platform/errors.ts';
import { decodeCursor, PAGE_LIMIT_MAX, pageLimit, pageAtSql, pageOf } from '../platform/cursor.ts';
import { isUuid } from '../platform/ids.ts';
import type { ChangeFeed } from '../operations/change-feed.ts';
import { backtestRule, type BacktestResult } from './backtest.ts';
import { createRiskEngine, type AlertHandler, type RiskEngine } from './engine.ts';
import { createRiskSettings, type RiskSettings, type RuleChange } from './settings.ts';
import type { RiskDecision } from './types.ts';

export interface RecentDecision {
  readonly id: string; readonly kind: string; readonly accountId: string | null; readonly decision: string; readonly score: number;
  readonly reasons: unknown; readonly ruleVersion: string; readonly amountMinor: string | null; readonly createdAt: string;
  /** What the event was about beyond the account: a payment, a provider, a terminal (a platform-wide signal). */
  readonly ref: string | null;
}

export interface Risk extends RiskEngine {
  readonly settings: RiskSettings;
  /** Newest first, a page at a time (`before`: the cursor the previous page answered). */
  /** What `change` would have done to the last `days` days of recorded decisions (backtest.ts); reads only. */
  backtest(ruleId: string, change: RuleChange, days: number): Promise<BacktestResult>;
  recentDecisions(query: { accountId: string | null; flaggedOnly: boolean; limit?: number; before?: string }): Promise<{ items: RecentDecision[]; nextBefore: string | null }>;
}

const RECENT_DECISIONS_MAX = PAGE_LIMIT_MAX;

export async function createRisk(db: Database, feed: ChangeFeed, onAlert: AlertHandler | null, clock: Clock = systemClock): Promise<Risk> {
  const settings = await createRiskSettings(db, feed, undefined, clock);
  return {
    settings,
    ...createRiskEngine(db, settings, onAlert, clock),
    backtest: (ruleId, change, days) => backtestRule(db, settings, ruleId, change, days, clock()),
    async recentDecisions(query) {
      const limit = Math.min(RECENT_DECISIONS_MAX, pageLimit(query.limit ?? RECENT_DECISIONS_MAX));
      const before = decodeCursor(query.before);
      const rows = await db.pool.query<{ id: string; kind: string; account_id: string | null; decision: string; score: number; reasons: unknown; rule_version: bigint; amount_minor: bigint | null; created_at: Date; event_ref: string | null; page_at: string }>(
        `select id, kind, account_id, decision, score, reasons, rule_version, amount_minor, created_at, event_ref, ${pageAtSql('created_at')} as page_at from risk_events
         where ($1::text is null or account_id = $1) and (not $2 or decision <> 'allow')
           and ($4::timestamptz is null or (created_at, id) < ($4, $5::uuid))
         order by created_at desc, id desc limit $3`,
        [query.accountId, query.flaggedOnly, limit + 1, before?.at ?? null, before === null ? null : (isUuid(before.id) ? before.id : null)]);
      const page = pageOf(rows.rows, limit, (r) => ({ at: r.page_at, id: r.id }));
      return { nextBefore: page.nextBefore, items: page.items.map((r) => ({ id: r.id, kind: r.kind, accountId: r.account_id, decision: r.decision, score: r.score, reasons: r.reasons,
        ruleVersion: r.rule_version.toString(), amountMinor: r.amount_minor?.toString() ?? null, createdAt: r.created_at.toISOString(), ref: r.event_ref })) };
    },
  };
}

/** For callers that cannot step up: anything but allow is refused with a specific problem code. */
export function requireAllowed(decision: RiskDecision): void {
  const extensions = { riskDecisionId: decision.id, reasons: decision.reasons.map((reason) => reason.rule) };
  if (decision.decision === 'allow') return;
  if (decision.decision === 'challenge') throw new KobanError('risk_step_up_required', { extensions });
  if (decision.decision === 'review') throw new KobanError('risk_held_for_review', { extensions });
  throw new KobanError('risk_denied', { extensions });
}
