/**
 * Merchant staff: a realm of its own (not customers, not operators). Sign-in takes e-mail, password and a
 * TOTP code in one request, as operators' does (no half-signed-in state); the authenticator app is
 * enrolled with the secret shown once when the user is made. Five failures lock the user for 15 minutes.
 * Sessions are reference tokens (256 bits, only their SHA-256 stored), idle timeout and absolute lifetime,
 * checked and slid by one UPDATE per request that also checks the user and the merchant — so a disabled
 * user or a closed merchant is signed out at once. Every sign-in, failure and change is audited.
 *
 * Credentials reuse operations' well-kept primitives (argon2id via @node-rs/argon2, TOTP via otplib);
 * TOTP seeds are sealed with the merchants' secret box.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { generateURI } from 'otplib';
import { recordAudit, type AuditActor } from '../operations/audit/audit-log.ts';
import { checkPassword, checkTotp, hashPassword, newPassword, newTotpSecret, PASSWORD_LENGTH, sha256 } from '../operations/operators/credentials.ts';
import { hitCounter, peekCounter } from '../identity/login/throttle.ts';
import { assert } from '../platform/assert.ts';
import { sqlState, withTransaction, type Database, type Queryable } from '../platform/db/database.ts';
import { KobanError } from '../platform/errors.ts';
import { uuidv7 } from '../platform/ids.ts';
import type { SecretBox } from './secret-box.ts';
import type { MerchantRole } from './staff-roles.ts';

export const STAFF_SIGN_IN_FAILURES_MAX = 5;
/** Failed sign-ins one address may make in the window before it is refused without a check (password spraying across users). */
export const STAFF_SIGN_IN_FAILURES_PER_IP = { max: 20, windowMs: 15 * 60_000 } as const;
export const STAFF_LOCKOUT_MS = 15 * 60_000;
export const STAFF_IDLE_TIMEOUT_MS = 30 * 60_000;
export const STAFF_ABSOLUTE_TIMEOUT_MS = 12 * 60 * 60_000;
const EMAIL = /^[^\s@]{1,64}@[^\s@]{1,189}$/;

export interface StaffUser {
  readonly id: string; readonly merchantId: string; readonly email: string; readonly displayName: string;
  readonly role: MerchantRole; readonly status: 'active' | 'disabled'; readonly totpConfirmed: boolean; readonly createdAt: Date;
}

/** Who acts on a portal request, after the session was checked. */
export interface StaffPrincipal {
  readonly userId: string; readonly merchantId: string; readonly email: string; readonly role: MerchantRole;
  readonly sessionTokenHash: Buffer; readonly csrfHash: Buffer;
  /** `applicant`: the owner of an application an operator asked more about; it may only read the request and resubmit. */
  readonly sessionKind: StaffSessionKind;
}

export type StaffSessionKind = 'full' | 'applicant';

export interface NewStaffSecrets {
  readonly user: StaffUser;
  /** Shown once. */
  readonly password: string;
  readonly totpSecret: string;
  readonly totpUri: string;
}

export interface StaffRequestContext { readonly ip: string | null; readonly userAgent: string | null; readonly requestId: string | null }

export interface StaffDeps { readonly db: Database; readonly box: SecretBox; readonly now: () => Date }

export interface UserRow {
  id: string; merchant_id: string; email: string; display_name: string; role: MerchantRole; status: 'active' | 'disabled';
  totp_confirmed_at: Date | null; created_at: Date;
}
export const USER_COLUMNS = 'id, merchant_id, email, display_name, role, status, totp_confirmed_at, created_at';
const totpContext = (userId: string): string => `merchant-user-totp:${userId}`;

export const staffActor = (principal: StaffPrincipal): AuditActor => ({ kind: 'merchant_user', id: principal.userId });

export function normaliseStaffEmail(email: string): string {
  const normalised = email.trim().toLowerCase();
  if (!EMAIL.test(normalised)) throw new KobanError('invalid_email', { errors: [{ pointer: '/body/email', message: 'is not an e-mail address' }] });
  return normalised;
}

