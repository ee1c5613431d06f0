/**
 * Decoy sign-in challenges (issue 13, credential stuffing). On a device the account does not remember, a
 * wrong password or an unknown identifier answers exactly like a right password: `second_factor_required`
 * with a challenge written by the same statement (same id format, same expiry, same attempt limit) and the
 * same fixed methods. Only a second factor the attacker does not hold could tell them apart, so a leaked
 * list confirms nothing. The argon2 verification already runs for every attempt, so the timing matches.
 *
 * A decoy has no customer: its SMS spends the same budgets and resend limit as a real one and sends
 * nothing, its passkey options are discoverable like every challenge's, and every proof on it fails like a
 * wrong code. The wrong password behind it is still recorded as a failure (login.ts), and a decoy writes
 * no `login.second_factor_required` event, so the platform's sign-in health counts only real challenges.
 */
import type { Queryable } from '../../platform/db/database.ts';
import { KobanError } from '../../platform/errors.ts';
import { uuidv7 } from '../../platform/ids.ts';
import type { RequestOrigin } from '../../platform/audit/security-log.ts';
import { issueCode } from '../codes/one-time-codes.ts';
import { requireSmsBudget } from '../codes/sms-budget.ts';
import type { IdentityDeps } from '../deps.ts';
import { sha256 } from '../secrets.ts';

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
}

/** Real challenges and decoys are written by this one statement, so no column or expiry tells them apart. */
export async function storeLoginChallenge(db: Queryable, deviceToken: string, challenge: ChallengeToStore): Promise<string> {
  const id = uuidv7();
  await db.query(
    `insert into login_challenges (id, customer_id, decoy, risk_refused, device_hash, first_factor, expires_at)
     values ($1, $2, $3, $4, $5, $6, now() + make_interval(secs => $7::double precision / 1000))`,
    [id, challenge.customerId, challenge.customerId === null, challenge.riskRefused, sha256(deviceToken), challenge.firstFactor, LOGIN_CHALLENGE_TTL_MS],
  );
  return id;
}

/** The answer to a wrong password or an unknown identifier on a device no account remembers for it. */
export async function openDecoyChallenge(db: Queryable, deviceToken: string): Promise<{ status: 'second_factor_required'; challengeId: string; methods: SecondFactorMethod[] }> {
  const challengeId = await storeLoginChallenge(db, deviceToken, { customerId: null, firstFactor: 'password', riskRefused: false });
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
export async function sendNoCode(deps: IdentityDeps, challengeId: string, origin: RequestOrigin | null): Promise<void> {
  await requireSmsBudget(deps, decoyDestination(challengeId), origin);
  const issued = await issueCode(deps.db.pool, deps.secrets, 'login_sms', challengeId, decoyDestination(challengeId));
  if ('refused' in issued) throw new KobanError('resend_limit_reached');
}
