// Test-only malicious OpenID provider: a real HTTP server with its own discovery document, JWKS and a token
// endpoint that answers with whatever ID token the current test crafts. It lets the tests play the
// attacker who controls (or impersonates) the token response, which the real dev IdP never would.
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  exportJWK,
  generateKeyPair,
  SignJWT,
  UnsecuredJWT,
  type CryptoKey,
  type JWK,
  type JWTPayload,
} from 'jose';

export type TokenRequest = { readonly body: URLSearchParams };
export type TokenResponder = (request: TokenRequest) => Promise<Record<string, unknown>> | Record<string, unknown>;

export type EvilProviderOptions = {
  // Lie about the issuer in the discovery document (FED-07 test).
  discoveryIssuer?: string;
  idTokenSigningAlgs?: string[];
};

export type EvilProvider = {
  readonly issuer: string;
  readonly tokenRequests: TokenRequest[];
  respondWith(responder: TokenResponder): void;
  /** `typ` replaces the header's "JWT" (null leaves it out): token-type confusion tests. */
  signRs256(claims: JWTPayload, key?: 'published' | 'unpublished', typ?: string | null): Promise<string>;
  signEs256(claims: JWTPayload): Promise<string>;
  signHs256(claims: JWTPayload, secret: string): Promise<string>;
  unsigned(claims: JWTPayload): string;
  close(): Promise<void>;
};

const BODY_BYTES_MAX = 8192;
const RSA_KID = 'evil-rsa';
const EC_KID = 'evil-ec';

type Keys = { rsa: CryptoKeyPair; ec: CryptoKeyPair; rogue: CryptoKeyPair };
type CryptoKeyPair = { privateKey: CryptoKey; publicKey: CryptoKey };

async function publicJwk(key: CryptoKey, kid: string, alg: string): Promise<JWK> {
  return { ...(await exportJWK(key)), kid, alg, use: 'sig' };
}

async function readBody(req: IncomingMessage): Promise<URLSearchParams> {
  let text = '';
  for await (const chunk of req) {
    text += String(chunk);
    assert(text.length <= BODY_BYTES_MAX, 'token request too large');
  }
  return new URLSearchParams(text);
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.statusCode = status;
  res.setHeader('content-type', 'application/json');
  res.setHeader('cache-control', 'no-store');
  res.end(JSON.stringify(body));
}

function discoveryDocument(issuer: string, options: EvilProviderOptions) {
  return {
    issuer: options.discoveryIssuer ?? issuer,
    authorization_endpoint: `${issuer}/auth`,
    token_endpoint: `${issuer}/token`,
    jwks_uri: `${issuer}/jwks`,
    response_types_supported: ['code'],
    subject_types_supported: ['public'],
    code_challenge_methods_supported: ['S256'],
    token_endpoint_auth_methods_supported: ['client_secret_post'],
    // Advertise the dangerous algorithms too: the RP must not take the provider's word for what is safe.
    id_token_signing_alg_values_supported: options.idTokenSigningAlgs ?? ['RS256', 'ES256', 'HS256', 'none'],
  };
}

export async function startEvilProvider(options: EvilProviderOptions = {}): Promise<EvilProvider> {
  const keys: Keys = {
    rsa: await generateKeyPair('RS256'),
    ec: await generateKeyPair('ES256'),
    rogue: await generateKeyPair('RS256'),
  };
  const jwks = { keys: [await publicJwk(keys.rsa.publicKey, RSA_KID, 'RS256'), await publicJwk(keys.ec.publicKey, EC_KID, 'ES256')] };
  const tokenRequests: TokenRequest[] = [];
  let responder: TokenResponder = () => ({ error: 'invalid_grant' });
  let issuer = '';

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && path === '/.well-known/openid-configuration') return sendJson(res, 200, discoveryDocument(issuer, options));
    if (req.method === 'GET' && path === '/jwks') return sendJson(res, 200, jwks);
    if (req.method === 'POST' && path === '/token') {
      const request = { body: await readBody(req) };
      tokenRequests.push(request);
      const body = await responder(request);
      return sendJson(res, 'error' in body ? 400 : 200, body);
    }
    sendJson(res, 404, { error: 'not_found' });
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => sendJson(res, 500, { error: String(error) }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const sign = (claims: JWTPayload, alg: string, kid: string, key: CryptoKey | Uint8Array, typ: string | null = 'JWT') =>
    new SignJWT(claims).setProtectedHeader({ alg, kid, ...(typ === null ? {} : { typ }) }).sign(key);

  return {
    issuer,
    tokenRequests,
    respondWith(next) {
      responder = next;
    },
    // "unpublished" signs with a key that is not in the JWKS but claims the published key's kid.
    signRs256: (claims, key = 'published', typ = 'JWT') =>
      sign(claims, 'RS256', RSA_KID, key === 'published' ? keys.rsa.privateKey : keys.rogue.privateKey, typ),
    signEs256: (claims) => sign(claims, 'ES256', EC_KID, keys.ec.privateKey),
    signHs256: (claims, secret) => sign(claims, 'HS256', RSA_KID, new TextEncoder().encode(secret)),
    unsigned: (claims) => new UnsecuredJWT(claims).encode(),
    close: () =>
      new Promise((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}
