/**
 * Account recovery that cannot be redirected (REC-01..06). The request names only the account; the
 * codes go only to the phone and e-mail verified and on file. Completing needs two proofs from
 * different channels (the SMS code and the e-mail code, or one of them and a recovery code) so
 * recovery never drops below AAL2 (REC-04). Then: new password, every session revoked, every
 * verified contact told, a forced reset cleared, and a cool-down on high-risk actions.
 *
 * The risk engine is asked when a recovery starts. A `deny` or `review` is answered like the
 * per-identifier limit: the same answer, nothing sent, a request that can never complete, so the
 * answer tells nothing about the identifier; the engine keeps the reasons and any case.
 */
import { withTransaction } from '../../platform/db/database.ts';
import { KobanError } from '../../platform/errors.ts';
import { uuidv7 } from '../../platform/ids.ts';
import { recordSecurityEvent, type RequestOrigin } from '../../platform/audit/security-log.ts';
import { enqueueMessage } from '../../notifications/outbox.ts';
import { consumeCode, issueCode } from '../codes/one-time-codes.ts';
import { customerByContact, verifiedContacts } from '../contacts/contacts.ts';
import { normalizeIdentifier } from '../contacts/normalize.ts';
import type { IdentityDeps } from '../deps.ts';
import { consumeRecoveryCode } from '../factors/recovery-codes.ts';
import { liftFactorLocks } from '../factors/factor-guard.ts';
import { takeSmsBudget } from '../codes/sms-budget.ts';
import { endFailureRun, riskDeviceId } from '../login/login.ts';
import { hitCounter } from '../login/throttle.ts';
import { checkNewPassword } from '../password/policy.ts';
import { sha256 } from '../secrets.ts';
import { riskRefuses } from '../risk-port.ts';
import { revokeAllSessions } from '../sessions/sessions.ts';
import { clearResetRequired } from './forced-reset.ts';
import { announceSecurityEvent } from '../security-alerts.ts';

export const RECOVERY_TTL_MS = 15 * 60_000;
export const RECOVERY_ATTEMPTS_MAX = 5;
/** Recovery requests per identifier per hour; more are answered the same way but send nothing. */
export const RECOVERY_REQUESTS_PER_HOUR = 3;
const HOUR_MS = 60 * 60_000;

export async function startRecovery(deps: IdentityDeps, identifierInput: string, origin: RequestOrigin): Promise<{ recoveryId: string }> {
  const identifier = normalizeIdentifier(identifierInput);
  const key = `recovery:id:${sha256(identifier?.value ?? identifierInput).toString('hex')}`;
  const underLimit = (await hitCounter(deps.db.pool, key, HOUR_MS)) <= RECOVERY_REQUESTS_PER_HOUR;
  const customerId = identifier === null ? null : await customerByContact(deps.db.pool, identifier.kind, identifier.value);
  const recoveryId = uuidv7();
  const { decision } = await deps.risk.assess({ kind: 'recovery', accountId: customerId, ref: recoveryId, ip: origin.ip,
    deviceId: origin.deviceToken === null ? null : riskDeviceId(origin.deviceToken) });
  const withinLimit = underLimit && !riskRefuses(decision);
  // SMS budgets count on their own connection, so they are spent before the transaction. Over a budget the
  // phone gets nothing; the answer stays the same (AUTH-06) and the e-mail code still goes.
  const budgetedPhones = new Set<string>();
  if (customerId !== null && withinLimit) {
    for (const contact of await verifiedContacts(deps.db.pool, customerId)) {
      if (contact.kind === 'phone' && (await takeSmsBudget(deps, contact.value, origin)).ok) budgetedPhones.add(contact.value);
    }
  }
  await withTransaction(deps.db, async (client) => {
    // A row exists for unknown identifiers too: same work, same answer, and it can never complete.
    await client.query(
      'insert into recovery_requests (id, customer_id, expires_at) values ($1, $2, now() + make_interval(secs => $3::double precision / 1000))',
      [recoveryId, withinLimit ? customerId : null, RECOVERY_TTL_MS],
    );
    if (customerId !== null && withinLimit) {
      for (const contact of await verifiedContacts(client, customerId)) {
        if (contact.kind === 'phone' && !budgetedPhones.has(contact.value)) continue;
        const purpose = contact.kind === 'phone' ? 'recovery_sms' : 'recovery_email';
        const issued = await issueCode(client, deps.secrets, purpose, recoveryId, contact.value);
        if ('refused' in issued) continue;
        await enqueueMessage(client, { channel: contact.kind === 'phone' ? 'sms' : 'email', recipient: contact.value, kind: 'recovery_code', subject: 'Koban account recovery',
          body: `Your Koban recovery code is ${issued.code}. It expires in 15 minutes. If you did not ask to recover your account, ignore this message; your password has not changed.` });
      }
    }
    await recordSecurityEvent(client, { type: 'recovery.requested', outcome: customerId === null ? 'failure' : 'success', actor: 'anonymous', customerId, origin, reasons: withinLimit ? [] : [underLimit ? 'risk' : 'rate_limited'] });
  });
  return { recoveryId };
}

