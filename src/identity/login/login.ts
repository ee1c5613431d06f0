/**
 * Password sign-in (AUTH-05/06/07). Order matters:
 * 1. per-IP and per-network limits refuse a source that has failed too often, before any hashing;
 * 2. one argon2 verification always runs (a dummy one for unknown identifiers); on a device the
 *    account does not remember, a wrong password or an unknown identifier answers like a right one,
 *    with a decoy challenge (decoy.ts), so credential stuffing confirms nothing; on a device it
 *    remembers (the customer's own cookie), a wrong password is `invalid_credentials`;
 * 3. a right password signs in directly only on a device this account remembers, while the account
 *    has few recent failures and no global anomaly is on; otherwise it yields a second-factor
 *    challenge offering the same fixed methods to every account. Password failures alone never lock
 *    an account: they only make the second factor mandatory everywhere, so a stuffing attacker cannot
 *    lock the victim out.
 * 4. after a right first factor (password or social): a customer whose credentials were force-reset
 *    is told to recover; then the risk engine is asked. `deny` and `review` are refused exactly like
 *    a throttled source (the engine keeps the reasons and any case), `challenge` makes the second
 *    factor mandatory even on a remembered device. On a device the account does not remember both
 *    answers would confirm the password, so they wait until a real second factor held
 *    (second-factor.ts). Wrong passwords are counted by the engine too.
 */
import { withTransaction, type Queryable } from '../../platform/db/database.ts';
import { KobanError } from '../../platform/errors.ts';
import { recordSecurityEvent, type RequestOrigin } from '../../platform/audit/security-log.ts';
import { customerByContact } from '../contacts/contacts.ts';
import { normalizeIdentifier } from '../contacts/normalize.ts';
import type { IdentityDeps } from '../deps.ts';
import { hasTotp } from '../factors/totp.ts';
import { lockedFactors } from '../factors/factor-guard.ts';
import { needsRehash } from '../password/hasher.ts';
import { normalizePassword, PASSWORD_LENGTH_MAX } from '../password/policy.ts';
import { refuseWhileResetRequired } from '../recovery/forced-reset.ts';
import { riskRefuses } from '../risk-port.ts';
import { sha256 } from '../secrets.ts';
import { knownDeviceId, touchDevice } from '../sessions/devices.ts';
import { createSession, type AuthMethod } from '../sessions/sessions.ts';
import { announceSecurityEvent } from '../security-alerts.ts';
import { hitCounter, networkOf, peekCounter, resetCounter } from './throttle.ts';
import { CHALLENGE_METHODS, decoySubject, openDecoyChallenge, storeLoginChallenge, type SecondFactorMethod } from './decoy.ts';

/** From this many recent failures on an account, every sign-in to it needs a second factor. */
export const ACCOUNT_FAILURES_SECOND_FACTOR = 5;
export { LOGIN_CHALLENGE_TTL_MS } from './decoy.ts';
export const LOGIN_CHALLENGE_ATTEMPTS_MAX = 5;
/**
 * "Your password was entered on a new device" goes out by SMS and e-mail at most this often per
 * account per day; beyond that only the in-app feed and the audit log get it, so someone holding the
 * password cannot bomb the customer's phone (and Koban's SMS bill) by signing in again and again.
 */
export const PASSWORD_PENDING_ALERTS_PER_DAY = 3;
const DAY_MS = 24 * 60 * 60_000;
/** One answer for every refused source, throttle or risk engine, so neither tells which rule fired. */
const SIGN_IN_REFUSED = 'too many sign-in attempts; try again later';

export type { SecondFactorMethod };

export type LoginOutcome =
  | { status: 'signed_in'; customerId: string; sessionId: string; sessionToken: string }
  | { status: 'second_factor_required'; challengeId: string; methods: SecondFactorMethod[] };

const keys = {
  ip: (ip: string) => `login:ip:${ip}`,
  net: (ip: string) => `login:net:${networkOf(ip)}`,
  account: (customerId: string) => `login:acct:${customerId}`,
  global: 'login:global',
  passwordPendingAlerts: (customerId: string) => `alert:pw_pending:${customerId}`,
};