/** Makes a staff user inside the caller's transaction (an application makes its owner this way). */
export async function insertStaffUser(deps: StaffDeps, client: Queryable, input: { merchantId: string; email: string; displayName: string; role: MerchantRole; password?: string; totpSecret?: string }, actor: AuditActor, context: StaffRequestContext | null): Promise<NewStaffSecrets> {
  const email = normaliseStaffEmail(input.email);
  const password = input.password ?? newPassword();
  if (password.length < PASSWORD_LENGTH.min || password.length > PASSWORD_LENGTH.max) {
    throw new KobanError('validation_failed', { errors: [{ pointer: '/body/password', message: `has ${PASSWORD_LENGTH.min} to ${PASSWORD_LENGTH.max} characters` }] });
  }
  // A given secret only for the demo owner (src/demo), whose credentials are public by design.
  const totpSecret = input.totpSecret ?? newTotpSecret();
  const id = uuidv7(deps.now().getTime());
  try {
    const inserted = await client.query<UserRow>(
      `insert into merchant_users (id, merchant_id, email, display_name, role, password_hash, totp_secret_sealed, created_at) values ($1, $2, $3, $4, $5, $6, $7, $8)
       returning ${USER_COLUMNS}`,
      [id, input.merchantId, email, input.displayName.slice(0, 100), input.role, await hashPassword(password), deps.box.seal(totpSecret, totpContext(id)), deps.now()]);
    const row = inserted.rows[0];
    assert(row !== undefined, 'merchant user inserted');
    await recordAudit(client, { actor, action: 'merchant_user.created', target: { kind: 'merchant_user', id }, outcome: 'success',
      details: { merchantId: input.merchantId, email, role: input.role }, ip: context?.ip ?? null, requestId: context?.requestId ?? null });
    return { user: toUser(row), password, totpSecret, totpUri: generateURI({ issuer: 'Koban Merchant', label: email, secret: totpSecret }) };
  } catch (error) {
    if (sqlState(error) === '23505') throw new KobanError('merchant_user_exists');
    throw error;
  }
}

export async function createStaffUser(deps: StaffDeps, input: { merchantId: string; email: string; displayName: string; role: MerchantRole }, actor: AuditActor, context: StaffRequestContext | null): Promise<NewStaffSecrets> {
  return withTransaction(deps.db, (client) => insertStaffUser(deps, client, input, actor, context));
}

export async function listStaffUsers(db: Database, merchantId: string): Promise<StaffUser[]> {
  const result = await db.pool.query<UserRow>(`select ${USER_COLUMNS} from merchant_users where merchant_id = $1 order by created_at limit 500`, [merchantId]);
  return result.rows.map(toUser);
}

/** Disabling a user ends every session they have, in the same transaction. An owner cannot disable themselves. */
export async function disableStaffUser(deps: StaffDeps, merchantId: string, userId: string, actor: AuditActor, context: StaffRequestContext | null): Promise<StaffUser> {
  if (actor.kind === 'merchant_user' && actor.id === userId) throw new KobanError('forbidden', { detail: 'you cannot disable yourself' });
  return withTransaction(deps.db, async (client) => {
    const updated = await client.query<UserRow>(`update merchant_users set status = 'disabled' where id = $1 and merchant_id = $2 returning ${USER_COLUMNS}`, [userId, merchantId]);
    const row = updated.rows[0];
    if (row === undefined) throw new KobanError('not_found', { detail: 'no such user at this merchant' });
    await client.query('update merchant_user_sessions set revoked_at = $2 where user_id = $1 and revoked_at is null', [userId, deps.now()]);
    await recordAudit(client, { actor, action: 'merchant_user.disabled', target: { kind: 'merchant_user', id: userId }, outcome: 'success',
      details: { merchantId }, ip: context?.ip ?? null, requestId: context?.requestId ?? null });
    return toUser(row);
  });
}

/**
 * An owner changes a staff member's role: effective on that user's next request (the session check reads the
 * role). Not one's own role, and never the merchant's last active owner (someone must be able to manage staff).
 */
