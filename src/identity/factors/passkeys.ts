/**
 * Passkeys with @simplewebauthn/server. The library verifies the ceremony; Koban does what it leaves
 * to us (§7): challenges live server-side and are deleted on first use (WA-01), the credential is
 * looked up and must belong to the expected customer and match the user handle (WA-03), credential
 * ids are unique across customers, and user verification is required everywhere (WA-05).
 */
import {
  generateAuthenticationOptions, generateRegistrationOptions, verifyAuthenticationResponse, verifyRegistrationResponse,
  type AuthenticationResponseJSON, type PublicKeyCredentialCreationOptionsJSON, type PublicKeyCredentialRequestOptionsJSON, type RegistrationResponseJSON,
} from '@simplewebauthn/server';
import type { Queryable } from '../../platform/db/database.ts';
import { sqlState } from '../../platform/db/database.ts';
import { KobanError } from '../../platform/errors.ts';
import { uuidv7 } from '../../platform/ids.ts';
import { recordSecurityEvent } from '../../platform/audit/security-log.ts';
import type { IdentityDeps } from '../deps.ts';

export type Ceremony = 'registration' | 'login' | 'second_factor' | 'step_up';

export const WEBAUTHN_LIMITS = { timeoutMs: 5 * 60_000, passkeysPerCustomerMax: 20, nameLengthMax: 100 } as const;

interface ChallengeBinding {
  readonly ceremony: Ceremony;
  readonly customerId?: string | null;
  readonly sessionId?: string | null;
  readonly subjectId?: string | null;
  readonly deviceHash?: Buffer | null;
}

async function storeChallenge(db: Queryable, challenge: string, binding: ChallengeBinding): Promise<string> {
  const id = uuidv7();
  await db.query(
    `insert into webauthn_challenges (id, challenge, ceremony, customer_id, session_id, subject_id, device_hash, expires_at)
     values ($1, $2, $3, $4, $5, $6, $7, now() + make_interval(secs => $8::double precision / 1000))`,
    [id, challenge, binding.ceremony, binding.customerId ?? null, binding.sessionId ?? null, binding.subjectId ?? null, binding.deviceHash ?? null, WEBAUTHN_LIMITS.timeoutMs],
  );
  return id;
}

/**
 * Deletes the challenge on any use, and returns it only if it matches the binding: a second use finds
 * nothing, and a challenge offered in the wrong ceremony, session or request is burnt too (WA-01).
 */
async function takeChallenge(db: Queryable, challengeId: string, binding: ChallengeBinding): Promise<string | null> {
  const result = await db.query<{ challenge: string }>(
    `with taken as (delete from webauthn_challenges where id = $1 returning *)
     select challenge from taken where ceremony = $2 and expires_at > now()
       and customer_id is not distinct from $3 and session_id is not distinct from $4
       and subject_id is not distinct from $5 and device_hash is not distinct from $6`,
    [challengeId, binding.ceremony, binding.customerId ?? null, binding.sessionId ?? null, binding.subjectId ?? null, binding.deviceHash ?? null],
  );
  return result.rows[0]?.challenge ?? null;
}

/**
 * WA-02: Koban's ceremonies never run inside another site's iframe, so a cross-origin response is
 * refused (the library checks only the top origin, and only when the browser reports one; it does
 * not look at registrations at all).
 */
function refuseCrossOrigin(clientDataJSON: unknown): void {
  if (typeof clientDataJSON !== 'string') throw new KobanError('passkey_failed');
  let clientData: unknown;
  try {
    clientData = JSON.parse(Buffer.from(clientDataJSON, 'base64url').toString('utf8'));
  } catch (cause) {
    throw new KobanError('passkey_failed', { cause });
  }
  if (typeof clientData !== 'object' || clientData === null) throw new KobanError('passkey_failed');
  const { crossOrigin, topOrigin } = clientData as { crossOrigin?: unknown; topOrigin?: unknown };
  if (crossOrigin === true || topOrigin !== undefined) throw new KobanError('passkey_failed');
}

interface StoredPasskey { id: string; customer_id: string; credential_id: string; public_key: Buffer; counter: bigint; transports: string[]; webauthn_user_id: string }

