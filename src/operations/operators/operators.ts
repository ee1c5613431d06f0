/**
 * Operators and their sessions. Operators sign in with a passkey (passkeys.ts, issue 14). E-mail, password
 * and a TOTP code together (one request: no half-signed-in state to attack) only open a short enrolment
 * session for an operator without a passkey inside the enrolment window, or — with another operator's
 * approval — a break-glass session (break-glass.ts); five failures lock the operator for 15 minutes. Sessions are
 * reference tokens (256 bits, only their SHA-256 stored) with a 15-minute idle timeout and an absolute
 * lifetime, checked and extended by one UPDATE per request. Every sign-in, failure and change is audited.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { assert } from '../../platform/assert.ts';
import { sqlState, withTransaction, type Database, type Queryable } from '../../platform/db/database.ts';
import { KobanError } from '../../platform/errors.ts';
import { uuidv7 } from '../../platform/ids.ts';
import { recordAudit, type AuditActor } from '../audit/audit-log.ts';
import { systemClock, type Clock } from '../../platform/clock.ts';
import { checkPassword, checkTotp, hashPassword, newPassword, newTotpSecret, openSecret, PASSWORD_LENGTH, sealSecret, sha256, totpUri } from './credentials.ts';
import type { OperatorRole } from './permissions.ts';
import { networkOf } from '../../identity/login/throttle.ts';

export const SIGN_IN_FAILURES_MAX = 5;
export const LOCKOUT_MS = 15 * 60_000;
const DEFAULT_ENROLMENT_WINDOW_MS = 72 * 3_600_000;
const EMAIL = /^[^\s@]{1,64}@[^\s@]{1,189}$/;

export interface Operator {
  readonly id: string;
  readonly email: string;
  readonly displayName: string;
  readonly role: OperatorRole;
  readonly status: 'active' | 'disabled';
  readonly totpConfirmed: boolean;
  readonly createdAt: Date;
}

/** Who is acting on this request, after the session was checked. */
export interface OperatorPrincipal {
  readonly operatorId: string;
  readonly email: string;
  readonly role: OperatorRole;
  readonly sessionTokenHash: Buffer;
  readonly csrfHash: Buffer;
  /** `full` (a passkey), `enrolment` (password + TOTP, may only enrol a passkey), `break_glass` (four eyes). */
  readonly sessionKind: SessionKind;
}

export type SessionKind = 'full' | 'enrolment' | 'break_glass';
/** An enrolment session lasts this long: enough to register a passkey, not to work. */
export const ENROLMENT_SESSION_MS = 10 * 60_000;

export interface NewOperatorSecrets {
  readonly operator: Operator;
  /** Shown once: the operator signs in with it and an authenticator app enrolled with totpSecret. */
  readonly password: string;
  readonly totpSecret: string;
  readonly totpUri: string;
}

export interface SignInResult {
  readonly operator: Operator;
  readonly sessionToken: string;
  readonly csrfToken: string;
  readonly expiresAt: Date;
  readonly sessionKind: SessionKind;
}

export interface RequestContext {
  readonly ip: string | null;
  readonly userAgent: string | null;
  readonly requestId: string | null;
}

export interface Operators {
  create(input: { email: string; displayName: string; role: OperatorRole; password?: string; totpSecret?: string }, actor: AuditActor, context?: RequestContext): Promise<NewOperatorSecrets>;
  signIn(input: { email: string; password: string; totpCode: string }, context: RequestContext): Promise<SignInResult>;
  /**
   * The session must come from the browser that signed in (same user agent) and the same /24 or /64
   * network (issue 14): a cookie replayed elsewhere ends the session and is audited.
   */
  authenticate(sessionToken: string, from: SessionBinding): Promise<OperatorPrincipal | null>;
  csrfMatches(principal: OperatorPrincipal, csrfToken: string): boolean;
  signOut(principal: OperatorPrincipal, context: RequestContext): Promise<void>;
  list(): Promise<Operator[]>;
  setStatus(operatorId: string, status: 'active' | 'disabled', actor: AuditActor, reason: string, context?: RequestContext): Promise<Operator>;
  /**
   * Opens the passkey enrolment window again for these operators, those without a passkey only (audited). The
   * demo data calls it at each start so demo operators can enrol a passkey in a new browser; never in production.
   */
  reopenEnrolment(emails: readonly string[], actor: AuditActor): Promise<number>;
}