export async function changeStaffRole(deps: StaffDeps, merchantId: string, userId: string, role: MerchantRole, actor: AuditActor, context: StaffRequestContext | null): Promise<StaffUser> {
  if (actor.kind === 'merchant_user' && actor.id === userId) throw new KobanError('forbidden', { detail: 'you cannot change your own role' });
  return withTransaction(deps.db, async (client) => {
    // The merchant's users are locked in one order, so two owners demoting each other cannot both succeed.
    const users = await client.query<{ id: string; role: MerchantRole; status: string }>('select id, role, status from merchant_users where merchant_id = $1 order by id for update', [merchantId]);
    const target = users.rows.find((u) => u.id === userId);
    if (target === undefined) throw new KobanError('not_found', { detail: 'no such user at this merchant' });
    const otherOwners = users.rows.filter((u) => u.id !== userId && u.role === 'owner' && u.status === 'active').length;
    if (target.role === 'owner' && role !== 'owner' && otherOwners === 0) throw new KobanError('forbidden', { detail: 'the last owner keeps the owner role' });
    const updated = await client.query<UserRow>(`update merchant_users set role = $3 where id = $1 and merchant_id = $2 returning ${USER_COLUMNS}`, [userId, merchantId, role]);
    const row = updated.rows[0];
    assert(row !== undefined, 'locked user updated');
    await recordAudit(client, { actor, action: 'merchant_user.role_changed', target: { kind: 'merchant_user', id: userId }, outcome: 'success',
      details: { merchantId, from: target.role, to: role }, ip: context?.ip ?? null, requestId: context?.requestId ?? null });
    return toUser(row);
  });
}

interface CredentialRow extends UserRow { password_hash: string; totp_secret_sealed: Buffer; totp_last_step: string; locked: boolean; merchant_status: string; merchant_review_state: string | null }

export interface StaffSignIn { readonly user: StaffUser; readonly sessionToken: string; readonly csrfToken: string; readonly expiresAt: Date; readonly sessionKind: StaffSessionKind }

/** Sign-in works for an active or suspended merchant (a suspended one still sees its sales and refunds); not before approval, not once closed. */
export async function signInStaff(deps: StaffDeps, input: { email: string; password: string; totpCode: string }, context: StaffRequestContext): Promise<StaffSignIn> {
  const email = input.email.trim().toLowerCase().slice(0, 254);
  // The per-user lockout stops guessing one password; this stops one address trying a few passwords on many users.
  const ipKey = context.ip === null ? null : `merchant_sign_in:ip:${context.ip}`;
  if (ipKey !== null && await peekCounter(deps.db.pool, ipKey, STAFF_SIGN_IN_FAILURES_PER_IP.windowMs) >= STAFF_SIGN_IN_FAILURES_PER_IP.max) {
    throw new KobanError('rate_limited', { detail: 'too many failed sign-ins from this address; try again later' });
  }
  const found = await deps.db.pool.query<CredentialRow>(
    `select ${USER_COLUMNS.split(', ').map((c) => `u.${c}`).join(', ')}, u.password_hash, u.totp_secret_sealed, u.totp_last_step::text,
       coalesce(u.locked_until > $2, false) as locked, m.status as merchant_status, m.review_state as merchant_review_state
     from merchant_users u join merchants m on m.id = u.merchant_id where u.email = $1`, [email, deps.now()]);
  const row = found.rows[0];
  const passwordOk = await checkPassword(row?.password_hash ?? null, input.password);
  const refuse = async (why: string): Promise<never> => {
    await recordStaffFailure(deps, row?.id ?? null, email, why, context);
    throw new KobanError('merchant_sign_in_failed');
  };
  if (row === undefined) return refuse('unknown_email');
  if (row.status !== 'active') return refuse('disabled');
  if (row.locked) return refuse('locked');
  if (!passwordOk) return refuse('bad_password');
  const step = await checkTotp(deps.box.open(row.totp_secret_sealed, totpContext(row.id)), input.totpCode, Number(row.totp_last_step), deps.now().getTime());
  if (step === null) return refuse('bad_totp');
  // After the password and the code: only someone holding both learns the merchant's state. The owner of an
  // application an operator asked more about gets an applicant session (read the request, resubmit; nothing else).
  const sessionKind: StaffSessionKind = row.merchant_status === 'applied' && row.merchant_review_state === 'more_info_requested' && row.role === 'owner' ? 'applicant' : 'full';
  if (sessionKind === 'full' && row.merchant_status !== 'active' && row.merchant_status !== 'suspended') {
    await recordStaffFailure(deps, row.id, email, `merchant_${row.merchant_status}`, context);
    throw new KobanError('merchant_not_active', { detail: row.merchant_status === 'applied' ? 'the application is still being reviewed' : 'the merchant is closed' });
  }
  return withTransaction(deps.db, async (client) => {
    // Check-and-set in one statement: the same code cannot open two sessions.
    const claimed = await client.query(`update merchant_users set totp_last_step = $2, failed_sign_ins = 0, locked_until = null, totp_confirmed_at = coalesce(totp_confirmed_at, $3)
      where id = $1 and totp_last_step < $2`, [row.id, step, deps.now()]);
    if (claimed.rowCount !== 1) {
      await recordAudit(client, { actor: { kind: 'merchant_user', id: row.id }, action: 'merchant_user.sign_in', outcome: 'failure', details: { why: 'totp_replayed' }, ip: context.ip, requestId: context.requestId });
      throw new KobanError('merchant_sign_in_failed');
    }
    const now = deps.now();
    const session = await startStaffSession(client, row.id, now, context, sessionKind);
    await recordAudit(client, { actor: { kind: 'merchant_user', id: row.id }, action: 'merchant_user.sign_in', outcome: 'success',
      details: { merchantId: row.merchant_id, role: row.role, method: 'password_totp', session: sessionKind }, ip: context.ip, requestId: context.requestId });
    return { user: toUser({ ...row, totp_confirmed_at: row.totp_confirmed_at ?? now }), ...session, sessionKind };
  });
}

