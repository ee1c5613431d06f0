/**
 * Decoy sign-in challenges (issue 13, credential stuffing). On a device the account does not remember, a
 * wrong password or an unknown identifier answers exactly like a right password: `second_factor_required`
 * with a challenge written by the same statement (same id format, same expiry, same attempt limit) and the
 * same fixed methods. Only a second factor the attacker does not hold could tell them apart, so a leaked
 * list confirms nothing. The argon2 verification already runs for every attempt, so the timing matches.
 *
 * A decoy has no customer: its SMS spends the same budgets and resend limit as a real one and sends
 * nothing, its passkey options are discoverable like every challenge's, and every proof on it fails like a
 * wrong code. The account-wide second-factor guard (factor-guard.ts: slow-down from the 3rd consecutive
 * failure, lock at the 10th) has a shadow for decoys, keyed by an HMAC of the account (or of an identifier
 * Koban never had), so a decoy slows down and locks when a real challenge would, without ever touching
 * the real account's counters. The wrong password behind it is still recorded as a failure (login.ts),
 * and a decoy writes no `login.second_factor_required` event, so sign-in health counts only real ones.
 */
import type { Queryable } from '../../platform/db/database.ts';
import { KobanError } from '../../platform/errors.ts';
import { uuidv7 } from '../../platform/ids.ts';
import type { RequestOrigin } from '../../platform/audit/security-log.ts';
import { issueCode } from '../codes/one-time-codes.ts';
import { requireSmsBudget } from '../codes/sms-budget.ts';
import type { IdentityDeps } from '../deps.ts';
import { FACTOR_LOCK_AT, isGuessableFactor, reserveGuardedAttempt, type GuessableFactor } from '../factors/factor-guard.ts';
import { sha256, type IdentitySecrets } from '../secrets.ts';

export type SecondFactorMethod = 'sms' | 'totp' | 'passkey' | 'recovery_code';

export const LOGIN_CHALLENGE_TTL_MS = 10 * 60_000;

/**
 * What every challenge on a device the account does not remember offers, whatever the account has set up:
 * an account-dependent list would confirm the password. A method the account lacks fails like a wrong code.
 */
export const CHALLENGE_METHODS: readonly SecondFactorMethod[] = ['passkey', 'totp', 'sms', 'recovery_code'];

export interface ChallengeToStore {
  /** null for a decoy. */
  readonly customerId: string | null;
  readonly firstFactor: 'password' | 'social';
  /** The risk engine refused this sign-in: told only after a real second factor (second-factor.ts). */
  readonly riskRefused: boolean;
  /** A decoy's shadow-guard key (`decoySubject`); null for a real challenge. */
  readonly decoySubject: Buffer | null;
}

/** Real challenges and decoys are written by this one statement, so no column or expiry tells them apart. */
export async function storeLoginChallenge(db: Queryable, deviceToken: string, challenge: ChallengeToStore): Promise<string> {
  const id = uuidv7();
  await db.query(
    `insert into login_challenges (id, customer_id, decoy, risk_refused, decoy_subject, device_hash, first_factor, expires_at)
     values ($1, $2, $3, $4, $5, $6, $7, now() + make_interval(secs => $8::double precision / 1000))`,
    [id, challenge.customerId, challenge.customerId === null, challenge.riskRefused, challenge.decoySubject, sha256(deviceToken), challenge.firstFactor, LOGIN_CHALLENGE_TTL_MS],
  );
  return id;
}

/**
 * The shadow guard's key: the account when the identifier names one (its e-mail and phone share it, as they
 * share the real guard), else the identifier as typed, normalized when it can be.
 */
export function decoySubject(secrets: IdentitySecrets, customerId: string | null, identifier: string): Buffer {
  return customerId === null ? secrets.mac('decoy_subjects', 'identifier', identifier) : secrets.mac('decoy_subjects', 'customer', customerId);
}

