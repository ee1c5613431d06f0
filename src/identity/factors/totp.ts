/**
 * TOTP (RFC 6238) with otplib 13. The seed is encrypted at rest; a code is accepted once: the time
 * step that matched is stored by the same UPDATE that accepts it, only if it is newer than the last
 * one, so a replayed or raced code fails (OTP-02).
 */
import { generateSecret, generateURI, verify } from 'otplib';
import type { Queryable } from '../../platform/db/database.ts';
import { KobanError } from '../../platform/errors.ts';
import type { IdentitySecrets } from '../secrets.ts';

/** One 30 s step either way: enough for clock drift, small enough to keep the guessing window small. */
export const TOTP_EPOCH_TOLERANCE_S = 30;
const TOTP_FORMAT = /^[0-9]{6}$/;

export async function beginTotpEnrollment(db: Queryable, secrets: IdentitySecrets, customerId: string, label: string): Promise<{ secret: string; uri: string }> {
  const secret = generateSecret();
  const result = await db.query(
    `insert into totp_factors (customer_id, secret_ciphertext) values ($1, $2)
     on conflict (customer_id) do update set secret_ciphertext = excluded.secret_ciphertext, last_time_step = null, created_at = now()
       where totp_factors.confirmed_at is null`,
    [customerId, secrets.encrypt('totp_seeds', secret)],
  );
  if (result.rowCount !== 1) throw new KobanError('totp_already_enrolled');
  return { secret, uri: generateURI({ issuer: 'Koban', label, secret }) };
}

export async function hasTotp(db: Queryable, customerId: string): Promise<boolean> {
  const result = await db.query('select 1 from totp_factors where customer_id = $1 and confirmed_at is not null', [customerId]);
  return result.rowCount === 1;
}

/** Checks a code and, if right and new, records its time step; `pending` checks an unconfirmed seed. */
export async function acceptTotp(db: Queryable, secrets: IdentitySecrets, customerId: string, code: string, state: 'confirmed' | 'pending' = 'confirmed'): Promise<boolean> {
  if (!TOTP_FORMAT.test(code)) return false;
  const row = (await db.query<{ secret_ciphertext: Buffer; last_time_step: bigint | null }>(
    `select secret_ciphertext, last_time_step from totp_factors where customer_id = $1 and (confirmed_at is not null) = $2`,
    [customerId, state === 'confirmed'],
  )).rows[0];
  if (row === undefined) return false;
  const secret = secrets.decrypt('totp_seeds', row.secret_ciphertext);
  const afterTimeStep = row.last_time_step === null ? undefined : Number(row.last_time_step);
  const result = await verify({ secret, token: code, epochTolerance: TOTP_EPOCH_TOLERANCE_S, ...(afterTimeStep === undefined ? {} : { afterTimeStep }) });
  if (!result.valid || !('timeStep' in result)) return false;
  const stored = await db.query(
    `update totp_factors set last_time_step = $2, confirmed_at = coalesce(confirmed_at, now())
     where customer_id = $1 and (last_time_step is null or last_time_step < $2)`,
    [customerId, result.timeStep],
  );
  return stored.rowCount === 1;
}
