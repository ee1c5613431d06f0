import type { AccountStore } from './accounts.ts';
import { renderErrorPage } from './html.ts';
import type { ClientMetadata, Configuration, Grant, Jwk, KoaContextWithOIDC } from 'oidc-provider';
import type { DevIdpSigningAlg } from './keys.ts';

export type DevIdpClient = { client_id: string; client_secret: string; redirect_uris: string[] };

export const CLIENTS_MAX = 20;
// The scopes every configured client is granted without a consent screen (see loadExistingGrant below).
export const GRANTED_SCOPE = 'openid email profile';

// Short lifetimes: codes are single-use and should be redeemed within seconds (RFC 9700, FAPI 2.0 ≤60 s).
const TTL_SECONDS = {
  AuthorizationCode: 60,
  AccessToken: 10 * 60,
  IdToken: 10 * 60,
  Interaction: 10 * 60,
  Session: 60 * 60,
  Grant: 60 * 60,
};

function toClientMetadata(client: DevIdpClient, alg: DevIdpSigningAlg): ClientMetadata {
  return {
    client_id: client.client_id,
    client_secret: client.client_secret,
    redirect_uris: [...client.redirect_uris],
    grant_types: ['authorization_code'],
    response_types: ['code'],
    // openid-client's default client authentication is client_secret_post; LINE also uses it.
    token_endpoint_auth_method: 'client_secret_post',
    id_token_signed_response_alg: alg,
  };
}

// Consent policy (documented choice): every client registered with the dev IdP stands in for Koban
// itself, so openid/email/profile are granted on first login instead of showing a consent screen,
// the "first-party client" pattern from oidc-provider's loadExistingGrant documentation.
async function loadExistingGrant(ctx: KoaContextWithOIDC): Promise<Grant | undefined> {
  const { client, session, result, provider } = ctx.oidc;
  if (client === undefined || session?.accountId === undefined) return undefined;
  const grantId = result?.consent?.grantId ?? session.grantIdFor(client.clientId);
  const existing = grantId === undefined ? undefined : await provider.Grant.find(grantId);
  if (existing !== undefined) return existing;
  const grant = new provider.Grant({ accountId: session.accountId, clientId: client.clientId });
  grant.addOIDCScope(GRANTED_SCOPE);
  await grant.save();
  return grant;
}

export type ConfigurationInput = {
  clients: readonly DevIdpClient[];
  signingJwk: Jwk;
  signingAlg: DevIdpSigningAlg;
  cookieKeys: string[];
  accounts: AccountStore;
};

export function buildConfiguration(input: ConfigurationInput): Configuration {
  return {
    clients: input.clients.map((client) => toClientMetadata(client, input.signingAlg)),
    jwks: { keys: [input.signingJwk] },
    cookies: { keys: input.cookieKeys },
    // devInteractions accepts any login and any password: it must never be on, even in development.
    features: {
      devInteractions: { enabled: false },
      userinfo: { enabled: true },
      revocation: { enabled: false },
      introspection: { enabled: false },
      registration: { enabled: false },
      rpInitiatedLogout: { enabled: false },
    },
    // PKCE for every client, not only public ones (oidc-provider's default); oidc-provider accepts S256 only.
    pkce: { required: () => true },
    responseTypes: ['code'],
    scopes: ['openid', 'email', 'profile'],
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
    // Put email/name into the ID token itself (as LINE and Google do) so the RP needs no userinfo call.
    conformIdTokenClaims: false,
    clientDefaults: { grant_types: ['authorization_code'], response_types: ['code'] },
    enabledJWA: { idTokenSigningAlgValues: [input.signingAlg] },
    ttl: TTL_SECONDS,
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    findAccount: async (_ctx, sub) => input.accounts.findAccount(sub),
    loadExistingGrant,
    issueRefreshToken: () => false,
    // Our escaped page instead of oidc-provider's default; the OAuth error code is enough for a developer.
    renderError: (ctx, out) => {
      ctx.type = 'html';
      ctx.body = renderErrorPage(`Sign-in error: ${out.error}. Start again from the app.`);
    },
  };
}