async function refuseThrottledSource(deps: IdentityDeps, origin: RequestOrigin): Promise<void> {
  if (origin.ip === null) return;
  const windowMs = deps.config.loginWindowMs;
  const [ip, net] = await Promise.all([peekCounter(deps.db.pool, keys.ip(origin.ip), windowMs), peekCounter(deps.db.pool, keys.net(origin.ip), windowMs)]);
  if (ip >= deps.config.loginIpFailuresMax || net >= deps.config.loginNetworkFailuresMax) {
    await recordSecurityEvent(deps.db.pool, { type: 'login.throttled', outcome: 'refused', actor: 'anonymous', origin, reasons: [ip >= deps.config.loginIpFailuresMax ? 'ip' : 'network'] });
    throw new KobanError('rate_limited', { detail: SIGN_IN_REFUSED });
  }
}

/**
 * The risk engine's name for the browser: the SHA-256 of its device cookie, the same before and after
 * the account remembers it, and the same across accounts (so one browser behind many sign-ins shows).
 */
export function riskDeviceId(deviceToken: string): string {
  return sha256(deviceToken).toString('hex');
}

async function recordFailure(deps: IdentityDeps, origin: RequestOrigin, customerId: string | null, deviceToken: string): Promise<void> {
  const windowMs = deps.config.loginWindowMs;
  const db = deps.db.pool;
  await deps.risk.recordFailure({ kind: 'password', accountId: customerId, ip: origin.ip, deviceId: riskDeviceId(deviceToken) });
  await hitCounter(db, keys.global, windowMs);
  if (origin.ip !== null) {
    await hitCounter(db, keys.ip(origin.ip), windowMs);
    await hitCounter(db, keys.net(origin.ip), windowMs);
  }
  if (customerId !== null) await hitCounter(db, keys.account(customerId), windowMs);
  await recordSecurityEvent(db, { type: 'login.password', outcome: 'failure', actor: 'anonymous', customerId, origin, reasons: [customerId === null ? 'unknown_identifier' : 'wrong_password'] });
}

export async function availableMethods(db: Queryable, customerId: string): Promise<SecondFactorMethod[]> {
  const methods: SecondFactorMethod[] = [];
  if ((await db.query('select 1 from passkeys where customer_id = $1 limit 1', [customerId])).rowCount === 1) methods.push('passkey');
  if (await hasTotp(db, customerId)) methods.push('totp');
  methods.push('sms');
  if ((await db.query('select 1 from recovery_codes where customer_id = $1 and used_at is null limit 1', [customerId])).rowCount === 1) methods.push('recovery_code');
  // A factor locked after guessing is not offered until recovery lifts the lock (factor-guard.ts).
  const locked: readonly string[] = await lockedFactors(db, customerId);
  return methods.filter((method) => !locked.includes(method));
}

/** Whether a correct first factor from this remembered device may skip the second factor. */
async function mayTrustDevice(deps: IdentityDeps, customerId: string, deviceId: string): Promise<string | null> {
  const windowMs = deps.config.loginWindowMs;
  const [accountFailures, globalFailures] = await Promise.all([
    peekCounter(deps.db.pool, keys.account(customerId), windowMs), peekCounter(deps.db.pool, keys.global, windowMs),
  ]);
  if (accountFailures >= ACCOUNT_FAILURES_SECOND_FACTOR || globalFailures >= deps.config.loginGlobalFailuresAnomaly) return null;
  return deviceId;
}

/**
 * A complete sign-in (or a recovery) ends the account's run of failed attempts, in identity's throttle and in the
 * risk engine's failure_burst alike: both limit consecutive failures, so an owner's typos between right sign-ins
 * never add up to a second factor on their own phone.
 */
