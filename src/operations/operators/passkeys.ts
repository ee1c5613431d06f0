/**
 * Operators' passkeys (issue 14): WebAuthn with @simplewebauthn/server, the only way an operator signs in for
 * work. A passkey answers only Koban's origin, so a password and code relayed through a look-alike site are
 * worth nothing. Challenges are server-side and deleted on any use; user verification is required; the
 * credential must belong to the operator its user handle names; a signed counter that does not go up (unless
 * both are 0, synced passkeys) is refused as a cloned key. Registration needs a session (an enrolment
 * session after password + TOTP, a break-glass session, or a passkey session adding another key).
 */
import {
  generateAuthenticationOptions, generateRegistrationOptions, verifyAuthenticationResponse, verifyRegistrationResponse,
  type AuthenticationResponseJSON, type PublicKeyCredentialCreationOptionsJSON, type PublicKeyCredentialRequestOptionsJSON, type RegistrationResponseJSON,
} from '@simplewebauthn/server';
import { sqlState, withTransaction, type Database, type Queryable } from '../../platform/db/database.ts';
import { KobanError } from '../../platform/errors.ts';
import { uuidv7 } from '../../platform/ids.ts';
import { systemClock, type Clock } from '../../platform/clock.ts';
import { recordAudit } from '../audit/audit-log.ts';
import { OPERATOR_COLUMNS, startSession, toOperator, type OperatorPrincipal, type OperatorRow, type RequestContext, type SignInResult } from './operators.ts';

export const OPERATOR_WEBAUTHN_LIMITS = { timeoutMs: 5 * 60_000, passkeysPerOperatorMax: 10, nameLengthMax: 100 } as const;

export interface OperatorWebAuthnSettings {
  readonly rpId: string;
  readonly rpName: string;
  readonly origins: readonly string[];
}

export interface OperatorPasskeys {
  registrationOptions(principal: OperatorPrincipal): Promise<{ challengeId: string; options: PublicKeyCredentialCreationOptionsJSON }>;
  /** Stores the passkey; an enrolment session ends with it (the operator signs in with the new passkey next). */
  register(principal: OperatorPrincipal, input: { challengeId: string; response: RegistrationResponseJSON; name: string }, context: RequestContext): Promise<{ sessionEnded: boolean }>;
  signInOptions(): Promise<{ challengeId: string; options: PublicKeyCredentialRequestOptionsJSON }>;
  signIn(input: { challengeId: string; response: AuthenticationResponseJSON }, context: RequestContext): Promise<SignInResult>;
  list(operatorId: string): Promise<Array<{ credentialId: string; name: string; createdAt: Date; lastUsedAt: Date | null }>>;
}

interface Options { readonly webauthn: OperatorWebAuthnSettings; readonly absoluteTimeoutMs: number; readonly clock?: Clock }

/** The WebAuthn user handle of an operator: their id's bytes (never an e-mail). */
const userHandleOf = (operatorId: string) => Buffer.from(operatorId, 'utf8').toString('base64url');

