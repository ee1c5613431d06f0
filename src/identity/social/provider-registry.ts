import * as oidc from 'openid-client';
import { ConfigError } from '../../platform/config.ts';
import { SocialLoginError } from './errors.ts';
import {
  assertProviderSet,
  DEFAULT_ID_TOKEN_ALG,
  DEFAULT_SCOPES,
  insecureUrlProblem,
  type IdTokenSigningAlg,
  type SocialProviderConfig,
} from './provider-config.ts';

// A provider after discovery. `client` is openid-client's configuration; only this module's files use it.
export type SocialProvider = {
  readonly id: string;
  readonly issuer: string;
  readonly clientId: string;
  readonly redirectUri: URL;
  readonly scopes: readonly string[];
  readonly idTokenSigningAlg: IdTokenSigningAlg;
  // RFC 9207: the provider promises an `iss` parameter on every authorization response.
  readonly requiresIssParameter: boolean;
  readonly client: oidc.Configuration;
};

export type ProviderRegistry = {
  ids(): readonly string[];
  get(id: string, nowMs: number): Promise<SocialProvider>;
};

// Metadata changes rarely; re-discovering hourly picks up endpoint moves without a restart.
// (Signing keys are refreshed separately by openid-client's JWKS cache, at most every 5 minutes.)
export const DISCOVERY_TTL_MS = 60 * 60 * 1000;
// Applies to discovery and to every later request made with the configuration (token, JWKS).
export const HTTP_TIMEOUT_S = 10;
// exp/nbf tolerance used by openid-client; the same 30 s bounds our own iat check.
export const CLOCK_TOLERANCE_S = 30;

// The checks openid-client does not make on the discovered metadata. A mismatch means our configuration
// and the provider disagree; it surfaces as provider_error with this ConfigError as the cause.
function assertServerMetadata(config: SocialProviderConfig, metadata: oidc.ServerMetadata, alg: IdTokenSigningAlg) {
  const insecure = config.allowInsecureHttp === true;
  const endpoints = [metadata.authorization_endpoint, metadata.token_endpoint, metadata.jwks_uri];
  const pkceMethods = metadata.code_challenge_methods_supported;
  const problems = [
    ...endpoints.map((endpoint) =>
      endpoint === undefined ? 'discovery lacks an endpoint' : insecureUrlProblem(new URL(endpoint), insecure, 'endpoint'),
    ),
    // We pin one alg per provider; a provider that does not advertise it would sign with something else.
    metadata.id_token_signing_alg_values_supported?.includes(alg) === true ? undefined : `does not offer ${alg}`,
    metadata.response_types_supported?.includes('code') === false ? 'no code flow' : undefined,
    pkceMethods === undefined || pkceMethods.includes('S256') ? undefined : 'no PKCE S256',
  ].filter((problem) => problem !== undefined);
  if (problems.length > 0) throw new ConfigError(problems.map((problem) => `provider ${config.id}: ${problem}`));
}

async function discover(config: SocialProviderConfig): Promise<SocialProvider> {
  const alg = config.idTokenSigningAlg ?? DEFAULT_ID_TOKEN_ALG;
  // enableNonRepudiationChecks makes openid-client verify the ID token signature against the issuer's
  // JWKS. By default it does not: it trusts TLS to the token endpoint (OIDC Core §3.1.3.7 step 6).
  const execute = config.allowInsecureHttp === true
    ? [oidc.allowInsecureRequests, oidc.enableNonRepudiationChecks]
    : [oidc.enableNonRepudiationChecks];
  const client = await oidc.discovery(
    config.issuer,
    config.clientId,
    // id_token_signed_response_alg makes openid-client require exactly this alg in the ID token header.
    { id_token_signed_response_alg: alg, [oidc.clockTolerance]: CLOCK_TOLERANCE_S },
    oidc.ClientSecretPost(config.clientSecret),
    { execute, timeout: HTTP_TIMEOUT_S },
  );
  const metadata = client.serverMetadata();
  assertServerMetadata(config, metadata, alg);
  return Object.freeze({
    id: config.id,
    issuer: metadata.issuer,
    clientId: config.clientId,
    redirectUri: new URL(config.redirectUri.href),
    scopes: Object.freeze([...(config.scopes ?? DEFAULT_SCOPES)]),
    idTokenSigningAlg: alg,
    requiresIssParameter: metadata.authorization_response_iss_parameter_supported === true,
    client,
  });
}

type CacheEntry = { provider: Promise<SocialProvider>; fetchedAtMs: number };

export function createProviderRegistry(configs: readonly SocialProviderConfig[]): ProviderRegistry {
  assertProviderSet(configs);
  const byId = new Map(configs.map((config) => [config.id, config]));
  const cache = new Map<string, CacheEntry>();

  function load(config: SocialProviderConfig, nowMs: number): CacheEntry {
    const entry: CacheEntry = {
      provider: discover(config).catch((cause: unknown) => {
        // A failed discovery is not cached: the next login retries instead of failing for an hour.
        if (cache.get(config.id) === entry) cache.delete(config.id);
        throw new SocialLoginError('provider_error', { cause });
      }),
      fetchedAtMs: nowMs,
    };
    cache.set(config.id, entry);
    return entry;
  }

  return {
    ids: () => [...byId.keys()],
    get(id, nowMs) {
      const config = byId.get(id);
      if (config === undefined) return Promise.reject(new SocialLoginError('provider_unknown'));
      const cached = cache.get(id);
      const fresh = cached !== undefined && nowMs - cached.fetchedAtMs < DISCOVERY_TTL_MS;
      return (fresh ? cached : load(config, nowMs)).provider;
    },
  };
}