export async function endFailureRun(deps: IdentityDeps, customerId: string): Promise<void> {
  await resetCounter(deps.db.pool, keys.account(customerId));
  await deps.risk.clearAccountFailures(customerId);
}

/** The risk engine refused this sign-in: answered like a throttled source, so neither tells which rule fired. */
export async function refuseSignIn(deps: IdentityDeps, customerId: string, origin: RequestOrigin): Promise<never> {
  await recordSecurityEvent(deps.db.pool, { type: 'login.throttled', outcome: 'refused', actor: 'anonymous', customerId, origin, reasons: ['risk'] });
  throw new KobanError('rate_limited', { detail: SIGN_IN_REFUSED });
}

/**
 * The checks every sign-in runs once its first factor held: a forced reset sends the customer to
 * recovery; the risk engine may refuse (as a throttle would) or ask for a second factor.
 */
export async function signInRisk(deps: IdentityDeps, customerId: string, deviceToken: string, origin: RequestOrigin): Promise<'allow' | 'challenge'> {
  await refuseWhileResetRequired(deps.db.pool, customerId);
  const { decision } = await deps.risk.assess({ kind: 'sign_in', accountId: customerId, deviceId: riskDeviceId(deviceToken), ip: origin.ip });
  if (riskRefuses(decision)) await refuseSignIn(deps, customerId, origin);
  return decision === 'challenge' ? 'challenge' : 'allow';
}

/**
 * The risk engine's word on a right first factor from a device the account does not remember. A refusal
 * is recorded now and told only after a real second factor (second-factor.ts): told here, it would confirm
 * the password to whoever typed it. A forced reset is checked at the second step the same way.
 */
async function heldSignInRisk(deps: IdentityDeps, customerId: string, deviceToken: string, origin: RequestOrigin): Promise<{ refused: boolean; challenged: boolean }> {
  const { decision } = await deps.risk.assess({ kind: 'sign_in', accountId: customerId, deviceId: riskDeviceId(deviceToken), ip: origin.ip });
  if (!riskRefuses(decision)) return { refused: false, challenged: decision === 'challenge' };
  await recordSecurityEvent(deps.db.pool, { type: 'login.throttled', outcome: 'refused', actor: 'anonymous', customerId, origin, reasons: ['risk', 'held_until_second_factor'] });
  return { refused: true, challenged: true };
}

/** After a right first factor (password or social): a session on a trusted device, else a challenge. */
export async function afterFirstFactor(deps: IdentityDeps, customerId: string, firstFactor: 'password' | 'social', deviceToken: string, origin: RequestOrigin): Promise<LoginOutcome> {
  const remembered = await knownDeviceId(deps.db.pool, customerId, deviceToken);
  if (remembered === null) {
    const risk = await heldSignInRisk(deps, customerId, deviceToken, origin);
    return openChallenge(deps, customerId, firstFactor, deviceToken, origin, risk);
  }
  const risk = await signInRisk(deps, customerId, deviceToken, origin);
  const deviceId = risk === 'challenge' ? null : await mayTrustDevice(deps, customerId, remembered);
  if (deviceId !== null) {
    const session = await withTransaction(deps.db, async (client) => {
      await touchDevice(client, deviceId);
      const created = await createSession(client, { customerId, deviceId, authMethods: [firstFactor as AuthMethod], origin });
      await recordSecurityEvent(client, { type: 'login', outcome: 'success', actor: 'customer', customerId, sessionId: created.id, origin, reasons: [firstFactor, 'remembered_device'] });
      return created;
    });
    await endFailureRun(deps, customerId);
    return { status: 'signed_in', customerId, sessionId: session.id, sessionToken: session.token };
  }
  // The customer's own remembered device may learn which factors the account has.
  const outcome = await openChallenge(deps, customerId, firstFactor, deviceToken, origin, { refused: false, challenged: risk === 'challenge' });
  return { ...outcome, methods: await availableMethods(deps.db.pool, customerId) };
}