export interface OperatorsOptions {
  readonly secret: string;
  readonly idleTimeoutMs: number;
  readonly absoluteTimeoutMs: number;
  /** How long after creation an operator may still sign in with password + TOTP to enrol a first passkey. */
  readonly enrolmentWindowMs?: number;
  /** The one clock (src/platform/clock.ts): a session's expiry and idle window, and the TOTP step, are judged by it. */
  readonly clock?: Clock;
}

export interface OperatorRow {
  id: string; email: string; display_name: string; role: OperatorRole; status: 'active' | 'disabled';
  totp_confirmed_at: Date | null; created_at: Date;
}
export const OPERATOR_COLUMNS = 'id, email, display_name, role, status, totp_confirmed_at, created_at';

export function createOperators(db: Database, options: OperatorsOptions): Operators {
  return {
    create: (input, actor, context) => createOperator(db, options, input, actor, context),
    signIn: (input, context) => signIn(db, options, input, context),
    authenticate: (token, from) => authenticate(db, options, token, from),
    csrfMatches: (principal, csrfToken) => csrfToken.length <= 128 && timingSafeEqual(sha256(csrfToken), principal.csrfHash),
    async signOut(principal, context) {
      await withTransaction(db, async (client) => {
        await client.query('update operator_sessions set revoked_at = now() where token_hash = $1 and revoked_at is null', [principal.sessionTokenHash]);
        await recordAudit(client, { actor: { kind: 'operator', id: principal.operatorId }, action: 'operator.sign_out', outcome: 'success', ip: context.ip, requestId: context.requestId });
      });
    },
    async list() {
      const result = await db.pool.query<OperatorRow>(`select ${OPERATOR_COLUMNS} from operators order by created_at limit 1000`);
      return result.rows.map(toOperator);
    },
    setStatus: (operatorId, status, actor, reason, context) => setStatus(db, operatorId, status, actor, reason, context),
    async reopenEnrolment(emails, actor) {
      const until = new Date((options.clock ?? systemClock)().getTime() + (options.enrolmentWindowMs ?? DEFAULT_ENROLMENT_WINDOW_MS));
      return withTransaction(db, async (client) => {
        const opened = await client.query<{ id: string }>(
          `update operators o set passkey_enrolment_until = $2 where email = any($1::text[]) and not exists (select 1 from operator_passkeys p where p.operator_id = o.id) returning id`, [emails, until]);
        for (const row of opened.rows) {
          await recordAudit(client, { actor, action: 'operator.enrolment_window_opened', target: { kind: 'operator', id: row.id }, outcome: 'success', details: { until: until.toISOString() } });
        }
        return opened.rowCount ?? 0;
      });
    },
  };
}

