/**
 * The second step of a sign-in from a device the account does not remember. The challenge is bound
 * to the device cookie that started it, limited in attempts and time, and completed once. Success
 * remembers the device, opens a fresh session and tells the customer on every verified contact.
 *
 * A decoy (decoy.ts) and a real challenge answer alike at this step too: the SMS step says `ok` for both
 * (and for an account without a phone), passkey options are discoverable, and every failure is the same
 * `second_factor_failed` ("the password or the code was wrong") counted against the same attempt limit.
 * What the first step held back — a forced reset, a risk refusal — is told only once a real factor held.
 */
import type { AuthenticationResponseJSON } from '@simplewebauthn/server';
import { withTransaction, type Queryable } from '../../platform/db/database.ts';
import { assert } from '../../platform/assert.ts';
import { KobanError } from '../../platform/errors.ts';
import { recordSecurityEvent, type RequestOrigin } from '../../platform/audit/security-log.ts';
import { enqueueMessage } from '../../notifications/outbox.ts';
import { consumeCode, issueCode } from '../codes/one-time-codes.ts';
import { verifiedPhone } from '../contacts/contacts.ts';
import { customerLanguage } from '../language.ts';
import type { IdentityDeps } from '../deps.ts';
import { assertionOptions, verifyAssertion } from '../factors/passkeys.ts';
import { consumeRecoveryCode } from '../factors/recovery-codes.ts';
import { acceptTotp } from '../factors/totp.ts';
import { requireSmsBudget } from '../codes/sms-budget.ts';
import { guardedFactorCheck, isGuessableFactor, refuseLockedFactor } from '../factors/factor-guard.ts';
import { sha256 } from '../secrets.ts';
import { rememberDevice } from '../sessions/devices.ts';
import { createSession, type AuthMethod } from '../sessions/sessions.ts';
import { announceSecurityEvent } from '../security-alerts.ts';
import { endFailureRun, LOGIN_CHALLENGE_ATTEMPTS_MAX, refuseSignIn, type SecondFactorMethod } from './login.ts';
import { failDecoyProof, sendNoCode } from './decoy.ts';
import { refuseWhileResetRequired } from '../recovery/forced-reset.ts';

export type SecondFactorProof =
  | { method: 'sms' | 'totp' | 'recovery_code'; code: string }
  | { method: 'passkey'; webauthnChallengeId: string; credential: AuthenticationResponseJSON };

interface Challenge { id: string; customer_id: string | null; first_factor: 'password' | 'social'; risk_refused: boolean; decoy_subject: Buffer | null }
type RealChallenge = Challenge & { customer_id: string };

const CHALLENGE_COLUMNS = 'id, customer_id, first_factor, risk_refused, decoy_subject';
/** The one answer to a proof that did not hold, on a real challenge or a decoy: no oracle at step two either. */
const SECOND_FACTOR_FAILED = 'the password or the code was wrong; start the sign-in again';

function isReal(challenge: Challenge): challenge is RealChallenge {
  return challenge.customer_id !== null;
}

/** A live challenge for this device, counting the attempt before any check (STEP-06). */
async function takeAttempt(db: Queryable, challengeId: string, deviceToken: string): Promise<Challenge> {
  const result = await db.query<Challenge>(
    `update login_challenges set attempts = attempts + 1
     where id = $1 and device_hash = $2 and completed_at is null and expires_at > now() and attempts < $3
     returning ${CHALLENGE_COLUMNS}`,
    [challengeId, sha256(deviceToken), LOGIN_CHALLENGE_ATTEMPTS_MAX],
  );
  const challenge = result.rows[0];
  if (challenge === undefined) throw new KobanError('login_challenge_invalid');
  return challenge;
}

async function liveChallenge(db: Queryable, challengeId: string, deviceToken: string): Promise<Challenge> {
  const result = await db.query<Challenge>(
    `select ${CHALLENGE_COLUMNS} from login_challenges where id = $1 and device_hash = $2 and completed_at is null and expires_at > now() and attempts < $3`,
    [challengeId, sha256(deviceToken), LOGIN_CHALLENGE_ATTEMPTS_MAX],
  );
  const challenge = result.rows[0];
  if (challenge === undefined) throw new KobanError('login_challenge_invalid');
  return challenge;
}

/** Sends the SMS code for a challenge, only to the verified phone on file; a decoy (or no phone) sends nothing, same answer. */
export async function sendLoginCode(deps: IdentityDeps, challengeId: string, deviceToken: string, origin: RequestOrigin | null = null): Promise<void> {
  // The refusals that need no SMS first; then the budget, which counts on its own connection (so before the transaction).
  const asked = await liveChallenge(deps.db.pool, challengeId, deviceToken);
  const onFile = isReal(asked) ? await verifiedPhone(deps.db.pool, asked.customer_id) : null;
  if (!isReal(asked) || onFile === null) return sendNoCode(deps, asked.id, asked.decoy_subject, origin);
  // A locked SMS factor gets no more codes: they could not be used, and each one costs and disturbs.
  await refuseLockedFactor(deps.db.pool, asked.customer_id, 'sms');
  await requireSmsBudget(deps, onFile, origin);
  await withTransaction(deps.db, async (client) => {
    const challenge = await liveChallenge(client, challengeId, deviceToken);
    assert(isReal(challenge), 'a challenge does not change kind');
    const phone = await verifiedPhone(client, challenge.customer_id);
    // The phone changed between the budget and now: the budget was spent for another number, so send nothing.
    if (phone !== onFile) throw new KobanError('factor_not_enrolled');
    const issued = await issueCode(client, deps.secrets, 'login_sms', challenge.id, phone);
    if ('refused' in issued) throw new KobanError('resend_limit_reached');
    const ja = (await customerLanguage(client, challenge.customer_id)) === 'ja';
    await enqueueMessage(client, { channel: 'sms', recipient: phone, kind: 'login_code', subject: ja ? 'Koban ログインコード' : 'Koban sign-in code',
      body: ja ? `Koban ログインコード ${issued.code} 。Koban の社員を含め、誰にも教えないでください。` : `Your Koban sign-in code is ${issued.code}. Never tell it to anyone, including Koban staff.` });
  });
}

