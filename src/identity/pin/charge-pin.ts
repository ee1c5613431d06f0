/**
 * The charge PIN for top-ups (STEP-04). Six digits, argon2id, never trivial and never the login
 * password (checked by verifying the PIN against the password hash). Wrong tries are counted
 * atomically before the check: at 5 the PIN locks, and only a reset with a fresh step-up (a second
 * factor through a verified channel) unlocks it.
 */
import { withTransaction, type Queryable } from '../../platform/db/database.ts';
import { KobanError } from '../../platform/errors.ts';
import { recordSecurityEvent, type RequestOrigin } from '../../platform/audit/security-log.ts';
import type { IdentityDeps } from '../deps.ts';
import { riskDeviceId } from '../login/login.ts';
import { assessCredentialChange, requireOldFactorAfterPhoneChange, requireStrongFactorForLockedPin } from '../credential-changes.ts';
import { announceSecurityEvent } from '../security-alerts.ts';
import type { Session } from '../sessions/sessions.ts';
import { requireStepUp } from '../step-up/step-up.ts';
import { PIN_FORMAT, pinIsTrivial } from './pin-rules.ts';

export { pinIsTrivial };

export const PIN_FAILURES_MAX = 5;
async function checkNewPin(deps: IdentityDeps, customerId: string, pin: string): Promise<void> {
  if (!PIN_FORMAT.test(pin) || pinIsTrivial(pin)) throw new KobanError('pin_invalid', { errors: [{ pointer: '/body/pin', message: 'must be 6 digits and not easy to guess' }] });
  const password = (await deps.db.pool.query<{ password_hash: string }>('select password_hash from password_credentials where customer_id = $1', [customerId])).rows[0];
  // 7pay's charge password was often the login password: refuse it outright.
  if (password !== undefined && (await deps.hasher.verifyOrDummy(password.password_hash, pin))) {
    throw new KobanError('pin_invalid', { detail: 'the charge PIN must differ from your login password', errors: [{ pointer: '/body/pin', message: 'must not be your login password' }] });
  }
}

/** Sets or resets the PIN. Needs a fresh step-up for `change_factors` {factor: 'charge_pin'}; a live PIN also needs the current PIN. */
export async function setChargePin(deps: IdentityDeps, session: Session, input: { pin: string; currentPin?: string | undefined; grant: string | undefined }, origin: RequestOrigin): Promise<void> {
  await checkNewPin(deps, session.customerId, input.pin);
  const before = (await deps.db.pool.query<{ locked_at: Date | null }>('select locked_at from charge_pins where customer_id = $1', [session.customerId])).rows[0];
  if (before?.locked_at != null) await requireStrongFactorForLockedPin(deps.db.pool, session.customerId, input.grant, before.locked_at);
  if (before !== undefined) await requireOldFactorAfterPhoneChange(deps.db.pool, session.customerId, input.grant);
  // The grant is spent before the current PIN is checked: one step-up buys one guess at it.
  await requireStepUp(deps.db.pool, session, input.grant, 'change_factors', { factor: 'charge_pin' });
  // A first PIN is part of setting the account up; changing or resetting one is what a takeover does next.
  if (before !== undefined) await assessCredentialChange(deps, session, 'set_charge_pin', origin);
  const existing = (await deps.db.pool.query<{ pin_hash: string; locked_at: Date | null }>('select pin_hash, locked_at from charge_pins where customer_id = $1', [session.customerId])).rows[0];
  if (existing !== undefined && existing.locked_at === null) {
    if (input.currentPin === undefined || !(await deps.hasher.verifyOrDummy(existing.pin_hash, input.currentPin))) throw new KobanError('pin_wrong');
  }
  const pinHash = await deps.hasher.hash(input.pin);
  await withTransaction(deps.db, async (client) => {
    await client.query(
      `insert into charge_pins (customer_id, pin_hash) values ($1, $2)
       on conflict (customer_id) do update set pin_hash = excluded.pin_hash, failures = 0, locked_at = null, updated_at = now()`,
      [session.customerId, pinHash],
    );
    await announceSecurityEvent(client, { customerId: session.customerId, type: 'pin.set', origin, sessionId: session.id });
  });
}

export type ChargePinStatus = 'not_set' | 'set' | 'locked';

/** Whether a PIN exists and is usable: the wallet asks for the current PIN only when one is live. */
export async function chargePinStatus(db: Queryable, customerId: string): Promise<ChargePinStatus> {
  const row = (await db.query<{ locked_at: Date | null }>('select locked_at from charge_pins where customer_id = $1', [customerId])).rows[0];
  return row === undefined ? 'not_set' : row.locked_at === null ? 'set' : 'locked';
}

async function reserveAttempt(db: Queryable, customerId: string): Promise<{ pin_hash: string; failures: number }> {
  const reserved = await db.query<{ pin_hash: string; failures: number }>(
    'update charge_pins set failures = failures + 1 where customer_id = $1 and locked_at is null and failures < $2 returning pin_hash, failures',
    [customerId, PIN_FAILURES_MAX],
  );
  const row = reserved.rows[0];
  if (row !== undefined) return row;
  const exists = await db.query('select 1 from charge_pins where customer_id = $1', [customerId]);
  throw new KobanError(exists.rowCount === 1 ? 'pin_locked' : 'pin_not_set');
}

function riskDeviceOf(origin: RequestOrigin | null): string | null {
  return origin?.deviceToken ? riskDeviceId(origin.deviceToken) : null;
}

/** For the top-up route: resolves if the PIN is right, else throws pin_wrong / pin_locked / pin_not_set. */
export async function verifyChargePin(deps: IdentityDeps, customerId: string, pin: string | null | undefined, origin: RequestOrigin | null = null): Promise<void> {
  if (typeof pin !== 'string' || !PIN_FORMAT.test(pin)) throw new KobanError('pin_required');
  const attempt = await reserveAttempt(deps.db.pool, customerId);
  if (await deps.hasher.verifyOrDummy(attempt.pin_hash, pin)) {
    await deps.db.pool.query('update charge_pins set failures = 0 where customer_id = $1 and locked_at is null', [customerId]);
    return;
  }
  await deps.risk.recordFailure({ kind: 'pin', accountId: customerId, ip: origin?.ip ?? null, deviceId: riskDeviceOf(origin) });
  await recordSecurityEvent(deps.db.pool, { type: 'pin.wrong', outcome: 'failure', actor: 'customer', customerId, origin, details: { failures: attempt.failures } });
  if (attempt.failures < PIN_FAILURES_MAX) throw new KobanError('pin_wrong', { extensions: { attemptsLeft: PIN_FAILURES_MAX - attempt.failures } });
  await withTransaction(deps.db, async (client) => {
    const locked = await client.query('update charge_pins set locked_at = now() where customer_id = $1 and locked_at is null', [customerId]);
    if (locked.rowCount === 1) await announceSecurityEvent(client, { customerId, type: 'pin.locked', origin });
  });
  throw new KobanError('pin_locked');
}
