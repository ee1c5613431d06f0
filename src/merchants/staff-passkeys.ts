/**
 * Merchant staff passkeys (issue 16): WebAuthn with @simplewebauthn/server, the same ceremony rules as the
 * operators' (src/operations/operators/passkeys.ts) in the merchant realm's own tables. A staff member enrols a
 * passkey from a session opened with password + TOTP; afterwards the passkey alone signs them in (user
 * verification required: the device's biometric or PIN is the second factor). Only `merchant_user_passkeys` is
 * looked up, so an operator's or a customer's passkey is an unknown credential here; the credential must belong
 * to the user its user handle names; a counter that does not go up (unless both are 0, synced passkeys) is a
 * cloned key. Challenges are server-side and deleted on any use. Disabled or locked users, and merchants that
 * are not active or suspended, are refused as with a password. Every enrolment, removal, sign-in and refusal is
 * audited (`actor_kind = 'merchant_user'`).
 */
import {
  generateAuthenticationOptions, generateRegistrationOptions, verifyAuthenticationResponse, verifyRegistrationResponse,
  type AuthenticationResponseJSON, type PublicKeyCredentialCreationOptionsJSON, type PublicKeyCredentialRequestOptionsJSON, type RegistrationResponseJSON,
} from '@simplewebauthn/server';
import { recordAudit } from '../operations/audit/audit-log.ts';
import { refuseCrossOrigin } from '../operations/operators/passkeys.ts';
import { assert } from '../platform/assert.ts';
import { sqlState, withTransaction, type Queryable } from '../platform/db/database.ts';
import { KobanError } from '../platform/errors.ts';
import { uuidv7 } from '../platform/ids.ts';
import {
  startStaffSession, toUser, USER_COLUMNS, type StaffDeps, type StaffPrincipal, type StaffRequestContext, type StaffSignIn, type UserRow,
} from './staff.ts';

export const STAFF_WEBAUTHN_LIMITS = { timeoutMs: 5 * 60_000, passkeysPerUserMax: 10, nameLengthMax: 100 } as const;

export interface StaffWebAuthnSettings {
  readonly rpId: string;
  readonly rpName: string;
  readonly origins: readonly string[];
}

export interface StaffPasskeyDeps extends StaffDeps { readonly webauthn: StaffWebAuthnSettings }

export interface StaffPasskey { readonly credentialId: string; readonly name: string; readonly createdAt: Date; readonly lastUsedAt: Date | null }

/** The WebAuthn user handle of a staff member: their id's bytes (never an e-mail). */
const userHandleOf = (userId: string): string => Buffer.from(userId, 'utf8').toString('base64url');

export async function staffPasskeyRegistrationOptions(deps: StaffPasskeyDeps, principal: StaffPrincipal): Promise<{ challengeId: string; options: PublicKeyCredentialCreationOptionsJSON }> {
  const existing = await deps.db.pool.query<{ credential_id: string; transports: string[] }>(
    'select credential_id, transports from merchant_user_passkeys where user_id = $1 limit $2', [principal.userId, STAFF_WEBAUTHN_LIMITS.passkeysPerUserMax]);
  if (existing.rows.length >= STAFF_WEBAUTHN_LIMITS.passkeysPerUserMax) throw new KobanError('validation_failed', { detail: `a staff member has at most ${STAFF_WEBAUTHN_LIMITS.passkeysPerUserMax} passkeys` });
  const generated = await generateRegistrationOptions({
    rpName: deps.webauthn.rpName, rpID: deps.webauthn.rpId, userName: principal.email, userID: Buffer.from(principal.userId, 'utf8'),
    attestationType: 'none', timeout: STAFF_WEBAUTHN_LIMITS.timeoutMs,
    excludeCredentials: existing.rows.map((row) => ({ id: row.credential_id, transports: row.transports as never })),
    authenticatorSelection: { residentKey: 'required', userVerification: 'required' },
  });
  const challengeId = await storeChallenge(deps.db.pool, generated.challenge, 'registration', principal.userId, principal.sessionTokenHash, deps.now());
  return { challengeId, options: generated };
}