async function createOperator(db: Database, options: OperatorsOptions, input: Parameters<Operators['create']>[0], actor: AuditActor, context?: RequestContext): Promise<NewOperatorSecrets> {
  const email = input.email.trim().toLowerCase();
  if (!EMAIL.test(email)) throw new KobanError('invalid_email', { errors: [{ pointer: '/body/email', message: 'is not an e-mail address' }] });
  const password = input.password ?? newPassword();
  if (password.length < PASSWORD_LENGTH.min || password.length > PASSWORD_LENGTH.max) {
    throw new KobanError('validation_failed', { detail: `an operator password has ${PASSWORD_LENGTH.min} to ${PASSWORD_LENGTH.max} characters` });
  }
  const totpSecret = input.totpSecret ?? newTotpSecret();
  const passwordHash = await hashPassword(password);
  const id = uuidv7();
  try {
    const operator = await withTransaction(db, async (client) => {
      const inserted = await client.query<OperatorRow>(
        `insert into operators (id, email, display_name, role, password_hash, totp_secret_sealed, created_by, passkey_enrolment_until) values ($1, $2, $3, $4, $5, $6, $7, $8)
         returning ${OPERATOR_COLUMNS}`, [id, email, input.displayName, input.role, passwordHash, sealSecret(options.secret, totpSecret), `${actor.kind}:${actor.id}`,
          new Date((options.clock ?? systemClock)().getTime() + (options.enrolmentWindowMs ?? DEFAULT_ENROLMENT_WINDOW_MS))]);
      await recordAudit(client, { actor, action: 'operator.created', target: { kind: 'operator', id }, outcome: 'success',
        details: { email, role: input.role }, ip: context?.ip ?? null, requestId: context?.requestId ?? null });
      const row = inserted.rows[0];
      assert(row !== undefined, 'operator inserted');
      return toOperator(row);
    });
    return { operator, password, totpSecret, totpUri: totpUri(email, totpSecret) };
  } catch (error) {
    if (sqlState(error) === '23505') throw new KobanError('operator_exists', { detail: `an operator with e-mail ${email} exists` });
    throw error;
  }
}

interface CredentialRow extends OperatorRow {
  password_hash: string; totp_secret_sealed: string; totp_last_step: bigint; locked: boolean; passkeys: number; passkey_enrolment_until: Date | null;
}

/** An operator whose password and current TOTP code were right (the code's step not yet claimed). */
export interface CheckedCredentials { readonly row: CredentialRow; readonly step: number; readonly now: Date }

/**
 * Password and TOTP, each failure counted towards the lockout and audited with the same answer. The caller
 * claims the step (`claimTotpStep`) in the transaction that uses it.
 */
export async function checkPasswordAndTotp(db: Database, options: OperatorsOptions, input: { email: string; password: string; totpCode: string }, context: RequestContext): Promise<CheckedCredentials> {
  const email = input.email.trim().toLowerCase().slice(0, 254);
  const found = await db.pool.query<CredentialRow>(
    `select ${OPERATOR_COLUMNS}, password_hash, totp_secret_sealed, totp_last_step, coalesce(locked_until > now(), false) as locked, passkey_enrolment_until,
       (select count(*)::int from operator_passkeys p where p.operator_id = operators.id) as passkeys
     from operators where email = $1`, [email]);
  const row = found.rows[0];
  const passwordOk = await checkPassword(row?.password_hash ?? null, input.password);
  const refuse = async (why: string): Promise<never> => {
    await recordFailure(db, row?.id ?? null, email, why, context);
    throw new KobanError('operator_sign_in_failed');
  };
  if (row === undefined) return refuse('unknown_email');
  if (row.status !== 'active') return refuse('disabled');
  if (row.locked) return refuse('locked');
  if (!passwordOk) return refuse('bad_password');
  const now = (options.clock ?? systemClock)();
  const step = await checkTotp(openSecret(options.secret, row.totp_secret_sealed), input.totpCode, Number(row.totp_last_step), now.getTime());
  if (step === null) return refuse('bad_totp');
  return { row, step, now };
}

/** Check-and-set in one statement: two requests with the same code cannot both pass (OTP-02). */
export async function claimTotpStep(client: Queryable, checked: CheckedCredentials, context: RequestContext): Promise<boolean> {
  const claimed = await client.query('update operators set totp_last_step = $2, failed_sign_ins = 0, locked_until = null, totp_confirmed_at = coalesce(totp_confirmed_at, now()) where id = $1 and totp_last_step < $2',
    [checked.row.id, checked.step]);
  if (claimed.rowCount === 1) return true;
  await recordAudit(client, { actor: { kind: 'operator', id: checked.row.id }, action: 'operator.sign_in', outcome: 'failure', details: { why: 'totp_replayed' }, ip: context.ip, requestId: context.requestId });
  return false;
}

