/**
 * Step-up (STEP-01..06): a fresh second factor bound to one session, one action and the hash of its
 * exact parameters yields a single-use grant valid 5 minutes. Sensitive routes call `requireStepUp`,
 * which consumes the grant in one UPDATE only if every binding matches. The session token rotates at
 * every step-up (SES-01).
 */
import type { AuthenticationResponseJSON } from '@simplewebauthn/server';
import { withTransaction, type Queryable } from '../../platform/db/database.ts';
import { KobanError } from '../../platform/errors.ts';
import { uuidv7 } from '../../platform/ids.ts';
import { recordSecurityEvent, type RequestOrigin } from '../../platform/audit/security-log.ts';
import { enqueueMessage } from '../../notifications/outbox.ts';
import { consumeCode, issueCode } from '../codes/one-time-codes.ts';
import { verifiedPhone } from '../contacts/contacts.ts';
import { customerLanguage } from '../language.ts';
import type { IdentityDeps } from '../deps.ts';
import { assertionOptions, verifyAssertion } from '../factors/passkeys.ts';
import { acceptTotp } from '../factors/totp.ts';
import { requireSmsBudget } from '../codes/sms-budget.ts';
import { guardedFactorCheck, isGuessableFactor, refuseLockedFactor } from '../factors/factor-guard.ts';
import { availableMethods } from '../login/login.ts';
import { randomToken, sha256 } from '../secrets.ts';
import { rotateSession, type Session } from '../sessions/sessions.ts';
import { isStepUpAction, stepUpHash, type StepUpAction, type StepUpParams } from './actions.ts';
import { allowedStepUpFactors, requireAllowedStepUpFactor, stepUpContext } from './policy.ts';
import { grantFromSetupWindow } from './setup-window.ts';

export const STEP_UP_MAX_AGE_MS = 5 * 60_000;
export const STEP_UP_ATTEMPTS_MAX = 5;

export type StepUpMethod = 'sms' | 'totp' | 'passkey';
export type StepUpProof =
  | { method: 'sms' | 'totp'; code: string }
  | { method: 'passkey'; webauthnChallengeId: string; credential: AuthenticationResponseJSON };

export type StartedStepUp = { stepUpId: string; methods: StepUpMethod[] } | { stepUpId: string; methods: []; grant: string; expiresInMs: number };

/**
 * Starts a step-up. A client that asks for it (`useSetupWindow`, the wallet) gets the grant at once when
 * the sign-up's setup window covers this action (setup-window.ts); other clients always get the ceremony.
 */
export async function startStepUp(deps: IdentityDeps, session: Session, action: StepUpAction, params: StepUpParams, options: { useSetupWindow?: boolean; origin?: RequestOrigin | null } = {}): Promise<StartedStepUp> {
  if (options.useSetupWindow === true) {
    const covered = await grantFromSetupWindow(deps, session, action, params, options.origin ?? null, STEP_UP_MAX_AGE_MS);
    if (covered !== null) return { stepUpId: covered.stepUpId, methods: [], grant: covered.grant, expiresInMs: STEP_UP_MAX_AGE_MS };
  }
  const stepUpId = uuidv7();
  await deps.db.pool.query(
    `insert into step_up_requests (id, session_id, customer_id, action, params_hash, expires_at) values ($1, $2, $3, $4, $5, now() + make_interval(secs => $6::double precision / 1000))`,
    [stepUpId, session.id, session.customerId, action, stepUpHash(action, params), STEP_UP_MAX_AGE_MS],
  );
  // Offered: what the customer has, as far as the policy table allows for this action (policy.ts).
  const allowed: readonly string[] = allowedStepUpFactors(action, await stepUpContext(deps.db.pool, session.customerId));
  const methods = (await availableMethods(deps.db.pool, session.customerId)).filter((m): m is StepUpMethod => m !== 'recovery_code' && allowed.includes(m));
  if (methods.length === 0) throw new KobanError('step_up_method_not_allowed', { detail: 'none of your second factors is accepted for this action now', extensions: { action, allowed } });
  return { stepUpId, methods };
}

