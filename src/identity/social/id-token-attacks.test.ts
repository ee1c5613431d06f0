// ID token tampering: a malicious token endpoint (test-support/evil-provider.ts) answers the code
// redemption with a crafted ID token. Each test names the attack; a control test first shows the harness
// can produce a token that is accepted, so every rejection below is caused by the one thing changed.
import type { JWTPayload } from 'jose';
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SocialLoginError, type SocialLoginErrorCode } from './errors.ts';
import { finishSocialLogin } from './finish-login.ts';
import { createProviderRegistry } from './provider-registry.ts';
import type { SocialProvider } from './provider-registry.ts';
import { startSocialLogin } from './start-login.ts';
import { startEvilProvider, type EvilProvider } from './test-support/evil-provider.ts';
import type { SocialLoginTransaction } from './transaction.ts';

const CLIENT_ID = 'koban-evil-test';
const CLIENT_SECRET = 'evil-test-secret-0123456789abcdefghij';
const REDIRECT_URI = new URL('http://127.0.0.1:9/v1/auth/social/evil/callback');

let evil: EvilProvider;
let provider: SocialProvider;

beforeAll(async () => {
  evil = await startEvilProvider();
  const registry = createProviderRegistry([
    {
      id: 'evil',
      issuer: new URL(evil.issuer),
      clientId: CLIENT_ID,
      clientSecret: CLIENT_SECRET,
      redirectUri: REDIRECT_URI,
      idTokenSigningAlg: 'RS256',
      allowInsecureHttp: true,
    },
  ]);
  provider = await registry.get('evil', Date.now());
});
afterAll(async () => {
  await evil?.close();
});

type Attempt = { transaction: SocialLoginTransaction; claims: JWTPayload };

// A fresh login whose well-formed claims each test then corrupts in exactly one way.
async function attempt(): Promise<Attempt> {
  const { transaction } = await startSocialLogin(provider, Date.now());
  const nowS = Math.floor(Date.now() / 1000);
  const claims = { iss: evil.issuer, sub: 'victim-123', aud: CLIENT_ID, iat: nowS, exp: nowS + 300, nonce: transaction.nonce };
  return { transaction, claims };
}

function callbackFor(transaction: SocialLoginTransaction, idToken: string | undefined): URL {
  evil.respondWith(() => ({
    access_token: 'evil-access-token',
    token_type: 'Bearer',
    expires_in: 300,
    ...(idToken !== undefined && { id_token: idToken }),
  }));
  const callback = new URL(REDIRECT_URI.href);
  callback.search = new URLSearchParams({ code: 'evil-code', state: transaction.state }).toString();
  return callback;
}

function finishWith(transaction: SocialLoginTransaction, idToken: string | undefined) {
  return finishSocialLogin(provider, transaction, callbackFor(transaction, idToken), Date.now());
}

async function expectRejected(promise: Promise<unknown>, code: SocialLoginErrorCode): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (rejection: unknown) => rejection,
  );
  expect(error).toBeInstanceOf(SocialLoginError);
  expect((error as SocialLoginError).code).toBe(code);
  // The library's reason stays available for logs.
  expect((error as SocialLoginError).cause).toBeDefined();
}

