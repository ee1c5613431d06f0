import * as oidc from 'openid-client';
import { assert } from '../../platform/assert.ts';
import { checkCallback } from './callback-checks.ts';
import { SocialLoginError } from './errors.ts';
import { checkIdTokenClaims } from './id-token-policy.ts';
import { mapLibraryError } from './map-library-error.ts';
import type { SocialProvider } from './provider-registry.ts';
import { assertTransactionShape, checkTransactionAge, type SocialLoginTransaction } from './transaction.ts';

// The external identity. The key is (issuer, subject) and nothing else (FED-05): email and name are
// display data that a provider may let users change or reuse, never a reason to link accounts (LINK-02).
export type SocialIdentity = {
  readonly issuer: string;
  readonly subject: string;
  readonly email?: string;
  // Only a JSON boolean counts; absent means "not verified".
  readonly emailVerified?: boolean;
  readonly name?: string;
  // What the provider proved about the login, for LINK-05 (AAL of social login) and LINK-01 freshness.
  readonly authenticatedAtMs?: number;
  readonly acr?: string;
  readonly amr?: readonly string[];
};

async function redeemCode(provider: SocialProvider, transaction: SocialLoginTransaction, currentUrl: URL) {
  try {
    // Server-side redemption at the token endpoint, with the PKCE verifier only this server holds (FED-04).
    return await oidc.authorizationCodeGrant(provider.client, currentUrl, {
      pkceCodeVerifier: transaction.codeVerifier,
      expectedState: transaction.state,
      expectedNonce: transaction.nonce,
      idTokenExpected: true,
    });
  } catch (error) {
    throw mapLibraryError(error);
  }
}

function optionalString(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

// Absent claims stay absent (no `email: undefined`), so `'email' in identity` means the provider sent one.
function toIdentity(claims: oidc.IDToken): SocialIdentity {
  const email = optionalString(claims.email);
  const name = optionalString(claims.name);
  const acr = optionalString(claims.acr);
  const amr = Array.isArray(claims.amr) ? claims.amr.filter((value) => typeof value === 'string') : undefined;
  return Object.freeze({
    issuer: claims.iss,
    subject: claims.sub,
    ...(email !== undefined && { email }),
    ...(typeof claims.email_verified === 'boolean' && { emailVerified: claims.email_verified }),
    ...(name !== undefined && { name }),
    ...(typeof claims.auth_time === 'number' && { authenticatedAtMs: claims.auth_time * 1000 }),
    ...(acr !== undefined && { acr }),
    ...(amr !== undefined && { amr: Object.freeze(amr) }),
  });
}

// Completes a login started by startSocialLogin. `transaction` must already have been taken (deleted) from
// the session's server-side store; `callbackUrl` is the full URL the browser was redirected to.
// `nowMs` drives our own time checks (transaction age, iat); openid-client checks exp/nbf against the
// system clock, so pass Date.now() outside tests.
export async function finishSocialLogin(
  provider: SocialProvider,
  transaction: SocialLoginTransaction,
  callbackUrl: URL,
  nowMs: number,
): Promise<SocialIdentity> {
  assertTransactionShape(transaction);
  // A transaction started for another provider must not be completed here (mix-up defence).
  if (transaction.providerId !== provider.id) throw new SocialLoginError('state_mismatch');
  checkTransactionAge(transaction, nowMs);
  const currentUrl = checkCallback(provider, transaction, callbackUrl);
  const tokens = await redeemCode(provider, transaction, currentUrl);
  const claims = tokens.claims();
  // idTokenExpected makes openid-client fail without an ID token; assert it rather than trust it silently.
  assert(claims !== undefined && typeof tokens.id_token === 'string', 'openid-client returned no ID token');
  checkIdTokenClaims(tokens.id_token, claims, provider, transaction, nowMs);
  return toIdentity(claims);
}
