import * as oidc from 'openid-client';
import { SocialLoginError } from './errors.ts';

// oauth4webapi codes (carried by openid-client's ClientError) that mean "the token response or its ID
// token did not validate": wrong alg, bad signature, unknown key, claim or timestamp checks, bad JSON.
const ID_TOKEN_FAILURES: ReadonlySet<string> = new Set([
  'OAUTH_INVALID_RESPONSE',
  'OAUTH_PARSE_ERROR',
  'OAUTH_JWT_CLAIM_COMPARISON_FAILED',
  'OAUTH_JWT_TIMESTAMP_CHECK_FAILED',
  'OAUTH_KEY_SELECTION_FAILED',
  'OAUTH_UNSUPPORTED_OPERATION',
]);
const CAUSE_DEPTH_MAX = 4;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

// The failing claim's name sits a few `cause` levels down (ClientError → OperationProcessingError → details).
function failedClaim(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < CAUSE_DEPTH_MAX && isObject(current); depth++) {
    if (typeof current.claim === 'string') return current.claim;
    current = current.cause;
  }
  return undefined;
}

function fromClientError(error: oidc.ClientError): SocialLoginError {
  if (error.code === 'OAUTH_JWT_CLAIM_COMPARISON_FAILED' && failedClaim(error) === 'nonce') {
    return new SocialLoginError('nonce_mismatch', { cause: error });
  }
  if (error.code !== undefined && ID_TOKEN_FAILURES.has(error.code)) {
    return new SocialLoginError('id_token_invalid', { cause: error });
  }
  return new SocialLoginError('provider_error', { cause: error });
}

// Everything openid-client (or fetch) throws becomes one of our codes; the original is kept as `cause`.
export function mapLibraryError(error: unknown): SocialLoginError {
  if (error instanceof SocialLoginError) return error;
  // invalid_grant covers a replayed, expired or unknown code and a wrong or missing PKCE verifier.
  if (error instanceof oidc.ResponseBodyError) {
    return new SocialLoginError(error.error === 'invalid_grant' ? 'code_rejected' : 'provider_error', { cause: error });
  }
  if (error instanceof oidc.ClientError) return fromClientError(error);
  // AuthorizationResponseError, WWW-Authenticate challenges, network failures and timeouts.
  return new SocialLoginError('provider_error', { cause: error });
}
