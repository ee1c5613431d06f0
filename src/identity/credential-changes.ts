/**
 * Credential and contact changes are sensitive actions (issue 13). A takeover after a SIM swap ran:
 * recovery, e-mail change, password change, PIN reset — each needing only an SMS step-up, none scored,
 * none slowing money down. Now:
 * - every change (e-mail, phone, password, charge PIN set or reset) is scored by the risk engine as a
 *   `credential_change` event before it is written; `deny` and `review` refuse it (the engine keeps the
 *   reasons and opens the case);
 * - the event is counted, so for the next `unusual_context.recentHours` (24 h by default, operator-tunable)
 *   every payment once the account spent `unusual_context.smallAmountMinor` (¥1,000, in all) needs a strong confirmation: the PIN on
 *   a device the account has known for a day (src/wiring.ts). That is the cool-down on money: a thief who
 *   just took the account over on their own device cannot move more than a small amount;
 * - a **locked** charge PIN is not reset with an SMS step-up alone (a SIM swap gives the thief SMS): the
 *   reset needs a passkey or authenticator-app step-up, or a recovery completed since the lock (SMS and
 *   e-mail codes, two channels).
 * - for a day after the phone of record changed, a password or PIN change needs a factor from before the
 *   change (passkey or authenticator app): codes to the new phone are not "the old factor".
 * Notices to every verified contact (the old one included for a contact change) and the one-kind-at-a-time
 * contact cool-down are in `security-alerts.ts` and `contacts/contact-change.ts`.
 */
import type { RequestOrigin } from '../platform/audit/security-log.ts';
import type { Queryable } from '../platform/db/database.ts';
import { KobanError } from '../platform/errors.ts';
import type { IdentityDeps } from './deps.ts';
import { sha256 } from './secrets.ts';
import type { Session } from './sessions/sessions.ts';

export type CredentialChange = 'change_email' | 'change_phone' | 'change_password' | 'set_charge_pin';

/** Scores the change; refuses on deny or review (the same codes social linking answers). */
export async function assessCredentialChange(deps: IdentityDeps, session: Pick<Session, 'customerId' | 'deviceKey'>, change: CredentialChange, origin: RequestOrigin): Promise<void> {
  const { decision } = await deps.risk.assess({ kind: 'credential_change', accountId: session.customerId, deviceId: session.deviceKey, ip: origin.ip, ref: change });
  if (decision === 'deny') throw new KobanError('risk_denied');
  if (decision === 'review') throw new KobanError('risk_held_for_review');
}

/**
 * A locked PIN is reset only after a factor a SIM swap does not give: the step-up grant presented was by
 * passkey or authenticator app **enrolled before the lock** (one enrolled since could have been added with
 * the same SMS code), or a recovery (two channels) completed after the lock. Checked before the grant is
 * spent, so a refused attempt changes nothing.
 */
export async function requireStrongFactorForLockedPin(db: Queryable, customerId: string, grant: string | undefined, lockedAt: Date): Promise<void> {
  if (await grantByFactorEnrolledBefore(db, customerId, grant, lockedAt)) return;
  const recovered = await db.query('select 1 from recovery_requests where customer_id = $1 and completed_at > $2 limit 1', [customerId, lockedAt]);
  if (recovered.rowCount === 1) return;
  throw new KobanError('pin_reset_needs_strong_factor');
}

/** How long a new phone is not yet a factor for further credential changes (the contacts' own cool-down). */
export const NEW_PHONE_NOT_A_FACTOR_MS = 24 * 60 * 60_000;

/**
 * Further changes need the old factor (issue 13): for a day after the phone of record changed, SMS codes go to
 * a phone that may be the thief's, so a password or PIN change then needs a passkey or authenticator app
 * enrolled **before** the phone changed (or waits out the day). The other contact already waits
 * (`contact_change_cooldown`). Checked before the grant is spent, so a refusal changes nothing.
 */
export async function requireOldFactorAfterPhoneChange(db: Queryable, customerId: string, grant: string | undefined): Promise<void> {
  const changed = (await db.query<{ completed_at: Date }>(
    `select completed_at from contact_changes where customer_id = $1 and kind = 'phone' and reported_at is null
       and completed_at > now() - make_interval(secs => $2::double precision / 1000) order by completed_at desc limit 1`,
    [customerId, NEW_PHONE_NOT_A_FACTOR_MS])).rows[0]?.completed_at;
  if (changed === undefined) return;
  if (await grantByFactorEnrolledBefore(db, customerId, grant, changed)) return;
  throw new KobanError('credential_change_needs_old_factor');
}

/** Whether the step-up grant presented was by a passkey or authenticator app enrolled before `instant`. */
async function grantByFactorEnrolledBefore(db: Queryable, customerId: string, grant: string | undefined, instant: Date): Promise<boolean> {
  if (typeof grant !== 'string' || grant.length === 0 || grant.length > 128) return false;
  const method = (await db.query<{ method: string }>('select method from step_up_grants where token_hash = $1 and customer_id = $2', [sha256(grant), customerId])).rows[0]?.method;
  const enrolledBefore = method === 'passkey'
    ? await db.query('select 1 from passkeys where customer_id = $1 and created_at < $2 limit 1', [customerId, instant])
    : method === 'totp' ? await db.query('select 1 from totp_factors where customer_id = $1 and confirmed_at < $2 limit 1', [customerId, instant]) : null;
  return enrolledBefore?.rowCount === 1;
}