export async function registerStaffPasskey(deps: StaffPasskeyDeps, principal: StaffPrincipal, input: { challengeId: string; response: RegistrationResponseJSON; name: string }, context: StaffRequestContext): Promise<StaffPasskey> {
  // Taken outside the transaction: a failed ceremony burns its challenge too.
  const challenge = await takeChallenge(deps.db.pool, input.challengeId, 'registration', principal.userId, principal.sessionTokenHash, deps.now());
  if (challenge === null) throw new KobanError('passkey_failed');
  refuseCrossOrigin(input.response.response.clientDataJSON);
  const verification = await verifyRegistrationResponse({
    response: input.response, expectedChallenge: challenge, expectedOrigin: [...deps.webauthn.origins], expectedRPID: deps.webauthn.rpId, requireUserVerification: true,
  }).catch((cause: unknown) => { throw new KobanError('passkey_failed', { cause }); });
  if (!verification.verified) throw new KobanError('passkey_failed');
  const { credential } = verification.registrationInfo;
  const name = input.name.trim().slice(0, STAFF_WEBAUTHN_LIMITS.nameLengthMax) || 'Passkey';
  const createdAt = deps.now();
  return withTransaction(deps.db, async (client) => {
    try {
      await client.query('insert into merchant_user_passkeys (credential_id, user_id, public_key, counter, transports, name, created_at) values ($1, $2, $3, $4, $5, $6, $7)',
        [credential.id, principal.userId, Buffer.from(credential.publicKey), credential.counter, credential.transports ?? [], name, createdAt]);
    } catch (error) {
      if (sqlState(error) === '23505') throw new KobanError('passkey_already_registered');
      throw error;
    }
    await recordAudit(client, { actor: { kind: 'merchant_user', id: principal.userId }, action: 'merchant_user.passkey_added', target: { kind: 'merchant_user', id: principal.userId },
      outcome: 'success', details: { merchantId: principal.merchantId, name }, ip: context.ip, requestId: context.requestId });
    return { credentialId: credential.id, name, createdAt, lastUsedAt: null };
  });
}

export async function listStaffPasskeys(deps: StaffDeps, userId: string): Promise<StaffPasskey[]> {
  const rows = await deps.db.pool.query<{ credential_id: string; name: string; created_at: Date; last_used_at: Date | null }>(
    'select credential_id, name, created_at, last_used_at from merchant_user_passkeys where user_id = $1 order by created_at limit $2', [userId, STAFF_WEBAUTHN_LIMITS.passkeysPerUserMax]);
  return rows.rows.map((row) => ({ credentialId: row.credential_id, name: row.name, createdAt: row.created_at, lastUsedAt: row.last_used_at }));
}

/** A staff member removes one of their own passkeys; someone else's (or an unknown id) is "not found". */
export async function removeStaffPasskey(deps: StaffDeps, principal: StaffPrincipal, credentialId: string, context: StaffRequestContext): Promise<void> {
  await withTransaction(deps.db, async (client) => {
    const removed = await client.query('delete from merchant_user_passkeys where credential_id = $1 and user_id = $2', [credentialId, principal.userId]);
    if (removed.rowCount !== 1) throw new KobanError('passkey_not_found');
    await recordAudit(client, { actor: { kind: 'merchant_user', id: principal.userId }, action: 'merchant_user.passkey_removed', target: { kind: 'merchant_user', id: principal.userId },
      outcome: 'success', details: { merchantId: principal.merchantId, credentialId: credentialId.slice(0, 64) }, ip: context.ip, requestId: context.requestId });
  });
}

export async function staffPasskeySignInOptions(deps: StaffPasskeyDeps): Promise<{ challengeId: string; options: PublicKeyCredentialRequestOptionsJSON }> {
  // Discoverable credentials: no user is named before the assertion (nothing to enumerate).
  const generated = await generateAuthenticationOptions({ rpID: deps.webauthn.rpId, userVerification: 'required', timeout: STAFF_WEBAUTHN_LIMITS.timeoutMs, allowCredentials: [] });
  const challengeId = await storeChallenge(deps.db.pool, generated.challenge, 'sign_in', null, null, deps.now());
  return { challengeId, options: generated };
}

interface StoredPasskey extends UserRow { credential_id: string; public_key: Buffer; counter: string; transports: string[]; locked: boolean; merchant_status: string }