async function customerPasskeys(db: Queryable, customerId: string): Promise<Array<{ id: string; transports?: string[] }>> {
  const result = await db.query<{ credential_id: string; transports: string[] }>('select credential_id, transports from passkeys where customer_id = $1 limit $2', [customerId, WEBAUTHN_LIMITS.passkeysPerCustomerMax]);
  return result.rows.map((row) => ({ id: row.credential_id, transports: row.transports }));
}

export async function registrationOptions(deps: IdentityDeps, customerId: string, sessionId: string, userName: string): Promise<{ challengeId: string; options: PublicKeyCredentialCreationOptionsJSON }> {
  const customer = (await deps.db.pool.query<{ webauthn_user_id: string }>('select webauthn_user_id from customers where id = $1', [customerId])).rows[0];
  if (customer === undefined) throw new KobanError('unauthenticated');
  const existing = await customerPasskeys(deps.db.pool, customerId);
  const options = await generateRegistrationOptions({
    rpName: deps.config.webauthnRpName, rpID: deps.config.webauthnRpId, userName, userID: Buffer.from(customer.webauthn_user_id, 'base64url'),
    attestationType: 'none', timeout: WEBAUTHN_LIMITS.timeoutMs, excludeCredentials: existing,
    authenticatorSelection: { residentKey: 'required', userVerification: 'required' },
  });
  const challengeId = await storeChallenge(deps.db.pool, options.challenge, { ceremony: 'registration', customerId, sessionId });
  return { challengeId, options };
}

