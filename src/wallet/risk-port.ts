/**
 * The wallet's view of the risk engine (src/risk): every new funding source and every top-up is scored
 * before it happens, with the card's fingerprint as its stable reference (never a PAN), so the engine's
 * rules on velocity, shared cards and the 7pay burst see them. Both actions have just passed a fresh
 * step-up, so a `challenge` is already met; `review` and `deny` refuse.
 */
import type { RiskDecision, RiskEvent, SecuritySignal } from '../risk/types.ts';
import { KobanError } from '../platform/errors.ts';

export interface WalletRisk {
  assess(event: RiskEvent): Promise<RiskDecision>;
  /** A forged or mismatching provider callback (issue 14): an alert for operators, a case when it names a customer. */
  recordSignal(signal: SecuritySignal): Promise<RiskDecision>;
}

export async function refuseUnlessAllowed(risk: WalletRisk | null, event: RiskEvent): Promise<void> {
  if (risk === null) return;
  const decision = await risk.assess(event);
  if (decision.decision === 'allow' || decision.decision === 'challenge') return;
  const extensions = { riskDecisionId: decision.id };
  throw new KobanError(decision.decision === 'review' ? 'risk_held_for_review' : 'risk_denied', { extensions });
}
