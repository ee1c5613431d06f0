/**
 * Second-factor guessing across fresh challenges (OTP-01, AUTH-05, STEP-06; issue 14). Every guessable
 * factor (SMS code, TOTP code, recovery code) has one failure counter per customer, kept on the account
 * and not on the challenge: a new sign-in challenge, a new step-up or a resent code never resets it.
 *
 * An attempt is reserved (counted) before the code is checked, in one statement, so parallel guesses
 * each use one up. A right code clears the counter; a wrong one keeps it. From SLOW_FROM consecutive
 * failures each further attempt must wait (doubling, capped), and at LOCK_AT the factor locks for the
 * whole account: sign-in and step-up refuse it with `factor_locked` until the customer completes an
 * account recovery (which needs two channels, REC-04). The lock tells the customer on every contact
 * and raises an operator alert through the risk engine (a case on the account).
 *
 * Passkeys are not counted here: an assertion cannot be guessed, and its failures are refusals.
 */
import type { Queryable } from '../../platform/db/database.ts';
import { withTransaction } from '../../platform/db/database.ts';
import { KobanError } from '../../platform/errors.ts';
import { recordSecurityEvent, type RequestOrigin } from '../../platform/audit/security-log.ts';
import type { IdentityDeps } from '../deps.ts';
import { announceSecurityEvent } from '../security-alerts.ts';

export type GuessableFactor = 'sms' | 'totp' | 'recovery_code';
export const GUESSABLE_FACTORS: readonly GuessableFactor[] = ['sms', 'totp', 'recovery_code'];

/** Consecutive failures from which every further attempt waits. */
export const FACTOR_SLOW_FROM = 3;
/** Consecutive failures that lock the factor until recovery: far below NIST's 100, a 6-digit code keeps ≥ 99.99 % odds. */
export const FACTOR_LOCK_AT = 10;
/** The longest wait between two attempts while slowed down. */
export const FACTOR_DELAY_MAX_MS = 5 * 60_000;

export function isGuessableFactor(method: string): method is GuessableFactor {
  return (GUESSABLE_FACTORS as readonly string[]).includes(method);
}

/** The wait required after `failures` consecutive failures: 0 below SLOW_FROM, then base·2^(n−SLOW_FROM), capped. */
export function factorDelayMs(failures: number, baseMs: number): number {
  if (failures < FACTOR_SLOW_FROM) return 0;
  return Math.min(FACTOR_DELAY_MAX_MS, baseMs * 2 ** Math.min(20, failures - FACTOR_SLOW_FROM));
}

export interface GuardRow { failures: number; locked_at: Date | null; elapsed_ms: number }

/**
 * Reserves one attempt for (customer, factor) or throws `factor_locked` (423) / `factor_slowed_down`
 * (429, with `retryAfterSeconds`). Call before checking the code; then `recordFactorOutcome`.
 */
export async function reserveFactorAttempt(deps: IdentityDeps, customerId: string, factor: GuessableFactor): Promise<void> {
  await reserveGuardedAttempt(deps, { table: 'factor_failures', keyColumn: 'customer_id' }, customerId, factor);
}

/**
 * The counter a reservation runs on: the account's own, or (login/decoy.ts) the decoys' shadow of it, which must
 * answer with the very same statement and refusals so a decoy cannot be told from a real challenge.
 */
export type GuardCounter =
  | { readonly table: 'factor_failures'; readonly keyColumn: 'customer_id' }
  | { readonly table: 'login_decoy_factor_failures'; readonly keyColumn: 'subject' };

/** One statement reserves an attempt on `counter` for (key, factor), or throws the guard's refusal. */
export async function reserveGuardedAttempt(deps: IdentityDeps, counter: GuardCounter, key: string | Buffer, factor: GuessableFactor): Promise<void> {
  const { table, keyColumn } = counter;
  const base = deps.config.factorSlowdownBaseMs;
  const reserved = await deps.db.pool.query(
    `insert into ${table} as f (${keyColumn}, factor, failures, last_attempt_at) values ($1, $2, 1, now())
     on conflict (${keyColumn}, factor) do update set failures = f.failures + 1, last_attempt_at = now()
       where f.locked_at is null and f.failures < $5 and (f.failures < $3
         or f.last_attempt_at + make_interval(secs => least($6::double precision, $4::double precision * power(2, least(20, f.failures - $3))) / 1000) <= now())`,
    [key, factor, FACTOR_SLOW_FROM, base, FACTOR_LOCK_AT, FACTOR_DELAY_MAX_MS],
  );
  if (reserved.rowCount === 1) return;
  const row = (await deps.db.pool.query<GuardRow>(
    `select failures, locked_at, greatest(0, extract(epoch from (now() - last_attempt_at)) * 1000)::float8 as elapsed_ms from ${table} where ${keyColumn} = $1 and factor = $2`,
    [key, factor],
  )).rows[0];
  throw guardRefusal(row, factor, base);
}

