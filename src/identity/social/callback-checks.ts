import { timingSafeEqual } from 'node:crypto';
import { SocialLoginError } from './errors.ts';
import type { SocialProvider } from './provider-registry.ts';
import type { SocialLoginTransaction } from './transaction.ts';

// Authorization-response parameters that must appear at most once; a repeated one is ambiguous.
const SINGLE_VALUED = ['code', 'state', 'iss', 'error'] as const;
// Koban never uses the implicit or hybrid flow, so a token in the callback can only be an injection.
const TOKEN_PARAMETERS = ['id_token', 'access_token', 'token'] as const;

function sameSecret(presented: string, expected: string): boolean {
  const a = Buffer.from(presented);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

function assertOurRedirectUri(provider: SocialProvider, callbackUrl: URL): void {
  const expected = provider.redirectUri;
  if (callbackUrl.origin !== expected.origin || callbackUrl.pathname !== expected.pathname) {
    throw new SocialLoginError('callback_invalid');
  }
}

function assertWellFormed(params: URLSearchParams): void {
  for (const name of SINGLE_VALUED) {
    if (params.getAll(name).length > 1) throw new SocialLoginError('callback_invalid');
  }
  for (const name of TOKEN_PARAMETERS) {
    if (params.has(name)) throw new SocialLoginError('callback_invalid');
  }
}

// RFC 9207 mix-up defence (FED-02): when present, `iss` must be this provider's issuer exactly.
function assertIssuer(provider: SocialProvider, params: URLSearchParams): void {
  const iss = params.get('iss');
  if (iss === null ? provider.requiresIssParameter : iss !== provider.issuer) {
    throw new SocialLoginError('callback_invalid');
  }
}

// openid-client makes the state, iss and error checks as well, before it redeems anything. Checking
// first gives the caller a precise error code; the library's checks stay as the second layer.
// Returns the URL to hand to the library: our configured redirect URI plus the callback's query, so the
// redirect_uri sent to the token endpoint never depends on request headers such as Host.
export function checkCallback(provider: SocialProvider, transaction: SocialLoginTransaction, callbackUrl: URL): URL {
  assertOurRedirectUri(provider, callbackUrl);
  const params = callbackUrl.searchParams;
  assertWellFormed(params);
  const state = params.get('state');
  if (state === null || !sameSecret(state, transaction.state)) throw new SocialLoginError('state_mismatch');
  assertIssuer(provider, params);
  const error = params.get('error');
  if (error !== null) throw new SocialLoginError('provider_error', { cause: { error } });
  // No code means nothing can be redeemed: an identity never comes from other callback parameters.
  if ((params.get('code') ?? '') === '') throw new SocialLoginError('code_rejected');
  const url = new URL(provider.redirectUri.href);
  url.search = params.toString();
  return url;
}
