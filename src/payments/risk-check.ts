/**
 * Every payment is scored by the risk engine before money moves. The engine records the decision with
 * its rules and reasons; the merchant (and the customer) get one generic refusal, never the reasons, so a
 * fraudster cannot learn which threshold to stay under.
 */
import { KobanError } from '../platform/errors.ts';
import { availableBalance } from '../ledger/types.ts';
import type { PaymentRiskEvent, PaymentsDeps, PendingRiskDecision } from './deps.ts';
import type { Queryable } from '../platform/db/database.ts';
import { assert } from '../platform/assert.ts';

/** Refuses on deny and review; answers whether the engine asks for a step-up (challenge). */
export async function assessPayment(deps: Pick<PaymentsDeps, 'risk'>, event: PaymentRiskEvent): Promise<'allow' | 'challenge'> {
  return (await assessPaymentWithRules(deps, event)).decision;
}

/** As `assessPayment`, with the rules that asked for the step-up (kept with a payment held for its customer). */
export async function assessPaymentWithRules(deps: Pick<PaymentsDeps, 'risk'>, event: PaymentRiskEvent): Promise<{ decision: 'allow' | 'challenge'; rules: string[] }> {
  const { decision, reasons } = await deps.risk.assess(event);
  if (decision === 'allow' || decision === 'challenge') return { decision, rules: (reasons ?? []).map((reason) => reason.rule) };
  throw refusedByRisk();
}

/**
 * As `assessPaymentWithRules`, with an allow left unrecorded when the engine can defer it (`pending`): the
 * caller must record it (`recordPendingRisk`) — in the group commit's transaction, or on its own.
 */
export async function assessPaymentPending(deps: Pick<PaymentsDeps, 'risk'>, event: PaymentRiskEvent): Promise<{ decision: 'allow' | 'challenge'; rules: string[]; pending: PendingRiskDecision | null }> {
  if (deps.risk.assessPending === undefined) return { ...(await assessPaymentWithRules(deps, event)), pending: null };
  const { decision: { decision, reasons }, pending } = await deps.risk.assessPending(event);
  if (decision === 'allow' || decision === 'challenge') return { decision, rules: (reasons ?? []).map((reason) => reason.rule), pending };
  throw refusedByRisk();
}

/** Records pending allows on `client` (a batch's transaction) or the pool. */
export async function recordPendingRisk(deps: Pick<PaymentsDeps, 'risk' | 'db'>, pending: readonly PendingRiskDecision[], client?: Queryable): Promise<void> {
  if (pending.length === 0) return;
  assert(deps.risk.recordPending !== undefined, 'an engine that defers records too');
  await deps.risk.recordPending(client ?? deps.db.pool, pending);
}

/** What the wallet holds now (posted credits less posted and pending debits), for the balance-drain rule. */
export async function walletBalanceMinor(deps: Pick<PaymentsDeps, 'ledger'>, walletAccountId: string): Promise<bigint | null> {
  const account = await deps.ledger.getAccount(walletAccountId);
  return account === null ? null : availableBalance(account);
}

export function refusedByRisk(): KobanError {
  return new KobanError('payment_refused_by_risk');
}
