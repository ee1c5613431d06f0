import { decodeProtectedHeader } from 'jose';
import type { IDToken } from 'openid-client';
import { assert } from '../../platform/assert.ts';
import { SocialLoginError } from './errors.ts';
import { CLOCK_TOLERANCE_S, type SocialProvider } from './provider-registry.ts';
import type { SocialLoginTransaction } from './transaction.ts';

// OIDC Core §2: sub is at most 255 ASCII characters. Bounds the key we store as (iss, sub).
const SUBJECT_LENGTH_MAX = 255;
const CLOCK_TOLERANCE_MS = CLOCK_TOLERANCE_S * 1000;

// The §3.1.3.7 checks openid-client leaves to us. What it already does, after authorizationCodeGrant with
// expectedNonce and enableNonRepudiationChecks: signature against the issuer's JWKS, alg equal to the one
// pinned per provider (never none/HS*), iss exact, aud contains our client_id, azp present and ours when
// aud has several values, exp (30 s tolerance), nbf, iat present, sub a string, nonce exact.
function fail(reason: string): never {
  throw new SocialLoginError('id_token_invalid', { cause: new Error(reason) });
}

// Step 3: reject "additional audiences not trusted by the Client". We trust none besides ourselves.
function checkAudience(claims: IDToken, clientId: string): void {
  const audiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  if (audiences.length === 0 || audiences.some((audience) => audience !== clientId)) fail('untrusted audience');
}

// Step 5 (errata 2): if azp is present it must be our client_id, even with a single audience.
function checkAuthorizedParty(claims: IDToken, clientId: string): void {
  if (claims.azp !== undefined && claims.azp !== clientId) fail('azp is not our client');
}

// Step 10: openid-client only checks that iat is a number. The token answers this transaction, so it
// cannot be issued before the transaction started, nor in the future.
function checkIssuedAt(claims: IDToken, transaction: SocialLoginTransaction, nowMs: number): void {
  const issuedAtMs = claims.iat * 1000;
  if (issuedAtMs < transaction.createdAtMs - CLOCK_TOLERANCE_MS) fail('iat before the login started');
  if (issuedAtMs > nowMs + CLOCK_TOLERANCE_MS) fail('iat in the future');
}

function checkSubject(claims: IDToken): void {
  if (claims.sub.length === 0 || claims.sub.length > SUBJECT_LENGTH_MAX) fail('sub length');
}

// RFC 8725 §3.11 / §2.8 of OIDC Back-Channel Logout: a JWT made for another use (a logout token
// `logout+jwt`, an access token `at+jwt`, a security event `secevent+jwt`…) must never pass as an ID
// token, even when the same issuer signed it with the same key. OIDC sets no typ for ID tokens, so
// only none or "JWT" are accepted. openid-client has no option for this, so the header is read with
// jose after openid-client verified the signature (enableNonRepudiationChecks).
const ID_TOKEN_TYPES: ReadonlySet<string> = new Set(['jwt', 'application/jwt']);
// Claims that only other token types carry: `events` (logout tokens, security event tokens), and
// RFC 9068 access tokens' `client_id` + `scope` together.
function checkTokenUse(idToken: string, claims: IDToken): void {
  const { typ } = decodeProtectedHeader(idToken);
  if (typ !== undefined && !ID_TOKEN_TYPES.has(typ.toLowerCase())) fail(`typ ${typ} is not an ID token`);
  if (claims.events !== undefined) fail('a token with events is a logout or security event token');
  if (claims.client_id !== undefined && claims.scope !== undefined) fail('a token with client_id and scope is an access token');
}

export function checkIdTokenClaims(
  idToken: string,
  claims: IDToken,
  provider: SocialProvider,
  transaction: SocialLoginTransaction,
  nowMs: number,
): void {
  // Postcondition of openid-client (exact iss match); a difference here would be a library bug.
  assert(claims.iss === provider.issuer, 'openid-client returned an ID token from another issuer');
  checkTokenUse(idToken, claims);
  checkAudience(claims, provider.clientId);
  checkAuthorizedParty(claims, provider.clientId);
  checkIssuedAt(claims, transaction, nowMs);
  checkSubject(claims);
}