interface StepUpRequest { id: string; action: string; params_hash: Buffer }

async function liveRequest(db: Queryable, session: Session, stepUpId: string, countAttempt: boolean): Promise<StepUpRequest> {
  const result = await db.query<StepUpRequest>(
    `update step_up_requests set attempts = attempts + $4
     where id = $1 and session_id = $2 and customer_id = $3 and verified_at is null and expires_at > now() and attempts < $5
     returning id, action, params_hash`,
    [stepUpId, session.id, session.customerId, countAttempt ? 1 : 0, STEP_UP_ATTEMPTS_MAX],
  );
  const request = result.rows[0];
  if (request === undefined) throw new KobanError('step_up_failed', { detail: 'the step-up has expired or does not belong to this session' });
  return request;
}

function actionOf(request: StepUpRequest): StepUpAction {
  if (!isStepUpAction(request.action)) throw new KobanError('step_up_failed');
  return request.action;
}

export async function sendStepUpCode(deps: IdentityDeps, session: Session, stepUpId: string, origin: RequestOrigin | null = null): Promise<void> {
  // The refusals that need no SMS first; then the budget, which counts on its own connection (so before the transaction).
  const asked = await liveRequest(deps.db.pool, session, stepUpId, false);
  await requireAllowedStepUpFactor(deps.db.pool, session.customerId, actionOf(asked), 'sms');
  const onFile = await verifiedPhone(deps.db.pool, session.customerId);
  if (onFile === null) throw new KobanError('factor_not_enrolled');
  await refuseLockedFactor(deps.db.pool, session.customerId, 'sms');
  await requireSmsBudget(deps, onFile, origin);
  await withTransaction(deps.db, async (client) => {
    const request = await liveRequest(client, session, stepUpId, false);
    const phone = await verifiedPhone(client, session.customerId);
    // The phone changed between the budget and now: the budget was spent for another number, so send nothing.
    if (phone !== onFile) throw new KobanError('factor_not_enrolled');
    const issued = await issueCode(client, deps.secrets, 'step_up_sms', request.id, phone);
    if ('refused' in issued) throw new KobanError('resend_limit_reached');
    const language = await customerLanguage(client, session.customerId);
    await enqueueMessage(client, { channel: 'sms', recipient: phone, kind: 'step_up_code', subject: language === 'ja' ? 'Koban 確認コード' : 'Koban confirmation code',
      body: language === 'ja'
        ? `Koban 確認コード ${issued.code} （${isStepUpAction(request.action) ? ACTION_JA[request.action] : request.action}の確認）。このコードは誰にも教えないでください。`
        : `Koban code ${issued.code} to confirm: ${request.action.replaceAll('_', ' ')}. Never tell it to anyone.` });
  });
}

/** What a step-up SMS says it confirms, in Japanese. */
const ACTION_JA: Readonly<Record<StepUpAction, string>> = {
  top_up: 'チャージ', add_funding_source: '支払い元の追加', link_social: 'ソーシャルログインの連携', unlink_social: 'ソーシャルログインの解除',
  change_email: 'メールアドレスの変更', change_phone: '電話番号の変更', change_password: 'パスワードの変更', change_factors: '認証設定の変更', raise_limits: '利用限度額の引き上げ',
  send: '送金', withdraw: '出金', confirm_payment: 'お支払いの確認', pay: 'お支払い',
};

export async function stepUpPasskeyOptions(deps: IdentityDeps, session: Session, stepUpId: string) {
  const request = await liveRequest(deps.db.pool, session, stepUpId, false);
  return assertionOptions(deps, { ceremony: 'step_up', customerId: session.customerId, sessionId: session.id, subjectId: request.id });
}