/** A new staff session inside the caller's transaction (password + TOTP, or a passkey): only hashes are stored. */
export async function startStaffSession(client: Queryable, userId: string, now: Date, context: StaffRequestContext, kind: StaffSessionKind = 'full'): Promise<{ sessionToken: string; csrfToken: string; expiresAt: Date }> {
  const sessionToken = randomBytes(32).toString('base64url');
  const csrfToken = randomBytes(32).toString('base64url');
  const expiresAt = new Date(now.getTime() + STAFF_ABSOLUTE_TIMEOUT_MS);
  await client.query('insert into merchant_user_sessions (token_hash, user_id, csrf_hash, created_at, last_seen_at, expires_at, ip, user_agent, kind) values ($1, $2, $3, $4, $4, $5, $6, $7, $8)',
    [sha256(sessionToken), userId, sha256(csrfToken), now, expiresAt, context.ip, context.userAgent?.slice(0, 512) ?? null, kind]);
  return { sessionToken, csrfToken, expiresAt };
}

export async function recordStaffFailure(deps: StaffDeps, userId: string | null, email: string, why: string, context: StaffRequestContext): Promise<void> {
  if (context.ip !== null) await hitCounter(deps.db.pool, `merchant_sign_in:ip:${context.ip}`, STAFF_SIGN_IN_FAILURES_PER_IP.windowMs);
  await withTransaction(deps.db, async (client) => {
    if (userId !== null) {
      await client.query(`update merchant_users set failed_sign_ins = failed_sign_ins + 1,
        locked_until = case when failed_sign_ins + 1 >= $2 then $4::timestamptz + $3 * interval '1 millisecond' else locked_until end where id = $1`,
        [userId, STAFF_SIGN_IN_FAILURES_MAX, STAFF_LOCKOUT_MS, deps.now()]);
    }
    await recordAudit(client, { actor: { kind: 'merchant_user', id: userId ?? `unknown:${email}`.slice(0, 200) }, action: 'merchant_user.sign_in', outcome: 'failure',
      details: { why }, ip: context.ip, requestId: context.requestId });
  });
}

/**
 * Checks revocation, expiry, the idle window, the user and the merchant, and slides the idle window: one statement,
 * uncached. A full session needs an active or suspended merchant; an applicant session lives only while its
 * application waits for the applicant (approval, rejection or a resubmission end it: sign in again).
 */
export async function authenticateStaff(deps: StaffDeps, token: string): Promise<StaffPrincipal | null> {
  if (!/^[A-Za-z0-9_-]{43}$/.test(token)) return null;
  const tokenHash = sha256(token);
  const result = await deps.db.pool.query<{ id: string; merchant_id: string; email: string; role: MerchantRole; csrf_hash: Buffer; kind: StaffSessionKind }>(
    `update merchant_user_sessions s set last_seen_at = $3 from merchant_users u join merchants m on m.id = u.merchant_id
     where s.token_hash = $1 and u.id = s.user_id and s.revoked_at is null and s.expires_at > $3
       and s.last_seen_at > $3::timestamptz - $2 * interval '1 millisecond' and u.status = 'active'
       and ((s.kind = 'full' and m.status in ('active', 'suspended')) or (s.kind = 'applicant' and m.status = 'applied' and m.review_state = 'more_info_requested'))
     returning u.id, u.merchant_id, u.email, u.role, s.csrf_hash, s.kind`, [tokenHash, STAFF_IDLE_TIMEOUT_MS, deps.now()]);
  const row = result.rows[0];
  return row === undefined ? null : { userId: row.id, merchantId: row.merchant_id, email: row.email, role: row.role, sessionTokenHash: tokenHash, csrfHash: row.csrf_hash, sessionKind: row.kind };
}

