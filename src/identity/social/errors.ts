// The only failures social login reports to its callers. Each code is stable; the message is ours and
// carries no library text, provider response or token content. The original error stays on `cause`
// (a non-enumerable property, so JSON.stringify of the error never includes it) for server-side logs.
export const SOCIAL_LOGIN_ERROR_CODES = [
  // Unknown provider id, e.g. from the URL of the callback route.
  'provider_unknown',
  // Discovery, network, timeout or an error response from the provider's authorization endpoint.
  'provider_error',
  // The callback URL is not our redirect URI, or it is malformed (repeated parameters, implicit-flow tokens).
  'callback_invalid',
  // The callback does not belong to the stored transaction: state missing or different, or another provider.
  'state_mismatch',
  // The login transaction is older than its limit (or its timestamp is in the future).
  'transaction_expired',
  // No code, or the token endpoint refused it: replayed, expired, wrong PKCE verifier, wrong client.
  'code_rejected',
  // The token response or its ID token failed validation (signature, alg, iss, aud, azp, exp, iat, sub).
  'id_token_invalid',
  // The ID token nonce differs from the one stored with the transaction.
  'nonce_mismatch',
] as const;

export type SocialLoginErrorCode = (typeof SOCIAL_LOGIN_ERROR_CODES)[number];

const MESSAGES: Readonly<Record<SocialLoginErrorCode, string>> = {
  provider_unknown: 'unknown social login provider',
  provider_error: 'the identity provider could not complete the login',
  callback_invalid: 'the login callback is not valid',
  state_mismatch: 'the login callback does not match this login attempt',
  transaction_expired: 'the login attempt has expired',
  code_rejected: 'the authorization code was not accepted',
  id_token_invalid: 'the identity provider returned an invalid ID token',
  nonce_mismatch: 'the ID token does not belong to this login attempt',
};

export class SocialLoginError extends Error {
  override readonly name = 'SocialLoginError';
  readonly code: SocialLoginErrorCode;

  constructor(code: SocialLoginErrorCode, options?: { cause?: unknown }) {
    super(MESSAGES[code], options);
    this.code = code;
  }
}
