import { ConfigError } from '../../platform/config.ts';

// ID token signature algorithms Koban accepts from any provider. Never `none` (OIDC Core §2) and never
// HS*: an HMAC key is the client secret, which is not proof that the provider signed anything (RFC 8725 §3.1).
export const ALLOWED_ID_TOKEN_ALGS = ['RS256', 'ES256', 'EdDSA'] as const;
export type IdTokenSigningAlg = (typeof ALLOWED_ID_TOKEN_ALGS)[number];

// Google and Apple sign with RS256; set ES256 for issuers that use it (e.g. LINE's SDK tokens).
export const DEFAULT_ID_TOKEN_ALG: IdTokenSigningAlg = 'RS256';
export const DEFAULT_SCOPES: readonly string[] = ['openid', 'email', 'profile'];
export const SCOPES_MAX = 10;
export const PROVIDERS_MAX = 16;

export type SocialProviderConfig = {
  // Stable key for the provider in Koban ("line", "google", "apple", "dev"); part of the callback route.
  id: string;
  // The issuer identifier; discovery must return exactly this issuer (FED-07).
  issuer: URL;
  clientId: string;
  clientSecret: string;
  // Our callback for this provider. Distinct per provider, the RFC 9700 §4.4.2 mix-up fallback (FED-02).
  redirectUri: URL;
  // The one algorithm this provider's ID tokens must use; must be advertised in its discovery document.
  idTokenSigningAlg?: IdTokenSigningAlg;
  scopes?: readonly string[];
  // Development only: lets a loopback (127.0.0.1, ::1, localhost) provider be reached over plain http.
  allowInsecureHttp?: boolean;
};

const PROVIDER_ID = /^[a-z][a-z0-9-]{0,31}$/;
// RFC 6749 §3.3 scope-token characters.
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]{1,64}$/;
const LOOPBACK_HOSTS: ReadonlySet<string> = new Set(['127.0.0.1', '[::1]', 'localhost']);
const CLIENT_SECRET_LENGTH_MIN = 16;
const CLIENT_ID_LENGTH_MAX = 255;

export function isLoopback(url: URL): boolean {
  return LOOPBACK_HOSTS.has(url.hostname);
}

// https everywhere; plain http only when the dev flag is set and the host is this machine, so the flag
// cannot downgrade a real provider if it leaks into a production configuration.
export function insecureUrlProblem(url: URL, allowInsecureHttp: boolean, what: string): string | undefined {
  if (url.protocol === 'https:') return undefined;
  if (url.protocol !== 'http:') return `${what} must use https`;
  if (!allowInsecureHttp || !isLoopback(url)) return `${what} may use http only with allowInsecureHttp on a loopback host`;
  return undefined;
}

function scopeProblems(scopes: readonly string[], id: string): string[] {
  const problems: string[] = [];
  if (scopes.length === 0 || scopes.length > SCOPES_MAX) problems.push(`provider ${id}: 1..${SCOPES_MAX} scopes`);
  if (!scopes.includes('openid')) problems.push(`provider ${id}: scopes must include openid`);
  for (const scope of scopes) {
    if (!SCOPE_TOKEN.test(scope)) problems.push(`provider ${id}: invalid scope ${scope}`);
  }
  return problems;
}

function urlProblems(config: SocialProviderConfig): Array<string | undefined> {
  const insecure = config.allowInsecureHttp === true;
  const { id, issuer, redirectUri } = config;
  return [
    insecureUrlProblem(issuer, insecure, `provider ${id} issuer`),
    issuer.search !== '' || issuer.hash !== '' ? `provider ${id}: issuer must have no query or fragment` : undefined,
    // openid-client skips its issuer comparison when handed a /.well-known/ URL directly.
    issuer.pathname.includes('/.well-known/') ? `provider ${id}: give the issuer, not its metadata URL` : undefined,
    insecureUrlProblem(redirectUri, insecure, `provider ${id} redirect URI`),
    redirectUri.search !== '' || redirectUri.hash !== '' ? `provider ${id}: redirect URI must be a plain path` : undefined,
  ];
}

export function providerConfigProblems(config: SocialProviderConfig): string[] {
  const { id } = config;
  if (!PROVIDER_ID.test(id)) return [`provider id ${JSON.stringify(id)} must match ${PROVIDER_ID}`];
  const alg = config.idTokenSigningAlg ?? DEFAULT_ID_TOKEN_ALG;
  const problems = [
    ...urlProblems(config),
    config.clientId.length === 0 || config.clientId.length > CLIENT_ID_LENGTH_MAX ? `provider ${id}: clientId length` : undefined,
    config.clientSecret.length < CLIENT_SECRET_LENGTH_MIN ? `provider ${id}: clientSecret too short` : undefined,
    (ALLOWED_ID_TOKEN_ALGS as readonly string[]).includes(alg) ? undefined : `provider ${id}: ID token alg ${alg} not allowed`,
    ...scopeProblems(config.scopes ?? DEFAULT_SCOPES, id),
  ];
  return problems.filter((problem) => problem !== undefined);
}

// Every problem in the provider list is reported at once, at startup, like the rest of Koban's config.
export function assertProviderSet(configs: readonly SocialProviderConfig[]): void {
  const problems = configs.flatMap(providerConfigProblems);
  if (configs.length === 0 || configs.length > PROVIDERS_MAX) problems.push(`1..${PROVIDERS_MAX} social providers`);
  if (new Set(configs.map((config) => config.id)).size !== configs.length) problems.push('social provider ids must be unique');
  if (new Set(configs.map((config) => config.redirectUri.href)).size !== configs.length) {
    problems.push('each social provider needs its own redirect URI (mix-up defence)');
  }
  if (problems.length > 0) throw new ConfigError(problems);
}