export function createOperatorPasskeys(db: Database, options: Options): OperatorPasskeys {
  const now = () => (options.clock ?? systemClock)();
  return {
    async registrationOptions(principal) {
      const existing = await db.pool.query<{ credential_id: string; transports: string[] }>(
        'select credential_id, transports from operator_passkeys where operator_id = $1 limit $2', [principal.operatorId, OPERATOR_WEBAUTHN_LIMITS.passkeysPerOperatorMax]);
      if (existing.rows.length >= OPERATOR_WEBAUTHN_LIMITS.passkeysPerOperatorMax) throw new KobanError('validation_failed', { detail: 'an operator has at most 10 passkeys' });
      const generated = await generateRegistrationOptions({
        rpName: options.webauthn.rpName, rpID: options.webauthn.rpId, userName: principal.email, userID: Buffer.from(principal.operatorId, 'utf8'),
        attestationType: 'none', timeout: OPERATOR_WEBAUTHN_LIMITS.timeoutMs,
        excludeCredentials: existing.rows.map((row) => ({ id: row.credential_id, transports: row.transports as never })),
        authenticatorSelection: { residentKey: 'required', userVerification: 'required' },
      });
      const challengeId = await storeChallenge(db.pool, generated.challenge, 'registration', principal.operatorId, principal.sessionTokenHash, now());
      return { challengeId, options: generated };
    },
    async register(principal, input, context) {
      // Taken outside the transaction: a failed ceremony burns its challenge too.
      const challenge = await takeChallenge(db.pool, input.challengeId, 'registration', principal.operatorId, principal.sessionTokenHash, now());
      if (challenge === null) throw new KobanError('passkey_failed');
      refuseCrossOrigin(input.response.response.clientDataJSON);
      const verification = await verifyRegistrationResponse({
        response: input.response, expectedChallenge: challenge, expectedOrigin: [...options.webauthn.origins], expectedRPID: options.webauthn.rpId, requireUserVerification: true,
      }).catch((cause: unknown) => { throw new KobanError('passkey_failed', { cause }); });
      if (!verification.verified) throw new KobanError('passkey_failed');
      const { credential } = verification.registrationInfo;
      return withTransaction(db, async (client) => {
        try {
          await client.query('insert into operator_passkeys (credential_id, operator_id, public_key, counter, transports, name) values ($1, $2, $3, $4, $5, $6)',
            [credential.id, principal.operatorId, Buffer.from(credential.publicKey), credential.counter, credential.transports ?? [], input.name.slice(0, OPERATOR_WEBAUTHN_LIMITS.nameLengthMax) || 'Passkey']);
        } catch (error) {
          if (sqlState(error) === '23505') throw new KobanError('passkey_already_registered');
          throw error;
        }
        const sessionEnded = principal.sessionKind === 'enrolment';
        if (sessionEnded) await client.query('update operator_sessions set revoked_at = now() where token_hash = $1', [principal.sessionTokenHash]);
        await recordAudit(client, { actor: { kind: 'operator', id: principal.operatorId }, action: 'operator.passkey_added', target: { kind: 'operator', id: principal.operatorId },
          outcome: 'success', details: { session: principal.sessionKind }, ip: context.ip, requestId: context.requestId });
        return { sessionEnded };
      });
    },
    async signInOptions() {
      const generated = await generateAuthenticationOptions({ rpID: options.webauthn.rpId, userVerification: 'required', timeout: OPERATOR_WEBAUTHN_LIMITS.timeoutMs, allowCredentials: [] });
      const challengeId = await storeChallenge(db.pool, generated.challenge, 'sign_in', null, null, now());
      return { challengeId, options: generated };
    },
    signIn: (input, context) => signInWithPasskey(db, options, now(), input, context),
    async list(operatorId) {
      const rows = await db.pool.query<{ credential_id: string; name: string; created_at: Date; last_used_at: Date | null }>(
        'select credential_id, name, created_at, last_used_at from operator_passkeys where operator_id = $1 order by created_at limit $2', [operatorId, OPERATOR_WEBAUTHN_LIMITS.passkeysPerOperatorMax]);
      return rows.rows.map((row) => ({ credentialId: row.credential_id, name: row.name, createdAt: row.created_at, lastUsedAt: row.last_used_at }));
    },
  };
}

interface StoredPasskey extends OperatorRow { credential_id: string; public_key: Buffer; counter: bigint; transports: string[]; locked: boolean }

