/**
 * Sessions bound to a key the device holds (issue 13), modelled on DPoP (RFC 9449).
 *
 * The wallet makes a **non-extractable** ECDSA P-256 key pair at sign-in (WebCrypto, kept in IndexedDB) and
 * sends, with its requests, a `DPoP` header: a compact JWS (`typ: dpop+jwt`, ES256, the public JWK in the
 * protected header) over `htm` (the method), `htu` (Koban's public origin + the path, no query), `iat` and a
 * random `jti`. jose verifies it; the session keeps the key's RFC 7638 thumbprint.
 *
 * When a proof is needed (the guard decides: every state-changing request, a read once the last proof is older
 * than `KOBAN_SESSION_PROOF_REFRESH_MS`, any request from a network the last proof did not come from), it must be
 * signed by the session's key, `iat` within ±60 s, and its `jti` never seen before (kept as long as the proof
 * could be accepted). Reads in between cost nothing extra: the money paths pay one signature check and one
 * insert, in the statement that marks the proof.
 */
import type { FastifyRequest } from 'fastify';
import { calculateJwkThumbprint, EmbeddedJWK, jwtVerify, type JWK } from 'jose';
import type { Queryable } from '../../platform/db/database.ts';
import { KobanError } from '../../platform/errors.ts';
import { networkOf } from '../login/throttle.ts';
import { sha256 } from '../secrets.ts';

export const DEVICE_PROOF_HEADER = 'dpop';
/** How far a proof's `iat` may be from Koban's clock, either way (a phone's clock drifts). */
export const DEVICE_PROOF_SKEW_SEC = 60;
const PROOF_LENGTH_MAX = 2_048;
const JTI_LENGTH_MIN = 16;
const JTI_LENGTH_MAX = 64;
/** A jti is kept until a proof carrying it would be refused for its age anyway. */
const JTI_RETENTION_SEC = 2 * DEVICE_PROOF_SKEW_SEC + 5;

export interface DeviceProof {
  /** RFC 7638 SHA-256 thumbprint of the proof's public key (base64url, 43 characters). */
  readonly thumbprint: string;
  readonly jti: string;
  /** The /24 or /64 the proof came from. */
  readonly network: string;
}

function invalid(detail: string): KobanError {
  return new KobanError('session_proof_invalid', { detail });
}

/** The request's path as the proof's `htu` names it (no query, no fragment). */
function targetUri(publicOrigin: string, request: FastifyRequest): string {
  const path = request.url.split('?')[0] ?? '/';
  return `${publicOrigin}${path}`;
}

/**
 * The request's device proof, verified (signature, type, method, URI, age), or null when it carries none.
 * Does not check the jti against earlier ones: `recordProof` / `bindSession` do, in their statement.
 */
export async function readDeviceProof(request: FastifyRequest, publicOrigin: string, now: Date): Promise<DeviceProof | null> {
  const header = request.headers[DEVICE_PROOF_HEADER];
  if (header === undefined) return null;
  if (typeof header !== 'string' || header.length > PROOF_LENGTH_MAX) throw invalid('one compact JWS is expected');
  let verified;
  try {
    verified = await jwtVerify(header, EmbeddedJWK, {
      typ: 'dpop+jwt', algorithms: ['ES256'], currentDate: now, maxTokenAge: DEVICE_PROOF_SKEW_SEC, clockTolerance: DEVICE_PROOF_SKEW_SEC,
      requiredClaims: ['htm', 'htu', 'iat', 'jti'],
    });
  } catch {
    throw invalid('the proof is not an ES256 dpop+jwt signed by its embedded key within a minute of now');
  }
  const { payload, protectedHeader } = verified;
  const jwk = protectedHeader.jwk as JWK | undefined;
  if (jwk === undefined || jwk.kty !== 'EC' || jwk.crv !== 'P-256') throw invalid('the key must be an EC P-256 public key');
  if (payload['htm'] !== request.method) throw invalid('the proof was made for another method');
  if (payload['htu'] !== targetUri(publicOrigin, request)) throw invalid('the proof was made for another address');
  const jti = payload.jti;
  if (typeof jti !== 'string' || jti.length < JTI_LENGTH_MIN || jti.length > JTI_LENGTH_MAX) throw invalid(`jti must be ${JTI_LENGTH_MIN}..${JTI_LENGTH_MAX} characters`);
  const ip: unknown = request.ip;
  return { thumbprint: await calculateJwkThumbprint(jwk, 'sha256'), jti, network: typeof ip === 'string' ? networkOf(ip) : 'unknown' };
}

const SEEN_JTI = `insert into device_proof_jtis (jti_hash, session_id, expires_at) values ($1, $2, now() + make_interval(secs => $3)) on conflict do nothing returning 1`;

/**
 * Records a bound session's accepted proof: the jti is consumed and the session's last proof moves to now and
 * this network, in one statement. False when the jti was seen before (a replayed proof).
 */
export async function recordProof(db: Queryable, sessionId: string, proof: DeviceProof): Promise<boolean> {
  const result = await db.query(
    `with seen as (${SEEN_JTI})
     update sessions set proof_at = now(), proof_network = $4 where id = $2 and device_key_thumbprint = $5 and exists (select 1 from seen)`,
    [sha256(proof.jti), sessionId, JTI_RETENTION_SEC, proof.network, proof.thumbprint]);
  return result.rowCount === 1;
}

/**
 * Binds a session that has no key yet to the proof's key (the first proof wins: `device_key_thumbprint is
 * null` in the same statement). False when it was bound already or the jti was replayed.
 */
export async function bindSession(db: Queryable, sessionId: string, proof: DeviceProof): Promise<boolean> {
  const result = await db.query(
    `with seen as (${SEEN_JTI})
     update sessions set device_key_thumbprint = $5, proof_at = now(), proof_network = $4
     where id = $2 and device_key_thumbprint is null and revoked_at is null and exists (select 1 from seen)`,
    [sha256(proof.jti), sessionId, JTI_RETENTION_SEC, proof.network, proof.thumbprint]);
  return result.rowCount === 1;
}

export async function purgeExpiredProofs(db: Queryable): Promise<void> {
  await db.query('delete from device_proof_jtis where expires_at <= now()');
}