/** The refusal of an attempt the guard did not reserve, on either counter. */
export function guardRefusal(row: GuardRow | undefined, factor: GuessableFactor, baseMs: number): KobanError {
  if (row === undefined || row.locked_at !== null || row.failures >= FACTOR_LOCK_AT) return new KobanError('factor_locked', { extensions: { factor } });
  const waitMs = Math.max(0, factorDelayMs(row.failures, baseMs) - row.elapsed_ms);
  return new KobanError('factor_slowed_down', { extensions: { factor, retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)) } });
}

/** After the check: a right code clears the counter; a wrong one at LOCK_AT locks the factor, tells the customer and alerts operators. */
export async function recordFactorOutcome(deps: IdentityDeps, customerId: string, factor: GuessableFactor, ok: boolean, origin: RequestOrigin | null): Promise<void> {
  if (ok) {
    await deps.db.pool.query('update factor_failures set failures = 0 where customer_id = $1 and factor = $2 and locked_at is null', [customerId, factor]);
    return;
  }
  const locked = await withTransaction(deps.db, async (client) => {
    const result = await client.query<{ failures: number }>(
      'update factor_failures set locked_at = now() where customer_id = $1 and factor = $2 and locked_at is null and failures >= $3 returning failures',
      [customerId, factor, FACTOR_LOCK_AT],
    );
    if (result.rowCount !== 1) return false;
    await announceSecurityEvent(client, { customerId, type: 'factor.locked', origin, details: { factor } });
    return true;
  });
  if (locked) {
    await deps.risk.recordSignal({ signal: 'factor_locked', accountId: customerId, ip: origin?.ip ?? null, ref: factor,
      message: `${factor} second factor locked after ${FACTOR_LOCK_AT} consecutive wrong codes across challenges` });
  }
}

/** Runs `check` under the guard: reserve, check, record. Throws the guard's refusal before any check. */
export async function guardedFactorCheck(deps: IdentityDeps, customerId: string, factor: GuessableFactor, origin: RequestOrigin | null, check: () => Promise<boolean>): Promise<boolean> {
  await reserveFactorAttempt(deps, customerId, factor);
  const ok = await check();
  await recordFactorOutcome(deps, customerId, factor, ok, origin);
  return ok;
}

/** The factors this customer cannot use until recovery. */
export async function lockedFactors(db: Queryable, customerId: string): Promise<GuessableFactor[]> {
  const result = await db.query<{ factor: GuessableFactor }>('select factor from factor_failures where customer_id = $1 and locked_at is not null order by factor', [customerId]);
  return result.rows.map((row) => row.factor);
}

/** Refuses (before anything is sent or checked) a factor that is locked for this customer. */
export async function refuseLockedFactor(db: Queryable, customerId: string, factor: GuessableFactor): Promise<void> {
  const result = await db.query('select 1 from factor_failures where customer_id = $1 and factor = $2 and locked_at is not null', [customerId, factor]);
  if (result.rowCount === 1) throw new KobanError('factor_locked', { extensions: { factor } });
}

/**
 * How long a slowed-down factor keeps the account's risk elevated after its last attempt: long enough to
 * outlast a guessing run, short enough that a customer who mistyped three times is not stuck until recovery.
 */
export const FACTOR_PRESSURE_WINDOW_MS = 60 * 60_000;

/** Whether some factor of this customer is locked, or slowed down within the last hour: the step-up policy treats it as elevated risk. */
export async function underGuessingPressure(db: Queryable, customerId: string): Promise<boolean> {
  const result = await db.query(
    `select 1 from factor_failures where customer_id = $1
       and (locked_at is not null or (failures >= $2 and last_attempt_at > now() - make_interval(secs => $3::double precision / 1000))) limit 1`,
    [customerId, FACTOR_SLOW_FROM, FACTOR_PRESSURE_WINDOW_MS]);
  return result.rowCount === 1;
}

/** Only a completed recovery lifts the locks (in its transaction). */
export async function liftFactorLocks(db: Queryable, customerId: string): Promise<void> {
  const lifted = await db.query('delete from factor_failures where customer_id = $1 returning factor, locked_at', [customerId]);
  if (lifted.rows.some((row: { locked_at: Date | null }) => row.locked_at !== null)) {
    await recordSecurityEvent(db, { type: 'factor.unlocked', outcome: 'success', actor: 'customer', customerId, reasons: ['recovery'] });
  }
}
