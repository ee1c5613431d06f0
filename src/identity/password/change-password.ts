/**
 * Changing the password while signed in: a fresh step-up `change_password` and the current password
 * (AUTH-03, STEP-01). The grant is consumed before the current password is checked, so one step-up buys
 * one guess. Then every other session ends, and every verified contact is told (AUTH-08).
 */
import { withTransaction } from '../../platform/db/database.ts';
import { KobanError } from '../../platform/errors.ts';
import { recordSecurityEvent, type RequestOrigin } from '../../platform/audit/security-log.ts';
import { verifiedContacts } from '../contacts/contacts.ts';
import type { IdentityDeps } from '../deps.ts';
import { announceSecurityEvent } from '../security-alerts.ts';
import { revokeAllSessions, type Session } from '../sessions/sessions.ts';
import { requireStepUp } from '../step-up/step-up.ts';
import { assessCredentialChange, requireOldFactorAfterPhoneChange } from '../credential-changes.ts';
import { checkNewPassword, normalizePassword, PASSWORD_LENGTH_MAX } from './policy.ts';

export interface ChangePassword { readonly currentPassword: string; readonly newPassword: string; readonly grant: string | undefined }

export async function changePassword(deps: IdentityDeps, session: Session, input: ChangePassword, origin: RequestOrigin): Promise<{ sessionsRevoked: number }> {
  const contacts = await verifiedContacts(deps.db.pool, session.customerId);
  const context = { email: contacts.find((c) => c.kind === 'email')?.value ?? null, phone: contacts.find((c) => c.kind === 'phone')?.value ?? null };
  // Bad input changes nothing: the new password is checked before the grant is spent.
  const newPassword = checkNewPassword(input.newPassword, context, '/body/newPassword');
  await requireOldFactorAfterPhoneChange(deps.db.pool, session.customerId, input.grant);
  await requireStepUp(deps.db.pool, session, input.grant, 'change_password', {});
  const stored = (await deps.db.pool.query<{ password_hash: string }>('select password_hash from password_credentials where customer_id = $1', [session.customerId])).rows[0]?.password_hash ?? null;
  const current = normalizePassword(input.currentPassword);
  const tooLong = [...current].length > PASSWORD_LENGTH_MAX;
  if (!(await deps.hasher.verifyOrDummy(tooLong ? null : stored, current))) {
    await recordSecurityEvent(deps.db.pool, { type: 'password.change', outcome: 'failure', actor: 'customer', customerId: session.customerId, sessionId: session.id, origin, reasons: ['current_password_wrong'] });
    throw new KobanError('current_password_wrong');
  }
  await assessCredentialChange(deps, session, 'change_password', origin);
  const passwordHash = await deps.hasher.hash(newPassword);
  return withTransaction(deps.db, async (client) => {
    await client.query('update password_credentials set password_hash = $2, updated_at = now() where customer_id = $1', [session.customerId, passwordHash]);
    const sessionsRevoked = await revokeAllSessions(client, session.customerId, session.id);
    await announceSecurityEvent(client, { customerId: session.customerId, type: 'password.changed', origin, sessionId: session.id, details: { sessionsRevoked } });
    return { sessionsRevoked };
  });
}