/** Discoverable options for every challenge: a list of the account's credentials would confirm the password. */
export async function loginPasskeyOptions(deps: IdentityDeps, challengeId: string, deviceToken: string) {
  const challenge = await liveChallenge(deps.db.pool, challengeId, deviceToken);
  return assertionOptions(deps, { ceremony: 'second_factor', customerId: challenge.customer_id, subjectId: challenge.id }, { discoverable: true });
}

async function proofHolds(db: Queryable, deps: IdentityDeps, challenge: RealChallenge, proof: SecondFactorProof): Promise<boolean> {
  switch (proof.method) {
    case 'sms': return consumeCode(db, deps.secrets, 'login_sms', challenge.id, proof.code);
    case 'totp': return acceptTotp(db, deps.secrets, challenge.customer_id, proof.code);
    case 'recovery_code': return consumeRecoveryCode(db, deps.secrets, challenge.customer_id, proof.code);
    case 'passkey':
      await verifyAssertion(db, deps, proof.webauthnChallengeId, { ceremony: 'second_factor', customerId: challenge.customer_id, subjectId: challenge.id }, proof.credential);
      return true;
  }
}

/** Whether the proof holds for a real challenge; a decoy holds for nothing (and counts on no account). */
async function checkProof(deps: IdentityDeps, challenge: Challenge, proof: SecondFactorProof, origin: RequestOrigin): Promise<boolean> {
  if (!isReal(challenge)) return failDecoyProof(deps, challenge.decoy_subject, proof.method);
  const check = () => proofHolds(deps.db.pool, deps, challenge, proof).catch((error: unknown) => {
    if (error instanceof KobanError && error.code === 'passkey_failed') return false;
    throw error;
  });
  // The account-wide counter (factor-guard.ts): a fresh challenge gives no fresh guesses.
  return isGuessableFactor(proof.method) ? guardedFactorCheck(deps, challenge.customer_id, proof.method, origin, check) : check();
}

/** A risk refusal held back at the first step, told now that a real factor held (after a forced reset, which comes first). */
async function refuseHeldRisk(deps: IdentityDeps, challenge: RealChallenge, origin: RequestOrigin): Promise<void> {
  await deps.db.pool.query('update login_challenges set completed_at = now() where id = $1 and completed_at is null', [challenge.id]);
  await refuseWhileResetRequired(deps.db.pool, challenge.customer_id);
  await refuseSignIn(deps, challenge.customer_id, origin);
}

export async function completeSecondFactor(deps: IdentityDeps, challengeId: string, proof: SecondFactorProof, deviceToken: string, origin: RequestOrigin): Promise<{ customerId: string; sessionId: string; sessionToken: string }> {
  const challenge = await takeAttempt(deps.db.pool, challengeId, deviceToken);
  if (!(await checkProof(deps, challenge, proof, origin)) || !isReal(challenge)) {
    await recordSecurityEvent(deps.db.pool, { type: 'login.second_factor', outcome: 'failure', actor: 'anonymous', customerId: challenge.customer_id, origin, reasons: isReal(challenge) ? [proof.method] : [proof.method, 'decoy'] });
    throw new KobanError('second_factor_failed', { detail: SECOND_FACTOR_FAILED });
  }
  if (challenge.risk_refused) await refuseHeldRisk(deps, challenge, origin);
  const session = await withTransaction(deps.db, async (client) => {
    const completed = await client.query('update login_challenges set completed_at = now() where id = $1 and completed_at is null', [challenge.id]);
    if (completed.rowCount !== 1) throw new KobanError('login_challenge_invalid');
    // A reset forced between the first and the second factor still stops this sign-in.
    await refuseWhileResetRequired(client, challenge.customer_id);
    const device = await rememberDevice(client, challenge.customer_id, deviceToken, origin.userAgent);
    const methods: AuthMethod[] = [challenge.first_factor, proof.method];
    const created = await createSession(client, { customerId: challenge.customer_id, deviceId: device.id, authMethods: methods, origin });
    if (device.isNew) await announceSecurityEvent(client, { customerId: challenge.customer_id, type: 'login.new_device', origin, sessionId: created.id, details: { method: proof.method } });
    if (proof.method === 'recovery_code') await announceSecurityEvent(client, { customerId: challenge.customer_id, type: 'factor.recovery_code_used', origin, sessionId: created.id });
    await recordSecurityEvent(client, { type: 'login', outcome: 'success', actor: 'customer', customerId: challenge.customer_id, sessionId: created.id, origin, reasons: methods });
    return created;
  });
  await endFailureRun(deps, challenge.customer_id);
  return { customerId: challenge.customer_id, sessionId: session.id, sessionToken: session.token };
}

export type { SecondFactorMethod };