/**
 * Password + TOTP: only an enrolment session (ENROLMENT_SESSION_MS, nothing but registering a passkey) for an
 * operator without a passkey while the enrolment window is open. An operator with a passkey, or past the
 * window, is refused and the refusal audited: a relayed password and code are worth nothing on their own.
 */
async function signIn(db: Database, options: OperatorsOptions, input: { email: string; password: string; totpCode: string }, context: RequestContext): Promise<SignInResult> {
  const checked = await checkPasswordAndTotp(db, options, input, context);
  const { row, now } = checked;
  const refuse = async (why: string, error: KobanError): Promise<never> => {
    await recordAudit(db.pool, { actor: { kind: 'operator', id: row.id }, action: 'operator.sign_in', outcome: 'denied', details: { why }, ip: context.ip, requestId: context.requestId });
    throw error;
  };
  if (row.passkeys > 0) return refuse('passkey_required', new KobanError('operator_passkey_required'));
  if (row.passkey_enrolment_until === null || row.passkey_enrolment_until <= now) return refuse('enrolment_window_closed', new KobanError('operator_passkey_enrolment_closed'));
  return withTransaction(db, async (client) => {
    if (!(await claimTotpStep(client, checked, context))) throw new KobanError('operator_sign_in_failed');
    const expiresAt = new Date(Math.min(now.getTime() + ENROLMENT_SESSION_MS, row.passkey_enrolment_until?.getTime() ?? now.getTime()));
    const session = await startSession(client, row.id, 'enrolment', now, expiresAt, context);
    await recordAudit(client, { actor: { kind: 'operator', id: row.id }, action: 'operator.sign_in', outcome: 'success', details: { role: row.role, session: 'enrolment' }, ip: context.ip, requestId: context.requestId });
    return { operator: toOperator({ ...row, totp_confirmed_at: row.totp_confirmed_at ?? new Date() }), ...session, expiresAt, sessionKind: 'enrolment' };
  });
}

/** A new session bound to this request's browser and network (holdsBinding checks both on every use). */
export async function startSession(client: Queryable, operatorId: string, kind: SessionKind, now: Date, expiresAt: Date, context: RequestContext): Promise<{ sessionToken: string; csrfToken: string }> {
  const sessionToken = randomBytes(32).toString('base64url');
  const csrfToken = randomBytes(32).toString('base64url');
  await client.query('insert into operator_sessions (token_hash, operator_id, csrf_hash, expires_at, ip, user_agent, last_seen_at, kind) values ($1, $2, $3, $4, $5, $6, $7, $8)',
    [sha256(sessionToken), operatorId, sha256(csrfToken), expiresAt, context.ip, context.userAgent?.slice(0, USER_AGENT_LENGTH_MAX) ?? null, now, kind]);
  return { sessionToken, csrfToken };
}

/** A failed sign-in counts towards the lockout and is audited, in one transaction. */
async function recordFailure(db: Database, operatorId: string | null, email: string, why: string, context: RequestContext): Promise<void> {
  await withTransaction(db, async (client) => {
    if (operatorId !== null) {
      await client.query(`update operators set failed_sign_ins = failed_sign_ins + 1,
        locked_until = case when failed_sign_ins + 1 >= $2 then now() + $3 * interval '1 millisecond' else locked_until end where id = $1`,
        [operatorId, SIGN_IN_FAILURES_MAX, LOCKOUT_MS]);
    }
    await recordAudit(client, { actor: { kind: 'operator', id: operatorId ?? `unknown:${email}` }, action: 'operator.sign_in', outcome: 'failure',
      details: { why }, ip: context.ip, requestId: context.requestId });
  });
}

export interface SessionBinding {
  readonly ip: string | null;
  readonly userAgent: string | null;
  readonly requestId?: string | null;
}

const USER_AGENT_LENGTH_MAX = 512;

/**
 * Ends a session used from another browser or network than the one that signed in. Returns false (and
 * the caller answers 401) when the binding does not hold; the revocation and the audit event commit together.
 */