async function signInWithPasskey(db: Database, options: Options, now: Date, input: { challengeId: string; response: AuthenticationResponseJSON }, context: RequestContext): Promise<SignInResult> {
  const refuse = async (operatorId: string | null, why: string): Promise<never> => {
    await recordAudit(db.pool, { actor: { kind: 'operator', id: operatorId ?? 'unknown:passkey' }, action: 'operator.sign_in', outcome: 'failure', details: { why, method: 'passkey' }, ip: context.ip, requestId: context.requestId });
    throw new KobanError('passkey_failed');
  };
  const challenge = await takeChallenge(db.pool, input.challengeId, 'sign_in', null, null, now);
  if (challenge === null || input.response.id !== input.response.rawId) return refuse(null, 'challenge');
  refuseCrossOrigin(input.response.response.clientDataJSON);
  const passkey = (await db.pool.query<StoredPasskey>(
    `select ${OPERATOR_COLUMNS.split(', ').map((c) => `o.${c}`).join(', ')}, p.credential_id, p.public_key, p.counter, p.transports, coalesce(o.locked_until > now(), false) as locked
     from operator_passkeys p join operators o on o.id = p.operator_id where p.credential_id = $1`, [input.response.id])).rows[0];
  if (passkey === undefined) return refuse(null, 'unknown_credential');
  if (passkey.status !== 'active' || passkey.locked) return refuse(passkey.id, passkey.status !== 'active' ? 'disabled' : 'locked');
  if (input.response.response.userHandle !== userHandleOf(passkey.id)) return refuse(passkey.id, 'user_handle');
  const verification = await verifyAuthenticationResponse({
    response: input.response, expectedChallenge: challenge, expectedOrigin: [...options.webauthn.origins], expectedRPID: options.webauthn.rpId,
    credential: { id: passkey.credential_id, publicKey: new Uint8Array(passkey.public_key), counter: 0, transports: passkey.transports as never }, requireUserVerification: true,
  }).catch(() => null);
  if (verification === null || !verification.verified) return refuse(passkey.id, 'signature');
  const stored = BigInt(passkey.counter);
  const next = BigInt(verification.authenticationInfo.newCounter);
  if (!(stored === 0n && next === 0n) && next <= stored) return refuse(passkey.id, 'counter_regression');
  return withTransaction(db, async (client) => {
    await client.query('update operator_passkeys set counter = $2, last_used_at = $3 where credential_id = $1', [passkey.credential_id, next, now]);
    await client.query('update operators set failed_sign_ins = 0, locked_until = null where id = $1', [passkey.id]);
    const expiresAt = new Date(now.getTime() + options.absoluteTimeoutMs);
    const session = await startSession(client, passkey.id, 'full', now, expiresAt, context);
    await recordAudit(client, { actor: { kind: 'operator', id: passkey.id }, action: 'operator.sign_in', outcome: 'success', details: { role: passkey.role, method: 'passkey' }, ip: context.ip, requestId: context.requestId });
    return { operator: toOperator(passkey), ...session, expiresAt, sessionKind: 'full' as const };
  });
}

async function storeChallenge(db: Queryable, challenge: string, ceremony: 'registration' | 'sign_in', operatorId: string | null, sessionHash: Buffer | null, now: Date): Promise<string> {
  const id = uuidv7();
  await db.query('insert into operator_webauthn_challenges (id, challenge, ceremony, operator_id, session_hash, expires_at) values ($1, $2, $3, $4, $5, $6)',
    [id, challenge, ceremony, operatorId, sessionHash, new Date(now.getTime() + OPERATOR_WEBAUTHN_LIMITS.timeoutMs)]);
  // Expired challenges of anyone go with each new one: the table stays small without a sweeper.
  await db.query('delete from operator_webauthn_challenges where expires_at < $1', [now]);
  return id;
}

/** Deleted on any use; returned only when the ceremony, operator and session match (a misuse burns it). */
async function takeChallenge(db: Queryable, challengeId: string, ceremony: 'registration' | 'sign_in', operatorId: string | null, sessionHash: Buffer | null, now: Date): Promise<string | null> {
  if (!/^[0-9a-f-]{36}$/.test(challengeId)) return null;
  const taken = await db.query<{ challenge: string }>(
    `with taken as (delete from operator_webauthn_challenges where id = $1 returning *)
     select challenge from taken where ceremony = $2 and expires_at > $5 and operator_id is not distinct from $3 and session_hash is not distinct from $4`,
    [challengeId, ceremony, operatorId, sessionHash, now]);
  return taken.rows[0]?.challenge ?? null;
}

/** Koban's console and portal never run in another site's frame: a cross-origin ceremony is refused. */
export function refuseCrossOrigin(clientDataJSON: unknown): void {
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
