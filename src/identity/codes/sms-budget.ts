/**
 * SMS pumping and OTP bombing (OTP-04; issue 14). Every code Koban sends by SMS first takes one unit
 * from three hourly budgets, all shared in PostgreSQL: per destination number (bombing one phone), per
 * requesting /24 or /64 network (one source pumping many numbers), and across Koban (a distributed
 * pumping run, and the bill). The kill switch `sms` stops every code SMS at once (operations, within a
 * second). A refusal is counted before anything is decided, so a registered and an unregistered number
 * spend and answer alike (AUTH-06). The first refusal of a budget in its window is an operator alert:
 * a security event and a risk-engine signal (a case when the number belongs to a customer).
 */
import type { Queryable } from '../../platform/db/database.ts';
import { KobanError } from '../../platform/errors.ts';
import { recordSecurityEvent, type RequestOrigin } from '../../platform/audit/security-log.ts';
import { customerByContact } from '../contacts/contacts.ts';
import type { IdentityDeps } from '../deps.ts';
import { hitCounter, networkOf } from '../login/throttle.ts';

export const SMS_SWITCH = 'sms';
const HOUR_MS = 60 * 60_000;

export type SmsBudgetScope = 'destination' | 'network' | 'global';
export type SmsBudget = { readonly ok: true } | { readonly ok: false; readonly refused: 'switched_off' | SmsBudgetScope };

const keys = {
  destination: (phone: string) => `sms:dest:${phone}`,
  network: (ip: string) => `sms:net:${networkOf(ip)}`,
  global: 'sms:global',
};

/** Takes one SMS from every budget; answers which refused first (global, then network, then destination). */
export async function takeSmsBudget(deps: IdentityDeps, destination: string, origin: RequestOrigin | null): Promise<SmsBudget> {
  // On the pool, never in the caller's transaction: a refusal rolls that back, and the count and the alert must stay.
  const db = deps.db.pool;
  if (!deps.switches.isOn(SMS_SWITCH)) return { ok: false, refused: 'switched_off' };
  const config = deps.config;
  const checks: Array<{ scope: SmsBudgetScope; key: string; limit: number }> = [
    { scope: 'global', key: keys.global, limit: config.smsGlobalPerHour },
    ...(origin?.ip ? [{ scope: 'network' as const, key: keys.network(origin.ip), limit: config.smsPerNetworkPerHour }] : []),
    { scope: 'destination', key: keys.destination(destination), limit: config.smsPerDestinationPerHour },
  ];
  for (const check of checks) {
    const used = await hitCounter(db, check.key, HOUR_MS);
    if (used > check.limit) {
      await alertOnce(deps, db, check.scope, used === check.limit + 1, destination, origin);
      return { ok: false, refused: check.scope };
    }
  }
  return { ok: true };
}

/** For code SMS: throws `service_switched_off` (503) or `sms_budget_exceeded` (429) when the budget refuses. */
export async function requireSmsBudget(deps: IdentityDeps, destination: string, origin: RequestOrigin | null): Promise<void> {
  const budget = await takeSmsBudget(deps, destination, origin);
  if (budget.ok) return;
  if (budget.refused === 'switched_off') throw new KobanError('service_switched_off', { detail: 'SMS is switched off for now; use another second factor', extensions: { switch: SMS_SWITCH } });
  throw new KobanError('sms_budget_exceeded', { extensions: { scope: budget.refused } });
}

async function alertOnce(deps: IdentityDeps, db: Queryable, scope: SmsBudgetScope, first: boolean, destination: string, origin: RequestOrigin | null): Promise<void> {
  const customerId = scope === 'destination' ? await customerByContact(db, 'phone', destination) : null;
  // Every refusal is in the audit log; only the first per window becomes an alert, so a run makes one case, not thousands.
  await recordSecurityEvent(db, { type: 'sms.budget_exceeded', outcome: 'refused', actor: 'anonymous', customerId, origin, reasons: [scope],
    details: { destinationSuffix: destination.slice(-4), alert: first } });
  if (!first) return;
  await deps.risk.recordSignal({ signal: 'sms_budget_exceeded', accountId: customerId, ip: origin?.ip ?? null, ref: scope,
    message: `SMS ${scope} budget exhausted (${scope === 'network' && origin?.ip ? networkOf(origin.ip) : `…${destination.slice(-4)}`})` });
}