/** The answer to a wrong password or an unknown identifier on a device no account remembers for it. */
export async function openDecoyChallenge(db: Queryable, deviceToken: string, subject: Buffer): Promise<{ status: 'second_factor_required'; challengeId: string; methods: SecondFactorMethod[] }> {
  const challengeId = await storeLoginChallenge(db, deviceToken, { customerId: null, firstFactor: 'password', riskRefused: false, decoySubject: subject });
  return { status: 'second_factor_required', challengeId, methods: [...CHALLENGE_METHODS] };
}

/** A destination no phone number can be: the decoy's own budget line and code row. */
function decoyDestination(challengeId: string): string {
  return `decoy:${challengeId}`;
}

/**
 * The SMS step of a decoy (or of an account without a verified phone): the SMS budgets and the resend limit
 * are spent as for a real code, so a refusal comes at the same moment with the same answer; nothing is sent.
 */
export async function sendNoCode(deps: IdentityDeps, challengeId: string, subject: Buffer | null, origin: RequestOrigin | null): Promise<void> {
  // A real challenge refuses a locked SMS factor before the budget: so does a decoy whose shadow locked.
  if (subject !== null) await refuseLockedDecoyFactor(deps.db.pool, subject, 'sms');
  await requireSmsBudget(deps, decoyDestination(challengeId), origin);
  const issued = await issueCode(deps.db.pool, deps.secrets, 'login_sms', challengeId, decoyDestination(challengeId));
  if ('refused' in issued) throw new KobanError('resend_limit_reached');
}

/**
 * A proof offered to a decoy: it fails, after the shadow guard reserved the attempt exactly as the real
 * guard would (so the 4th quick wrong code is slowed down and the 10th locks on both).
 */
export async function failDecoyProof(deps: IdentityDeps, subject: Buffer | null, method: SecondFactorMethod): Promise<false> {
  if (subject === null || !isGuessableFactor(method)) return false;
  await reserveGuardedAttempt(deps, { table: 'login_decoy_factor_failures', keyColumn: 'subject' }, subject, method);
  await deps.db.pool.query(
    'update login_decoy_factor_failures set locked_at = now() where subject = $1 and factor = $2 and locked_at is null and failures >= $3',
    [subject, method, FACTOR_LOCK_AT]);
  return false;
}

async function refuseLockedDecoyFactor(db: Queryable, subject: Buffer, factor: GuessableFactor): Promise<void> {
  const result = await db.query('select 1 from login_decoy_factor_failures where subject = $1 and factor = $2 and locked_at is not null', [subject, factor]);
  if (result.rowCount === 1) throw new KobanError('factor_locked', { extensions: { factor } });
}

/** A shadow guard idle this long is forgotten (a locked one after `DECOY_GUARD_LOCKED_KEEP_DAYS`). */
export const DECOY_GUARD_KEEP_DAYS = 30;
export const DECOY_GUARD_LOCKED_KEEP_DAYS = 180;
/** At most this many shadow rows go per purge (the maintenance loop calls again). */
export const DECOY_GUARD_PURGE_MAX = 10_000;

/**
 * Stuffing writes one shadow row per account or identifier it tries; without a purge the table only grows.
 * A real account's counter is kept until a right code (or a recovery), so forgetting a shadow is itself a
 * difference — but one an attacker sees only by coming back to the same candidate after a month of silence
 * (half a year for a locked one), which costs more than it tells.
 */
export async function purgeIdleDecoyGuards(db: Queryable): Promise<number> {
  const purged = await db.query(
    `delete from login_decoy_factor_failures where ctid = any(array(select ctid from login_decoy_factor_failures
       where last_attempt_at < now() - make_interval(days => case when locked_at is null then $1::int else $2::int end) limit $3))`,
    [DECOY_GUARD_KEEP_DAYS, DECOY_GUARD_LOCKED_KEEP_DAYS, DECOY_GUARD_PURGE_MAX]);
  return purged.rowCount ?? 0;
}
