/**
 * The setup window of a fresh sign-up (issue 17, "code fatigue"): the sign-up has just proved the phone
 * and the e-mail with two codes on this device, so asking for a third SMS code to set the first PIN, a
 * fourth to add the first card and a fifth for the first top-up proves nothing new. For
 * SETUP_WINDOW_MS after the sign-up, on the session the sign-up started and its device only, those first
 * setup steps get their step-up grant without another code.
 *
 * The limits, each a rule below:
 * - bound to one session (the sign-up's; a later sign-in, even on the same device, has no window) and
 *   to that session's device, shown by the request's own device cookie (a copied session token has none);
 * - one window, opened once, with a fixed end: nothing extends it (no column is ever moved forward);
 * - scoped to setup steps, each covered once: the first charge PIN (not a change or a reset), the first
 *   funding source, the first top-up, the first passkey. Contact, password, social and other factor
 *   changes are never covered;
 * - no stronger than the SMS code it replaces: where the step-up policy refuses SMS (a passkey on the
 *   account, a factor under guessing pressure) the window covers nothing;
 * - the grant it gives is an ordinary step-up grant (single use, 5 minutes, this action and exactly these
 *   parameters), recorded as a `step_up` success with the reason `setup_window`, so the rest of Koban
 *   (routes, the weak-PIN check before the grant is spent) is unchanged.
 */
import { withTransaction, type Queryable } from '../../platform/db/database.ts';
import { assert } from '../../platform/assert.ts';
import { uuidv7 } from '../../platform/ids.ts';
import { recordSecurityEvent, type RequestOrigin } from '../../platform/audit/security-log.ts';
import type { IdentityDeps } from '../deps.ts';
import { randomToken, sha256 } from '../secrets.ts';
import { knownDeviceId } from '../sessions/devices.ts';
import type { Session } from '../sessions/sessions.ts';
import { stepUpHash, type StepUpAction, type StepUpParams } from './actions.ts';
import { allowedStepUpFactors, stepUpContext } from './policy.ts';

export const SETUP_WINDOW_MS = 10 * 60_000;

export type SetupStep = 'charge_pin' | 'funding_source' | 'top_up' | 'passkey';

/** The column that records a step's single use (a fixed map: never a name from the request). */
const USED_COLUMN: Readonly<Record<SetupStep, string>> = {
  charge_pin: 'charge_pin_used_at', funding_source: 'funding_source_used_at', top_up: 'top_up_used_at', passkey: 'passkey_used_at',
};

/** The setup step an action is, or null: only these four, and a factor change only for the PIN or a passkey. */
export function setupStepOf(action: StepUpAction, params: StepUpParams): SetupStep | null {
  if (action === 'top_up') return 'top_up';
  if (action === 'add_funding_source') return 'funding_source';
  if (action === 'change_factors' && params.factor === 'charge_pin') return 'charge_pin';
  if (action === 'change_factors' && params.factor === 'passkey') return 'passkey';
  return null;
}

/** Opened in the transaction that starts the sign-up's session (account-security.ts). */
export async function openSetupWindow(db: Queryable, session: { id: string; customerId: string; deviceId: string }, origin: RequestOrigin): Promise<void> {
  await db.query(
    `insert into signup_setup_windows (session_id, customer_id, device_id, expires_at) values ($1, $2, $3, now() + make_interval(secs => $4::double precision / 1000))`,
    [session.id, session.customerId, session.deviceId, SETUP_WINDOW_MS],
  );
  await recordSecurityEvent(db, { type: 'step_up.setup_window', outcome: 'success', actor: 'customer', customerId: session.customerId, sessionId: session.id, origin, reasons: ['opened'], details: { minutes: SETUP_WINDOW_MS / 60_000 } });
}

/** A first PIN only: setting one over a live or locked PIN is a change, which a takeover does next. */
async function stepStillFirst(db: Queryable, customerId: string, step: SetupStep): Promise<boolean> {
  if (step === 'charge_pin') return (await db.query('select 1 from charge_pins where customer_id = $1', [customerId])).rowCount === 0;
  if (step === 'passkey') return (await db.query('select 1 from passkeys where customer_id = $1 limit 1', [customerId])).rowCount === 0;
  return true;
}

/**
 * A grant for this action from the session's setup window, spending that step of the window, or null
 * when the window does not cover it (then the caller runs the ordinary step-up).
 */
export async function grantFromSetupWindow(deps: IdentityDeps, session: Session, action: StepUpAction, params: StepUpParams, origin: RequestOrigin | null, grantMaxAgeMs: number): Promise<{ stepUpId: string; grant: string } | null> {
  const step = setupStepOf(action, params);
  if (step === null || session.deviceId === null) return null;
  // The device that presents the session, by its own cookie: a session token copied elsewhere has no window.
  const presentingDevice = await knownDeviceId(deps.db.pool, session.customerId, origin?.deviceToken ?? null);
  if (presentingDevice !== session.deviceId) return null;
  // The window replaces an SMS code: where the policy takes no SMS for this action, it covers nothing.
  if (!allowedStepUpFactors(action, await stepUpContext(deps.db.pool, session.customerId)).includes('sms')) return null;
  const hash = stepUpHash(action, params);
  return withTransaction(deps.db, async (client) => {
    if (!(await stepStillFirst(client, session.customerId, step))) return null;
    const spent = await client.query(
      `update signup_setup_windows set ${USED_COLUMN[step]} = now()
       where session_id = $1 and customer_id = $2 and device_id = $3 and expires_at > now() and ${USED_COLUMN[step]} is null`,
      [session.id, session.customerId, session.deviceId],
    );
    if (spent.rowCount !== 1) return null;
    const stepUpId = uuidv7();
    const grant = randomToken();
    await client.query(
      `insert into step_up_requests (id, session_id, customer_id, action, params_hash, expires_at, verified_at)
       values ($1, $2, $3, $4, $5, now() + make_interval(secs => $6::double precision / 1000), now())`,
      [stepUpId, session.id, session.customerId, action, hash, grantMaxAgeMs],
    );
    const inserted = await client.query(
      `insert into step_up_grants (id, token_hash, request_id, session_id, customer_id, action, params_hash, method, expires_at)
       values ($1, $2, $3, $4, $5, $6, $7, 'setup_window', now() + make_interval(secs => $8::double precision / 1000))`,
      [uuidv7(), sha256(grant), stepUpId, session.id, session.customerId, action, hash, grantMaxAgeMs],
    );
    assert(inserted.rowCount === 1, 'a setup-window grant is written once');
    await recordSecurityEvent(client, { type: 'step_up', outcome: 'success', actor: 'customer', customerId: session.customerId, sessionId: session.id, origin, reasons: ['setup_window', action, step] });
    return { stepUpId, grant };
  });
}