export function staffCsrfMatches(principal: StaffPrincipal, csrfToken: string): boolean {
  return csrfToken.length <= 128 && timingSafeEqual(sha256(csrfToken), principal.csrfHash);
}

export async function signOutStaff(deps: StaffDeps, principal: StaffPrincipal, context: StaffRequestContext): Promise<void> {
  await withTransaction(deps.db, async (client) => {
    await client.query('update merchant_user_sessions set revoked_at = $2 where token_hash = $1 and revoked_at is null', [principal.sessionTokenHash, deps.now()]);
    await recordAudit(client, { actor: staffActor(principal), action: 'merchant_user.sign_out', outcome: 'success', ip: context.ip, requestId: context.requestId });
  });
}

export function toUser(row: UserRow): StaffUser {
  return { id: row.id, merchantId: row.merchant_id, email: row.email, displayName: row.display_name, role: row.role, status: row.status,
    totpConfirmed: row.totp_confirmed_at !== null, createdAt: row.created_at };
}

/**
 * The active staff member of this merchant whose e-mail is one of these (a customer's verified e-mails): how a
 * till knows the wallet it is about to top up is its own staff's (issue 19). Staff e-mails are unique across
 * merchants and stored normalised.
 */
export async function staffUserWithEmail(db: Queryable, merchantId: string, emails: readonly string[]): Promise<string | null> {
  if (emails.length === 0) return null;
  const result = await db.query<{ id: string }>(`select id from merchant_users where merchant_id = $1 and status = 'active' and email = any($2::text[]) order by id limit 1`,
    [merchantId, emails.map((email) => email.trim().toLowerCase())]);
  return result.rows[0]?.id ?? null;
}

/**
 * A second clerk approves an action at the till with their e-mail and a current code from their authenticator
 * app (the TOTP they sign in with; otplib via operations' credentials). The code is spent as a sign-in's is (the
 * same step cannot approve twice), wrong codes count towards the user's lockout, and the approver must be an
 * active staff member of the same merchant other than `notUserId` (the staff member being served). Audited.
 */
export async function approveBySecondClerk(deps: StaffDeps, merchantId: string, input: { email: string; totpCode: string; action: string; notUserId: string | null }, context: StaffRequestContext): Promise<string> {
  const email = input.email.trim().toLowerCase().slice(0, 254);
  const found = await deps.db.pool.query<{ id: string; merchant_id: string; status: string; locked: boolean; totp_secret_sealed: Buffer; totp_last_step: string }>(
    `select id, merchant_id, status, coalesce(locked_until > $2, false) as locked, totp_secret_sealed, totp_last_step::text from merchant_users where email = $1`, [email, deps.now()]);
  const row = found.rows[0];
  const refuse = async (why: string): Promise<never> => {
    await recordStaffFailure(deps, row?.id ?? null, email, `second_clerk:${why}`, context);
    throw new KobanError('second_clerk_refused');
  };
  if (row === undefined || row.merchant_id !== merchantId) return refuse('not_staff_here');
  if (row.id === input.notUserId) return refuse('same_person');
  if (row.status !== 'active' || row.locked) return refuse('not_active');
  const step = await checkTotp(deps.box.open(row.totp_secret_sealed, totpContext(row.id)), input.totpCode, Number(row.totp_last_step), deps.now().getTime());
  if (step === null) return refuse('bad_totp');
  return withTransaction(deps.db, async (client) => {
    const claimed = await client.query(`update merchant_users set totp_last_step = $2, failed_sign_ins = 0 where id = $1 and totp_last_step < $2`, [row.id, step]);
    if (claimed.rowCount !== 1) throw new KobanError('second_clerk_refused');
    await recordAudit(client, { actor: { kind: 'merchant_user', id: row.id }, action: 'merchant_user.second_clerk_approval', outcome: 'success',
      details: { merchantId, action: input.action, servedStaffUserId: input.notUserId }, ip: context.ip, requestId: context.requestId });
    return row.id;
  });
}