/** A real challenge: stored, recorded, and the customer told their password was used on a new device. */
async function openChallenge(deps: IdentityDeps, customerId: string, firstFactor: 'password' | 'social', deviceToken: string, origin: RequestOrigin, risk: { refused: boolean; challenged: boolean }): Promise<Extract<LoginOutcome, { status: 'second_factor_required' }>> {
  const challengeId = await withTransaction(deps.db, async (client) => {
    const id = await storeLoginChallenge(client, deviceToken, { customerId, firstFactor, riskRefused: risk.refused, decoySubject: null });
    await recordSecurityEvent(client, { type: 'login.second_factor_required', outcome: 'success', actor: 'anonymous', customerId, origin, reasons: risk.challenged ? [firstFactor, 'risk_challenge'] : [firstFactor] });
    // A right password on an unknown device may be the victim on a new phone, or a stuffing hit: tell them (AUTH-08).
    if (firstFactor === 'password') {
      const sent = await hitCounter(client, keys.passwordPendingAlerts(customerId), DAY_MS);
      await announceSecurityEvent(client, { customerId, type: 'login.password_correct_second_factor_pending', origin, quiet: sent > PASSWORD_PENDING_ALERTS_PER_DAY });
    }
    return id;
  });
  return { status: 'second_factor_required', challengeId, methods: [...CHALLENGE_METHODS] };
}

/**
 * A wrong password (or an unknown identifier), already recorded as a failure: `invalid_credentials` only on
 * a device this account remembers; anywhere else a decoy challenge, indistinguishable from a right password.
 */
async function answerWrongPassword(deps: IdentityDeps, customerId: string | null, identifier: string, deviceToken: string): Promise<LoginOutcome> {
  const remembered = customerId === null ? null : await knownDeviceId(deps.db.pool, customerId, deviceToken);
  if (remembered !== null) throw new KobanError('invalid_credentials');
  return openDecoyChallenge(deps.db.pool, deviceToken, decoySubject(deps.secrets, customerId, identifier));
}

export async function loginWithPassword(deps: IdentityDeps, input: { identifier: string; password: string }, deviceToken: string, origin: RequestOrigin): Promise<LoginOutcome> {
  await refuseThrottledSource(deps, origin);
  const identifier = normalizeIdentifier(input.identifier);
  const customerId = identifier === null ? null : await customerByContact(deps.db.pool, identifier.kind, identifier.value);
  const stored = customerId === null ? null
    : (await deps.db.pool.query<{ password_hash: string }>('select password_hash from password_credentials where customer_id = $1', [customerId])).rows[0]?.password_hash ?? null;
  const password = normalizePassword(input.password);
  // Over-long passwords are verified against the dummy: same time, same answer, no hashing of megabytes.
  const tooLong = [...password].length > PASSWORD_LENGTH_MAX;
  const ok = await deps.hasher.verifyOrDummy(tooLong ? null : stored, password);
  if (!ok || customerId === null || stored === null) {
    await recordFailure(deps, origin, customerId, deviceToken);
    return answerWrongPassword(deps, customerId, identifier === null ? input.identifier.trim() : `${identifier.kind}:${identifier.value}`, deviceToken);
  }
  await rehashIfOutdated(deps, customerId, stored, password);
  return afterFirstFactor(deps, customerId, 'password', deviceToken, origin);
}

/**
 * AUTH-04: a hash made with older argon2 parameters is replaced at the next right password. The
 * UPDATE only replaces the exact hash that was verified, so a password changed meanwhile stays.
 */
async function rehashIfOutdated(deps: IdentityDeps, customerId: string, stored: string, password: string): Promise<void> {
  if (!needsRehash(stored)) return;
  const rehashed = await deps.hasher.hash(password);
  const updated = await deps.db.pool.query('update password_credentials set password_hash = $3 where customer_id = $1 and password_hash = $2', [customerId, stored, rehashed]);
  if (updated.rowCount === 1) await recordSecurityEvent(deps.db.pool, { type: 'password.rehashed', outcome: 'success', actor: 'system', customerId });
}

export const loginKeys = keys;