async function holdsBinding(db: Database, tokenHash: Buffer, from: SessionBinding): Promise<boolean> {
  const stored = (await db.pool.query<{ operator_id: string; ip: string | null; user_agent: string | null }>(
    'select operator_id, ip, user_agent from operator_sessions where token_hash = $1 and revoked_at is null', [tokenHash])).rows[0];
  if (stored === undefined) return true; // nothing to bind: the main query refuses it anyway
  const agent = from.userAgent?.slice(0, USER_AGENT_LENGTH_MAX) ?? null;
  const sameAgent = stored.user_agent === agent;
  const sameNetwork = stored.ip === null || from.ip === null ? stored.ip === from.ip : networkOf(stored.ip) === networkOf(from.ip);
  if (sameAgent && sameNetwork) return true;
  await withTransaction(db, async (client) => {
    const revoked = await client.query('update operator_sessions set revoked_at = now() where token_hash = $1 and revoked_at is null', [tokenHash]);
    if (revoked.rowCount !== 1) return;
    await recordAudit(client, { actor: { kind: 'operator', id: stored.operator_id }, action: 'operator.session_binding_broken', outcome: 'denied',
      details: { why: sameAgent ? 'network' : 'user_agent', signedInFrom: stored.ip, usedFrom: from.ip }, ip: from.ip, requestId: from.requestId ?? null });
  });
  return false;
}

async function authenticate(db: Database, options: OperatorsOptions, token: string, from: SessionBinding): Promise<OperatorPrincipal | null> {
  if (!/^[A-Za-z0-9_-]{43}$/.test(token)) return null;
  const tokenHash = sha256(token);
  if (!(await holdsBinding(db, tokenHash, from))) return null;
  // Checks revocation, absolute expiry, idle timeout and operator status, and slides the idle window,
  // all by the clock that set the expiry at sign-in ($3), never the database's now().
  const result = await db.pool.query<{ id: string; email: string; role: OperatorRole; csrf_hash: Buffer; kind: SessionKind }>(
    `update operator_sessions s set last_seen_at = $3 from operators o
     where s.token_hash = $1 and o.id = s.operator_id and s.revoked_at is null and s.expires_at > $3
       and s.last_seen_at > $3::timestamptz - $2 * interval '1 millisecond' and o.status = 'active'
     returning o.id, o.email, o.role, s.csrf_hash, s.kind`, [tokenHash, options.idleTimeoutMs, (options.clock ?? systemClock)()]);
  const row = result.rows[0];
  return row === undefined ? null : { operatorId: row.id, email: row.email, role: row.role, sessionTokenHash: tokenHash, csrfHash: row.csrf_hash, sessionKind: row.kind };
}

async function setStatus(db: Database, operatorId: string, status: 'active' | 'disabled', actor: AuditActor, reason: string, context?: RequestContext): Promise<Operator> {
  return withTransaction(db, async (client) => {
    const updated = await client.query<OperatorRow>(`update operators set status = $2 where id = $1 returning ${OPERATOR_COLUMNS}`, [operatorId, status]);
    const row = updated.rows[0];
    if (row === undefined) throw new KobanError('operator_not_found');
    // Disabling an operator ends every session they have (ASVS 7.4.2).
    if (status === 'disabled') await client.query('update operator_sessions set revoked_at = now() where operator_id = $1 and revoked_at is null', [operatorId]);
    await recordAudit(client, { actor, action: status === 'disabled' ? 'operator.disabled' : 'operator.enabled', target: { kind: 'operator', id: operatorId },
      reason, outcome: 'success', ip: context?.ip ?? null, requestId: context?.requestId ?? null });
    return toOperator(row);
  });
}

export function toOperator(row: OperatorRow): Operator {
  return { id: row.id, email: row.email, displayName: row.display_name, role: row.role, status: row.status, totpConfirmed: row.totp_confirmed_at !== null, createdAt: row.created_at };
}
