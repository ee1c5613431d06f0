// oidc-provider 9 ships no type declarations and @types/oidc-provider is not a dependency.
// This declares only the surface the dev IdP uses, so a typo in a configuration key is a type error
// instead of a silently ignored option (oidc-provider falls back to its defaults for unknown keys).
declare module 'oidc-provider' {
  import type { IncomingMessage, ServerResponse } from 'node:http';

  export type ClientMetadata = {
    client_id: string;
    client_secret: string;
    redirect_uris: string[];
    grant_types: string[];
    response_types: string[];
    token_endpoint_auth_method: 'client_secret_post' | 'client_secret_basic';
    id_token_signed_response_alg: string;
  };

  export type Jwk = { kty: string; kid?: string; alg?: string; use?: string; [member: string]: unknown };

  export type ClaimsRecord = Record<string, unknown> & { sub: string };

  export type Account = {
    accountId: string;
    claims(use: string, scope: string): Promise<ClaimsRecord> | ClaimsRecord;
  };

  export type Grant = {
    readonly jti: string;
    addOIDCScope(scope: string): void;
    save(): Promise<string>;
  };

  export type GrantConstructor = {
    new (properties: { accountId: string; clientId: string }): Grant;
    find(id: string): Promise<Grant | undefined>;
  };

  export type OidcSession = {
    readonly accountId?: string;
    grantIdFor(clientId: string): string | undefined;
  };

  export type KoaContextWithOIDC = {
    type: string;
    body: unknown;
    oidc: {
      readonly provider: Provider;
      readonly client?: { readonly clientId: string };
      readonly session?: OidcSession;
      readonly result?: { consent?: { grantId?: string } };
    };
  };

  export type Interaction = {
    readonly uid: string;
    readonly prompt: { readonly name: string; readonly reasons: readonly string[] };
    readonly params: Readonly<Record<string, unknown>>;
    readonly returnTo: string;
  };

  export type InteractionResults =
    | { login: { accountId: string } }
    | { error: string; error_description?: string };

  export type TtlSeconds = number;

  export type Configuration = {
    clients: ClientMetadata[];
    jwks: { keys: Jwk[] };
    cookies: { keys: string[] };
    features: {
      devInteractions: { enabled: boolean };
      userinfo?: { enabled: boolean };
      revocation?: { enabled: boolean };
      introspection?: { enabled: boolean };
      registration?: { enabled: boolean };
      rpInitiatedLogout?: { enabled: boolean };
    };
    pkce: { required: () => boolean };
    responseTypes: string[];
    scopes: string[];
    claims: Record<string, string[] | null>;
    conformIdTokenClaims: boolean;
    clientDefaults: Partial<ClientMetadata>;
    enabledJWA: { idTokenSigningAlgValues: string[] };
    ttl: Record<string, TtlSeconds>;
    interactions: { url: (ctx: KoaContextWithOIDC, interaction: Interaction) => string | Promise<string> };
    findAccount: (ctx: KoaContextWithOIDC, sub: string) => Promise<Account | undefined>;
    loadExistingGrant: (ctx: KoaContextWithOIDC) => Promise<Grant | undefined>;
    issueRefreshToken?: () => boolean;
    renderError: (ctx: KoaContextWithOIDC, out: { error: string; error_description?: string }, error: unknown) => void;
  };

  export type NodeHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void> | void;

  export class Provider {
    constructor(issuer: string, configuration: Configuration);
    readonly issuer: string;
    readonly Grant: GrantConstructor;
    callback(): NodeHandler;
    interactionDetails(req: IncomingMessage, res: ServerResponse): Promise<Interaction>;
    interactionFinished(
      req: IncomingMessage,
      res: ServerResponse,
      result: InteractionResults,
      options?: { mergeWithLastSubmission?: boolean },
    ): Promise<void>;
    on(event: string, listener: (...args: unknown[]) => void): this;
  }

  export default Provider;
}