async function proofHolds(deps: IdentityDeps, session: Session, request: StepUpRequest, proof: StepUpProof): Promise<boolean> {
  switch (proof.method) {
    case 'sms': return consumeCode(deps.db.pool, deps.secrets, 'step_up_sms', request.id, proof.code);
    case 'totp': return acceptTotp(deps.db.pool, deps.secrets, session.customerId, proof.code);
    case 'passkey':
      return verifyAssertion(deps.db.pool, deps, proof.webauthnChallengeId, { ceremony: 'step_up', customerId: session.customerId, sessionId: session.id, subjectId: request.id }, proof.credential)
        .then(() => true, (error: unknown) => { if (error instanceof KobanError && error.code === 'passkey_failed') return false; throw error; });
  }
}

/** Verifies the fresh factor; returns the single-use grant and the session's new token. */
export async function completeStepUp(deps: IdentityDeps, session: Session, stepUpId: string, proof: StepUpProof, origin: RequestOrigin): Promise<{ grant: string; sessionToken: string; expiresInMs: number }> {
  const request = await liveRequest(deps.db.pool, session, stepUpId, true);
  // Refused before any factor is checked: a downgraded method spends no code and proves nothing.
  await requireAllowedStepUpFactor(deps.db.pool, session.customerId, actionOf(request), proof.method).catch(async (error: unknown) => {
    await recordSecurityEvent(deps.db.pool, { type: 'step_up', outcome: 'refused', actor: 'customer', customerId: session.customerId, sessionId: session.id, origin, reasons: [proof.method, request.action, 'policy'] });
    throw error;
  });
  const check = () => proofHolds(deps, session, request, proof);
  const ok = isGuessableFactor(proof.method) ? await guardedFactorCheck(deps, session.customerId, proof.method, origin, check) : await check();
  if (!ok) {
    await recordSecurityEvent(deps.db.pool, { type: 'step_up', outcome: 'failure', actor: 'customer', customerId: session.customerId, sessionId: session.id, origin, reasons: [proof.method, request.action] });
    throw new KobanError('step_up_failed');
  }
  const grant = randomToken();
  const sessionToken = await withTransaction(deps.db, async (client) => {
    const verified = await client.query('update step_up_requests set verified_at = now() where id = $1 and verified_at is null', [request.id]);
    if (verified.rowCount !== 1) throw new KobanError('step_up_failed');
    await client.query(
      `insert into step_up_grants (id, token_hash, request_id, session_id, customer_id, action, params_hash, method, expires_at)
       values ($1, $2, $3, $4, $5, $6, $7, $8, now() + make_interval(secs => $9::double precision / 1000))`,
      [uuidv7(), sha256(grant), request.id, session.id, session.customerId, request.action, request.params_hash, proof.method, STEP_UP_MAX_AGE_MS],
    );
    await recordSecurityEvent(client, { type: 'step_up', outcome: 'success', actor: 'customer', customerId: session.customerId, sessionId: session.id, origin, reasons: [proof.method, request.action] });
    return rotateSession(client, session.id, proof.method);
  });
  return { grant, sessionToken, expiresInMs: STEP_UP_MAX_AGE_MS };
}

/**
 * For every route that performs a sensitive action: consumes a grant for exactly this session,
 * action and parameters, issued less than 5 minutes ago, or throws `step_up_required`. Pass the
 * transaction that performs the action, so a failed action does not burn the grant.
 */
export async function requireStepUp(db: Queryable, session: Pick<Session, 'id' | 'customerId'>, grant: string | null | undefined, action: StepUpAction, params: StepUpParams): Promise<void> {
  const hash = stepUpHash(action, params);
  if (typeof grant !== 'string' || grant.length === 0 || grant.length > 128) throw new KobanError('step_up_required', { extensions: { action } });
  const result = await db.query(
    `update step_up_grants set consumed_at = now()
     where token_hash = $1 and session_id = $2 and customer_id = $3 and action = $4 and params_hash = $5 and consumed_at is null and expires_at > now()`,
    [sha256(grant), session.id, session.customerId, action, hash],
  );
  if (result.rowCount !== 1) throw new KobanError('step_up_required', { extensions: { action } });
}
