/**
 * Every payment is scored by the risk engine before money moves. The engine records the decision with
 * its rules and reasons; the merchant (and the customer) get one generic refusal, never the reasons, so a
 * fraudster cannot learn which threshold to stay under.
 */
import { KobanError } from '../platform/errors.ts';
import type { PaymentRiskEvent, PaymentsDeps } from './deps.ts';

/** Refuses on deny and review; answers whether the engine asks for a step-up (challenge). */
export async function assessPayment(deps: Pick<PaymentsDeps, 'risk'>, event: PaymentRiskEvent): Promise<'allow' | 'challenge'> {
  const { decision } = await deps.risk.assess(event);
  if (decision === 'allow' || decision === 'challenge') return decision;
  throw refusedByRisk();
}

export function refusedByRisk(): KobanError {
  return new KobanError('payment_refused_by_risk');
}
