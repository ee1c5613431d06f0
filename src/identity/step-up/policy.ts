/**
 * The step-up policy, in one table (STEP-03, STEP-05, AUTH-07; issue 14): which second factors may
 * authorise which action. Enforced on the server at every step-up call site — when the methods are
 * offered (`startStepUp`), before an SMS is sent (`sendStepUpCode`) and when the proof is checked
 * (`completeStepUp`), recomputed each time so a passkey enrolled meanwhile counts at once.
 *
 * Three columns, intersected:
 * - `usual`: what the action accepts for a customer with no passkey and no elevated risk;
 * - `withPasskey`: once the customer has a passkey, a sensitive action accepts no weaker factor than
 *   it (no downgrade to a phishable or SIM-swappable SMS code: an attacker holding the session and the
 *   SIM must not out-vote the passkey). Top-ups keep TOTP so a customer can top up from a device
 *   that does not hold the passkey; they never accept SMS;
 * - `elevated`: while risk is elevated (some second factor of the account under guessing pressure or
 *   locked, factor-guard.ts) SMS is refused everywhere. The recovery cool-down is not counted: a
 *   customer who just recovered with SMS + e-mail must be able to set a new charge PIN, and the
 *   cool-down already pauses the high-risk actions themselves.
 */
import type { Queryable } from '../../platform/db/database.ts';
import { KobanError } from '../../platform/errors.ts';
import { underGuessingPressure } from '../factors/factor-guard.ts';
import type { StepUpAction } from './actions.ts';

export type StepUpFactor = 'passkey' | 'totp' | 'sms';

interface ActionPolicy {
  readonly usual: readonly StepUpFactor[];
  readonly withPasskey: readonly StepUpFactor[];
  readonly elevated: readonly StepUpFactor[];
}

const ANY: readonly StepUpFactor[] = ['passkey', 'totp', 'sms'];
const NO_SMS: readonly StepUpFactor[] = ['passkey', 'totp'];
const PASSKEY: readonly StepUpFactor[] = ['passkey'];

export const STEP_UP_POLICY: Readonly<Record<StepUpAction, ActionPolicy>> = {
  top_up: { usual: ANY, withPasskey: NO_SMS, elevated: NO_SMS },
  // Money leaving the customer for good (issue 19): as strict as a top-up.
  send: { usual: ANY, withPasskey: NO_SMS, elevated: NO_SMS },
  withdraw: { usual: ANY, withPasskey: NO_SMS, elevated: NO_SMS },
  add_funding_source: { usual: ANY, withPasskey: PASSKEY, elevated: NO_SMS },
  raise_limits: { usual: ANY, withPasskey: PASSKEY, elevated: NO_SMS },
  link_social: { usual: ANY, withPasskey: PASSKEY, elevated: NO_SMS },
  unlink_social: { usual: ANY, withPasskey: NO_SMS, elevated: NO_SMS },
  change_email: { usual: ANY, withPasskey: PASSKEY, elevated: NO_SMS },
  change_phone: { usual: ANY, withPasskey: PASSKEY, elevated: NO_SMS },
  change_password: { usual: ANY, withPasskey: PASSKEY, elevated: NO_SMS },
  change_factors: { usual: ANY, withPasskey: PASSKEY, elevated: NO_SMS },
  // Only a passkey (phishing-resistant, user verification, held on the customer's own authenticator) confirms a
  // payment risk held: an SMS code is what a SIM swap gives a thief, and the PIN path has its own device rule.
  confirm_payment: { usual: PASSKEY, withPasskey: PASSKEY, elevated: PASSKEY },
  // The passkey a customer pays with (payment-passkey.ts): the one proof malware on their own phone cannot give.
  pay: { usual: PASSKEY, withPasskey: PASSKEY, elevated: PASSKEY },
};

export interface StepUpContext {
  readonly hasPasskey: boolean;
  readonly riskElevated: boolean;
}

/** The factors this action accepts in this context (pure: the table above, intersected). */
export function allowedStepUpFactors(action: StepUpAction, context: StepUpContext): StepUpFactor[] {
  const policy = STEP_UP_POLICY[action];
  return policy.usual.filter((factor) => (!context.hasPasskey || policy.withPasskey.includes(factor)) && (!context.riskElevated || policy.elevated.includes(factor)));
}

export async function stepUpContext(db: Queryable, customerId: string): Promise<StepUpContext> {
  const passkey = await db.query('select 1 from passkeys where customer_id = $1 limit 1', [customerId]);
  return { hasPasskey: passkey.rowCount === 1, riskElevated: await underGuessingPressure(db, customerId) };
}

/** Throws `step_up_method_not_allowed` (403) naming the factors that are allowed. */
export async function requireAllowedStepUpFactor(db: Queryable, customerId: string, action: StepUpAction, factor: StepUpFactor): Promise<void> {
  const allowed = allowedStepUpFactors(action, await stepUpContext(db, customerId));
  if (!allowed.includes(factor)) throw new KobanError('step_up_method_not_allowed', { extensions: { action, method: factor, allowed } });
}