export interface RecoveryProofs {
  readonly smsCode?: string | undefined;
  readonly emailCode?: string | undefined;
  readonly recoveryCode?: string | undefined;
}

export async function completeRecovery(deps: IdentityDeps, input: { recoveryId: string; proofs: RecoveryProofs; newPassword: string }, origin: RequestOrigin): Promise<void> {
  const request = (await deps.db.pool.query<{ customer_id: string | null }>(
    `update recovery_requests set attempts = attempts + 1 where id = $1 and completed_at is null and expires_at > now() and attempts < $2 returning customer_id`,
    [input.recoveryId, RECOVERY_ATTEMPTS_MAX],
  )).rows[0];
  const customerId = request?.customer_id ?? null;
  if (customerId === null) throw new KobanError('recovery_failed');
  const contacts = await verifiedContacts(deps.db.pool, customerId);
  const password = checkNewPassword(input.newPassword, { email: contacts.find((c) => c.kind === 'email')?.value ?? null, phone: contacts.find((c) => c.kind === 'phone')?.value ?? null }, '/body/newPassword');
  const { proofs } = input;
  const held = [
    proofs.smsCode !== undefined && (await consumeCode(deps.db.pool, deps.secrets, 'recovery_sms', input.recoveryId, proofs.smsCode)),
    proofs.emailCode !== undefined && (await consumeCode(deps.db.pool, deps.secrets, 'recovery_email', input.recoveryId, proofs.emailCode)),
    proofs.recoveryCode !== undefined && (await consumeRecoveryCode(deps.db.pool, deps.secrets, customerId, proofs.recoveryCode)),
  ].filter(Boolean).length;
  if (held < 2) {
    await recordSecurityEvent(deps.db.pool, { type: 'recovery.completed', outcome: 'failure', actor: 'anonymous', customerId, origin, reasons: ['proofs'] });
    throw new KobanError('recovery_failed');
  }
  const passwordHash = await deps.hasher.hash(password);
  await withTransaction(deps.db, async (client) => {
    const done = await client.query('update recovery_requests set completed_at = now() where id = $1 and completed_at is null', [input.recoveryId]);
    if (done.rowCount !== 1) throw new KobanError('recovery_failed');
    await client.query('update password_credentials set password_hash = $2, updated_at = now() where customer_id = $1', [customerId, passwordHash]);
    await revokeAllSessions(client, customerId);
    await clearResetRequired(client, customerId);
    // Recovery (two channels, REC-04) is the only way to lift a second factor locked after guessing.
    await liftFactorLocks(client, customerId);
    await client.query(`update customers set recovery_cooldown_until = now() + make_interval(secs => $2::double precision / 1000) where id = $1`, [customerId, deps.config.recoveryCooldownMs]);
    await announceSecurityEvent(client, { customerId, type: 'recovery.completed', origin });
  });
  await endFailureRun(deps, customerId);
}