describe('ID token validation against a malicious token endpoint', () => {
  it('accepts a correctly signed token from the test provider (control for the tests below)', async () => {
    const { transaction, claims } = await attempt();
    const identity = await finishWith(transaction, await evil.signRs256(claims));
    expect(identity).toEqual({ issuer: evil.issuer, subject: 'victim-123' });
    const request = evil.tokenRequests.at(-1);
    // The code is redeemed server-side with our PKCE verifier and client secret (FED-04).
    expect(request?.body.get('code_verifier')).toBe(transaction.codeVerifier);
    expect(request?.body.get('client_secret')).toBe(CLIENT_SECRET);
  });

  it('accepts an ID token whose header has no typ (OIDC sets none), like one with typ JWT', async () => {
    const { transaction, claims } = await attempt();
    expect(await finishWith(transaction, await evil.signRs256(claims, 'published', null))).toEqual({ issuer: evil.issuer, subject: 'victim-123' });
  });

  it.each(['logout+jwt', 'application/logout+jwt', 'at+jwt', 'secevent+jwt', 'dpop+jwt', 'token-introspection+jwt'])(
    'rejects a token of another type passed off as an ID token (typ %s), though the issuer signed it', async (typ) => {
      const { transaction, claims } = await attempt();
      await expectRejected(finishWith(transaction, await evil.signRs256(claims, 'published', typ)), 'id_token_invalid');
    });

  it('rejects a back-channel logout token (events claim) whose header pretends to be a plain JWT', async () => {
    const { transaction, claims } = await attempt();
    const token = await evil.signRs256({ ...claims, events: { 'http://schemas.openid.net/event/backchannel-logout': {} }, sid: 'session-1' });
    await expectRejected(finishWith(transaction, token), 'id_token_invalid');
  });

  it('rejects an RFC 9068 access token (client_id and scope) whose header pretends to be a plain JWT', async () => {
    const { transaction, claims } = await attempt();
    await expectRejected(finishWith(transaction, await evil.signRs256({ ...claims, client_id: CLIENT_ID, scope: 'openid' })), 'id_token_invalid');
  });

  it('rejects an ID token signed with alg none', async () => {
    const { transaction, claims } = await attempt();
    await expectRejected(finishWith(transaction, evil.unsigned(claims)), 'id_token_invalid');
  });

  it('rejects an ID token with a forged signature (a key the provider does not publish)', async () => {
    const { transaction, claims } = await attempt();
    await expectRejected(finishWith(transaction, await evil.signRs256(claims, 'unpublished')), 'id_token_invalid');
  });

  it('rejects an ID token HMAC-signed (HS256) with the client secret', async () => {
    const { transaction, claims } = await attempt();
    await expectRejected(finishWith(transaction, await evil.signHs256(claims, CLIENT_SECRET)), 'id_token_invalid');
  });

  it('rejects an ID token validly signed by a published key but with an alg other than the pinned one', async () => {
    const { transaction, claims } = await attempt();
    await expectRejected(finishWith(transaction, await evil.signEs256(claims)), 'id_token_invalid');
  });

  it('rejects an ID token issued to another client (wrong audience)', async () => {
    const { transaction, claims } = await attempt();
    const token = await evil.signRs256({ ...claims, aud: 'someone-elses-app' });
    await expectRejected(finishWith(transaction, token), 'id_token_invalid');
  });

  it('rejects an ID token with several audiences and no azp', async () => {
    const { transaction, claims } = await attempt();
    const token = await evil.signRs256({ ...claims, aud: [CLIENT_ID, 'someone-elses-app'] });
    await expectRejected(finishWith(transaction, token), 'id_token_invalid');
  });

  it('rejects an ID token that adds an untrusted audience even when azp names us', async () => {
    const { transaction, claims } = await attempt();
    const token = await evil.signRs256({ ...claims, aud: [CLIENT_ID, 'someone-elses-app'], azp: CLIENT_ID });
    await expectRejected(finishWith(transaction, token), 'id_token_invalid');
  });

  it('rejects an ID token whose azp is another client', async () => {
    const { transaction, claims } = await attempt();
    const token = await evil.signRs256({ ...claims, azp: 'someone-elses-app' });
    await expectRejected(finishWith(transaction, token), 'id_token_invalid');
  });

  it('rejects an ID token from another issuer', async () => {
    const { transaction, claims } = await attempt();
    const token = await evil.signRs256({ ...claims, iss: 'https://accounts.google.com' });
    await expectRejected(finishWith(transaction, token), 'id_token_invalid');
  });

  it('rejects an expired ID token', async () => {
    const { transaction, claims } = await attempt();
    const nowS = Math.floor(Date.now() / 1000);
    await expectRejected(finishWith(transaction, await evil.signRs256({ ...claims, exp: nowS - 60 })), 'id_token_invalid');
  });

  it('rejects an ID token issued before the login started (replayed old token)', async () => {
    const { transaction, claims } = await attempt();
    const token = await evil.signRs256({ ...claims, iat: Math.floor(transaction.createdAtMs / 1000) - 3600 });
    await expectRejected(finishWith(transaction, token), 'id_token_invalid');
  });

  it('rejects an ID token issued in the future', async () => {
    const { transaction, claims } = await attempt();
    const token = await evil.signRs256({ ...claims, iat: Math.floor(Date.now() / 1000) + 3600 });
    await expectRejected(finishWith(transaction, token), 'id_token_invalid');
  });

  it('rejects an ID token whose nonce belongs to another login', async () => {
    const { transaction, claims } = await attempt();
    const other = await attempt();
    const token = await evil.signRs256({ ...claims, nonce: other.transaction.nonce });
    await expectRejected(finishWith(transaction, token), 'nonce_mismatch');
  });

  it('rejects an ID token without a nonce', async () => {
    const { transaction, claims } = await attempt();
    const { nonce: _dropped, ...withoutNonce } = claims;
    await expectRejected(finishWith(transaction, await evil.signRs256(withoutNonce)), 'id_token_invalid');
  });

  it('rejects an ID token with an empty or oversized subject', async () => {
    const { transaction, claims } = await attempt();
    await expectRejected(finishWith(transaction, await evil.signRs256({ ...claims, sub: 'x'.repeat(256) })), 'id_token_invalid');
  });

  it('rejects a token response that has no ID token at all (OAuth-only "login")', async () => {
    const { transaction } = await attempt();
    await expectRejected(finishWith(transaction, undefined), 'id_token_invalid');
  });
});

describe('why the registry pins the alg and enables signature checks', () => {
  // Regression guard for the openid-client pitfall (security-requirements §7): with default settings it
  // takes the alg list from the provider's own metadata and does not verify token-endpoint ID token
  // signatures. If this test ever fails, the library changed its defaults; our settings still apply.
  it('shows that openid-client defaults alone would accept alg none and a forged signature', async () => {
    const defaults = await oidc.discovery(new URL(evil.issuer), CLIENT_ID, CLIENT_SECRET, undefined, {
      execute: [oidc.allowInsecureRequests],
    });
    for (const forge of [evil.unsigned, (claims: JWTPayload) => evil.signRs256(claims, 'unpublished')]) {
      const { transaction, claims } = await attempt();
      const callback = callbackFor(transaction, await forge(claims));
      const tokens = await oidc.authorizationCodeGrant(defaults, callback, {
        pkceCodeVerifier: transaction.codeVerifier,
        expectedState: transaction.state,
        expectedNonce: transaction.nonce,
      });
      expect(tokens.claims()?.sub).toBe('victim-123');
      await expectRejected(finishSocialLogin(provider, transaction, callback, Date.now()), 'id_token_invalid');
    }
  });
});
