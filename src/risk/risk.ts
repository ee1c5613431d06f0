/**
 * The risk module's public face for other modules (identity, wallet, payments):
 *
 *   const decision = await koban.risk.assess({ kind: 'top_up', accountId, deviceId, ip, cardRef, amountMinor, ref });
 *   requireAllowed(decision);          // or handle 'challenge' with a step-up and assess again
 *   await koban.risk.recordFailure({ kind: 'password', accountId, ip });   // after a failed password or PIN
 */
import type { Database } from '../platform/db/database.ts';
import { KobanError } from '../platform/errors.ts';
import type { ChangeFeed } from '../operations/change-feed.ts';
import { createRiskEngine, type AlertHandler, type RiskEngine } from './engine.ts';
import { createRiskSettings, type RiskSettings } from './settings.ts';
import type { RiskDecision } from './types.ts';

export interface Risk extends RiskEngine {
  readonly settings: RiskSettings;
}

export async function createRisk(db: Database, feed: ChangeFeed, onAlert: AlertHandler | null): Promise<Risk> {
  const settings = await createRiskSettings(db, feed);
  return { settings, ...createRiskEngine(db, settings, onAlert) };
}

/** For callers that cannot step up: anything but allow is refused with a specific problem code. */
export function requireAllowed(decision: RiskDecision): void {
  const extensions = { riskDecisionId: decision.id, reasons: decision.reasons.map((reason) => reason.rule) };
  if (decision.decision === 'allow') return;
  if (decision.decision === 'challenge') throw new KobanError('risk_step_up_required', { extensions });
  if (decision.decision === 'review') throw new KobanError('risk_held_for_review', { extensions });
  throw new KobanError('risk_denied', { extensions });
}