export async function signInStaffWithPasskey(deps: StaffPasskeyDeps, input: { challengeId: string; response: AuthenticationResponseJSON }, context: StaffRequestContext): Promise<StaffSignIn> {
  const now = deps.now();
  const refuse = async (userId: string | null, why: string, error = new KobanError('passkey_failed')): Promise<never> => {
    await recordAudit(deps.db.pool, { actor: { kind: 'merchant_user', id: userId ?? 'unknown:passkey' }, action: 'merchant_user.sign_in', outcome: 'failure',
      details: { why, method: 'passkey' }, ip: context.ip, requestId: context.requestId });
    throw error;
  };
  const challenge = await takeChallenge(deps.db.pool, input.challengeId, 'sign_in', null, null, now);
  if (challenge === null || input.response.id !== input.response.rawId) return refuse(null, 'challenge');
  refuseCrossOrigin(input.response.response.clientDataJSON);
  const passkey = (await deps.db.pool.query<StoredPasskey>(
    `select ${USER_COLUMNS.split(', ').map((c) => `u.${c}`).join(', ')}, p.credential_id, p.public_key, p.counter::text, p.transports,
       coalesce(u.locked_until > $2, false) as locked, m.status as merchant_status
     from merchant_user_passkeys p join merchant_users u on u.id = p.user_id join merchants m on m.id = u.merchant_id where p.credential_id = $1`,
    [input.response.id.slice(0, 1400), now])).rows[0];
  if (passkey === undefined) return refuse(null, 'unknown_credential');
  if (passkey.status !== 'active') return refuse(passkey.id, 'disabled');
  if (passkey.locked) return refuse(passkey.id, 'locked');
  if (input.response.response.userHandle !== userHandleOf(passkey.id)) return refuse(passkey.id, 'user_handle');
  const verification = await verifyAuthenticationResponse({
    response: input.response, expectedChallenge: challenge, expectedOrigin: [...deps.webauthn.origins], expectedRPID: deps.webauthn.rpId,
    credential: { id: passkey.credential_id, publicKey: new Uint8Array(passkey.public_key), counter: 0, transports: passkey.transports as never }, requireUserVerification: true,
  }).catch(() => null);
  if (verification === null || !verification.verified) return refuse(passkey.id, 'signature');
  const stored = BigInt(passkey.counter);
  const next = BigInt(verification.authenticationInfo.newCounter);
  if (!(stored === 0n && next === 0n) && next <= stored) return refuse(passkey.id, 'counter_regression');
  // After the signature: only the passkey's holder learns the merchant's state.
  if (passkey.merchant_status !== 'active' && passkey.merchant_status !== 'suspended') {
    return refuse(passkey.id, `merchant_${passkey.merchant_status}`,
      new KobanError('merchant_not_active', { detail: passkey.merchant_status === 'applied' ? 'the application is still being reviewed' : 'the merchant is closed' }));
  }
  return withTransaction(deps.db, async (client) => {
    // The counter only moves forward, checked again in the write: two racing uses of one assertion open one session.
    const claimed = await client.query('update merchant_user_passkeys set counter = $2, last_used_at = $3 where credential_id = $1 and (counter < $2 or (counter = 0 and $2 = 0))',
      [passkey.credential_id, next, now]);
    if (claimed.rowCount !== 1) throw new KobanError('passkey_failed');
    await client.query('update merchant_users set failed_sign_ins = 0, locked_until = null where id = $1', [passkey.id]);
    const session = await startStaffSession(client, passkey.id, now, context);
    await recordAudit(client, { actor: { kind: 'merchant_user', id: passkey.id }, action: 'merchant_user.sign_in', outcome: 'success',
      details: { merchantId: passkey.merchant_id, role: passkey.role, method: 'passkey' }, ip: context.ip, requestId: context.requestId });
    return { user: toUser(passkey), ...session, sessionKind: 'full' as const };
  });
}

async function storeChallenge(db: Queryable, challenge: string, ceremony: 'registration' | 'sign_in', userId: string | null, sessionHash: Buffer | null, now: Date): Promise<string> {
  const id = uuidv7();
  await db.query('insert into merchant_webauthn_challenges (id, challenge, ceremony, user_id, session_hash, expires_at) values ($1, $2, $3, $4, $5, $6)',
    [id, challenge, ceremony, userId, sessionHash, new Date(now.getTime() + STAFF_WEBAUTHN_LIMITS.timeoutMs)]);
  // Expired challenges of anyone go with each new one: the table stays small without a sweeper.
  await db.query('delete from merchant_webauthn_challenges where expires_at < $1', [now]);
  return id;
}

/** Deleted on any use; returned only when the ceremony, user and session match (a misuse burns it). */
async function takeChallenge(db: Queryable, challengeId: string, ceremony: 'registration' | 'sign_in', userId: string | null, sessionHash: Buffer | null, now: Date): Promise<string | null> {
  if (!/^[0-9a-f-]{36}$/.test(challengeId)) return null;
  const taken = await db.query<{ challenge: string }>(
    `with taken as (delete from merchant_webauthn_challenges where id = $1 returning *)
     select challenge from taken where ceremony = $2 and expires_at > $5 and user_id is not distinct from $3 and session_hash is not distinct from $4`,
    [challengeId, ceremony, userId, sessionHash, now]);
  const challenge = taken.rows[0]?.challenge ?? null;
  assert(challenge === null || challenge.length <= 200, 'stored challenge within its column bound');
  return challenge;
}
