import * as oidc from 'openid-client';
import { assert } from '../../platform/assert.ts';
import type { SocialProvider } from './provider-registry.ts';
import type { SocialLoginTransaction } from './transaction.ts';

export type SocialLoginStart = {
  // Send the browser here (303). Contains only public values: the PKCE challenge, state and nonce.
  readonly authorizationUrl: URL;
  // Store server-side, bound to the browser session, single use (see transaction.ts).
  readonly transaction: SocialLoginTransaction;
};

// The request Koban sends is fixed: code flow, PKCE S256, fresh state and nonce every time (FED-01).
// Nothing here is taken from the caller, so no caller can ask for implicit flow or PKCE "plain".
export async function startSocialLogin(provider: SocialProvider, nowMs: number): Promise<SocialLoginStart> {
  assert(Number.isSafeInteger(nowMs) && nowMs > 0, 'nowMs');
  const codeVerifier = oidc.randomPKCECodeVerifier();
  const codeChallenge = await oidc.calculatePKCECodeChallenge(codeVerifier);
  const state = oidc.randomState();
  const nonce = oidc.randomNonce();
  const authorizationUrl = oidc.buildAuthorizationUrl(provider.client, {
    redirect_uri: provider.redirectUri.href,
    response_type: 'code',
    scope: provider.scopes.join(' '),
    code_challenge: codeChallenge,
    code_challenge_method: 'S256',
    state,
    nonce,
  });
  // Postcondition: the URL really carries S256 PKCE and the values we are about to store.
  const sent = authorizationUrl.searchParams;
  assert(sent.get('code_challenge_method') === 'S256', 'authorization request must use PKCE S256');
  assert(sent.get('code_challenge') === codeChallenge, 'authorization request must carry our code challenge');
  assert(sent.get('state') === state && sent.get('nonce') === nonce, 'authorization request must carry state and nonce');
  assert(sent.get('response_type') === 'code', 'authorization request must use the code flow');
  const transaction = Object.freeze({ providerId: provider.id, state, nonce, codeVerifier, createdAtMs: nowMs });
  return Object.freeze({ authorizationUrl, transaction });
}