export async function finishRegistration(db: Queryable, deps: IdentityDeps, input: { customerId: string; sessionId: string; challengeId: string; response: RegistrationResponseJSON; name: string }): Promise<string> {
  const challenge = await takeChallenge(db, input.challengeId, { ceremony: 'registration', customerId: input.customerId, sessionId: input.sessionId });
  if (challenge === null) throw new KobanError('passkey_failed');
  refuseCrossOrigin(input.response.response.clientDataJSON);
  const verification = await verifyRegistrationResponse({
    response: input.response, expectedChallenge: challenge, expectedOrigin: [...deps.config.webauthnOrigins], expectedRPID: deps.config.webauthnRpId,
    requireUserVerification: true,
  }).catch((cause: unknown) => { throw new KobanError('passkey_failed', { cause }); });
  if (!verification.verified) throw new KobanError('passkey_failed');
  const info = verification.registrationInfo;
  const id = uuidv7();
  try {
    await db.query(
      `insert into passkeys (id, customer_id, credential_id, public_key, counter, transports, device_type, backed_up, name) values ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
      [id, input.customerId, info.credential.id, Buffer.from(info.credential.publicKey), info.credential.counter, info.credential.transports ?? [], info.credentialDeviceType, info.credentialBackedUp, input.name.slice(0, WEBAUTHN_LIMITS.nameLengthMax)],
    );
  } catch (error) {
    if (sqlState(error) === '23505') throw new KobanError('passkey_already_registered');
    throw error;
  }
  return id;
}

/**
 * Options for an assertion: discoverable (login, and a sign-in's second step, whose credential list would
 * tell a stranger the password was right) or limited to one customer's passkeys. The binding still names
 * the customer, so a discoverable answer with someone else's passkey fails at verification.
 */
export async function assertionOptions(deps: IdentityDeps, binding: ChallengeBinding, shape: { discoverable: boolean } = { discoverable: false }): Promise<{ challengeId: string; options: PublicKeyCredentialRequestOptionsJSON }> {
  const listed = Boolean(binding.customerId) && !shape.discoverable;
  const allowCredentials = listed && binding.customerId ? await customerPasskeys(deps.db.pool, binding.customerId) : [];
  if (listed && allowCredentials.length === 0) throw new KobanError('factor_not_enrolled');
  const options = await generateAuthenticationOptions({ rpID: deps.config.webauthnRpId, userVerification: 'required', timeout: WEBAUTHN_LIMITS.timeoutMs, allowCredentials });
  const challengeId = await storeChallenge(deps.db.pool, options.challenge, binding);
  return { challengeId, options };
}

/** Verifies an assertion against its stored challenge; returns the customer whose passkey it is. */
export async function verifyAssertion(db: Queryable, deps: IdentityDeps, challengeId: string, binding: ChallengeBinding, response: AuthenticationResponseJSON): Promise<string> {
  const challenge = await takeChallenge(db, challengeId, binding);
  if (challenge === null || response.id !== response.rawId) throw new KobanError('passkey_failed');
  refuseCrossOrigin(response.response.clientDataJSON);
  const passkey = (await db.query<StoredPasskey>(
    `select p.id, p.customer_id, p.credential_id, p.public_key, p.counter, p.transports, c.webauthn_user_id
     from passkeys p join customers c on c.id = p.customer_id where p.credential_id = $1 and c.status = 'active'`,
    [response.id],
  )).rows[0];
  if (passkey === undefined) throw new KobanError('passkey_failed');
  // The credential must belong to the customer this ceremony is for, and to the user handle it names.
  if (binding.customerId && passkey.customer_id !== binding.customerId) throw new KobanError('passkey_failed');
  if (response.response.userHandle !== undefined && response.response.userHandle !== passkey.webauthn_user_id) throw new KobanError('passkey_failed');
  if (binding.ceremony === 'login' && response.response.userHandle === undefined) throw new KobanError('passkey_failed');
  const verification = await verifyAuthenticationResponse({
    response, expectedChallenge: challenge, expectedOrigin: [...deps.config.webauthnOrigins], expectedRPID: deps.config.webauthnRpId,
    // Counter 0 here: the library checks the counter before the signature, so Koban checks it after
    // (refuseCounterRegression) and only a correctly signed regression is recorded as a clone signal.
    credential: { id: passkey.credential_id, publicKey: new Uint8Array(passkey.public_key), counter: 0, transports: passkey.transports },
    requireUserVerification: true,
  }).catch((cause: unknown) => { throw new KobanError('passkey_failed', { cause }); });
  if (!verification.verified) throw new KobanError('passkey_failed');
  const newCounter = verification.authenticationInfo.newCounter;
  await refuseCounterRegression(db, passkey, newCounter);
  await db.query('update passkeys set counter = $2, backed_up = $3, last_used_at = now() where id = $1', [passkey.id, newCounter, verification.authenticationInfo.credentialBackedUp]);
  return passkey.customer_id;
}

/**
 * WA-04: an authenticator that counts must count up. A signed counter at or below the stored one
 * (unless both are 0, as synced passkeys report) means two copies of the key exist: refuse and record.
 */
async function refuseCounterRegression(db: Queryable, passkey: StoredPasskey, newCounter: number): Promise<void> {
  const stored = BigInt(passkey.counter);
  const next = BigInt(newCounter);
  if (stored === 0n && next === 0n) return;
  if (next > stored) return;
  await recordSecurityEvent(db, {
    type: 'passkey.counter_regression', outcome: 'refused', actor: 'anonymous', customerId: passkey.customer_id,
    details: { passkeyId: passkey.id, storedCounter: stored.toString(), assertedCounter: next.toString() },
  });
  throw new KobanError('passkey_failed');
}

export interface PasskeyView { readonly id: string; readonly name: string; readonly createdAt: Date; readonly lastUsedAt: Date | null; readonly backedUp: boolean }

export async function listPasskeys(db: Queryable, customerId: string): Promise<PasskeyView[]> {
  const result = await db.query<{ id: string; name: string; created_at: Date; last_used_at: Date | null; backed_up: boolean }>(
    'select id, name, created_at, last_used_at, backed_up from passkeys where customer_id = $1 order by created_at limit $2', [customerId, WEBAUTHN_LIMITS.passkeysPerCustomerMax]);
  return result.rows.map((row) => ({ id: row.id, name: row.name, createdAt: row.created_at, lastUsedAt: row.last_used_at, backedUp: row.backed_up }));
}

export async function removePasskey(db: Queryable, customerId: string, passkeyId: string): Promise<boolean> {
  const result = await db.query('delete from passkeys where id = $1 and customer_id = $2', [passkeyId, customerId]);
  return result.rowCount === 1;
}
