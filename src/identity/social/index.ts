// Koban's OpenID Connect relying party for social login. Framework-agnostic: the identity module owns the
// routes, the browser session and the transaction store, and calls these functions.
export { SocialLoginError, SOCIAL_LOGIN_ERROR_CODES, type SocialLoginErrorCode } from './errors.ts';
export {
  ALLOWED_ID_TOKEN_ALGS,
  type IdTokenSigningAlg,
  type SocialProviderConfig,
} from './provider-config.ts';
export { createProviderRegistry, type ProviderRegistry, type SocialProvider } from './provider-registry.ts';
export { startSocialLogin, type SocialLoginStart } from './start-login.ts';
export { finishSocialLogin, type SocialIdentity } from './finish-login.ts';
export { TRANSACTION_MAX_AGE_MS, type SocialLoginTransaction } from './transaction.ts';
