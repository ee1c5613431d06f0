// End-to-end relying-party tests against the real dev IdP (sandbox/idp) over HTTP: a browser logs in
// through the HTML form, the test captures the callback URL, and finishSocialLogin redeems the code.
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBrowser, follow, loginThroughBrowser, parseLoginForm } from '../../../sandbox/idp/test-support/browser.ts';
import { SocialLoginError, type SocialLoginErrorCode } from './errors.ts';
import { finishSocialLogin } from './finish-login.ts';
import type { SocialProvider } from './provider-registry.ts';
import { startSocialLogin } from './start-login.ts';
import { ALICE, REDIRECT_URI, startDevIdpFixture, type DevIdpFixture } from './test-support/dev-idp-fixture.ts';
import { TRANSACTION_MAX_AGE_MS, type SocialLoginTransaction } from './transaction.ts';

let fixture: DevIdpFixture;
let provider: SocialProvider;

beforeAll(async () => {
  fixture = await startDevIdpFixture();
  provider = await fixture.registry.get('dev', Date.now());
});
afterAll(async () => {
  await fixture?.close();
});

type LoggedIn = { transaction: SocialLoginTransaction; callbackUrl: URL };

async function logIn(credentials = ALICE): Promise<LoggedIn> {
  const { authorizationUrl, transaction } = await startSocialLogin(provider, Date.now());
  const callbackUrl = await loginThroughBrowser(authorizationUrl, credentials, REDIRECT_URI);
  return { transaction, callbackUrl };
}

async function expectCode(promise: Promise<unknown>, code: SocialLoginErrorCode): Promise<SocialLoginError> {
  const error = await promise.then(
    () => undefined,
    (rejection: unknown) => rejection,
  );
  expect(error).toBeInstanceOf(SocialLoginError);
  expect((error as SocialLoginError).code).toBe(code);
  return error as SocialLoginError;
}

function withParams(url: URL, edit: (params: URLSearchParams) => void): URL {
  const copy = new URL(url.href);
  edit(copy.searchParams);
  return copy;
}

// Proves a rejected callback did not consume the code: the untouched callback still completes the login.
async function expectCodeStillRedeemable({ transaction, callbackUrl }: LoggedIn): Promise<void> {
  const identity = await finishSocialLogin(provider, transaction, callbackUrl, Date.now());
  expect(identity.subject).toBe('line-alice');
}

describe('social login against the dev IdP', () => {
  it('logs in with a real code flow and returns the identity keyed by (issuer, subject)', async () => {
    const { transaction, callbackUrl } = await logIn();
    const identity = await finishSocialLogin(provider, transaction, callbackUrl, Date.now());
    expect(identity).toMatchObject({
      issuer: fixture.idp.issuer,
      subject: 'line-alice',
      email: 'alice@example.com',
      emailVerified: true,
      name: 'Alice',
    });
  });

  it('takes the identity from the redeemed ID token, never from sub/user_id/email in the callback', async () => {
    const loggedIn = await logIn();
    const forged = withParams(loggedIn.callbackUrl, (params) => {
      params.set('sub', 'line-bob');
      params.set('user_id', 'line-bob');
      params.set('email', 'bob@example.com');
    });
    const identity = await finishSocialLogin(provider, loggedIn.transaction, forged, Date.now());
    expect(identity.subject).toBe('line-alice');
    expect(identity.email).toBe('alice@example.com');
  });
});

describe('threat: the request carries only an external user id (the 7iD flaw)', () => {
  it('rejects a callback with a user id and a valid state but no authorization code', async () => {
    const { transaction } = await startSocialLogin(provider, Date.now());
    const callback = new URL(REDIRECT_URI.href);
    callback.search = new URLSearchParams({
      state: transaction.state,
      iss: provider.issuer,
      sub: 'line-alice',
      user_id: 'line-alice',
      extIdSiteCd: '06',
    }).toString();
    await expectCode(finishSocialLogin(provider, transaction, callback, Date.now()), 'code_rejected');
  });

  it('rejects a callback with a user id and a made-up code that the token endpoint never issued', async () => {
    const { transaction } = await startSocialLogin(provider, Date.now());
    const callback = new URL(REDIRECT_URI.href);
    callback.search = new URLSearchParams({
      code: 'line-alice',
      state: transaction.state,
      iss: provider.issuer,
      sub: 'line-alice',
    }).toString();
    await expectCode(finishSocialLogin(provider, transaction, callback, Date.now()), 'code_rejected');
  });

  it('rejects an ID token injected into the callback instead of a code', async () => {
    const loggedIn = await logIn();
    const injected = withParams(loggedIn.callbackUrl, (params) => {
      params.delete('code');
      params.set('id_token', 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJsaW5lLWJvYiJ9.');
    });
    await expectCode(finishSocialLogin(provider, loggedIn.transaction, injected, Date.now()), 'callback_invalid');
  });
});

describe('threat: login CSRF and callback tampering', () => {
  it('rejects a callback without state and does not redeem its code', async () => {
    const loggedIn = await logIn();
    const stateless = withParams(loggedIn.callbackUrl, (params) => params.delete('state'));
    await expectCode(finishSocialLogin(provider, loggedIn.transaction, stateless, Date.now()), 'state_mismatch');
    await expectCodeStillRedeemable(loggedIn);
  });

  it("rejects a callback carrying another login attempt's state", async () => {
    const loggedIn = await logIn();
    const other = await startSocialLogin(provider, Date.now());
    const swapped = withParams(loggedIn.callbackUrl, (params) => params.set('state', other.transaction.state));
    await expectCode(finishSocialLogin(provider, loggedIn.transaction, swapped, Date.now()), 'state_mismatch');
    await expectCodeStillRedeemable(loggedIn);
  });

  it("rejects a victim's callback completed with the attacker's transaction", async () => {
    const victim = await logIn();
    const attacker = await startSocialLogin(provider, Date.now());
    await expectCode(finishSocialLogin(provider, attacker.transaction, victim.callbackUrl, Date.now()), 'state_mismatch');
  });

  it('rejects a callback with a repeated state parameter', async () => {
    const loggedIn = await logIn();
    const doubled = withParams(loggedIn.callbackUrl, (params) => params.append('state', loggedIn.transaction.state));
    await expectCode(finishSocialLogin(provider, loggedIn.transaction, doubled, Date.now()), 'callback_invalid');
  });

  it('rejects a callback delivered to a path that is not our redirect URI', async () => {
    const loggedIn = await logIn();
    const elsewhere = new URL(loggedIn.callbackUrl.href);
    elsewhere.pathname = '/v1/auth/social/google/callback';
    await expectCode(finishSocialLogin(provider, loggedIn.transaction, elsewhere, Date.now()), 'callback_invalid');
  });

  it('rejects a transaction started for another provider (mix-up)', async () => {
    const loggedIn = await logIn();
    const foreign = { ...loggedIn.transaction, providerId: 'google' };
    await expectCode(finishSocialLogin(provider, foreign, loggedIn.callbackUrl, Date.now()), 'state_mismatch');
  });

  it('rejects an authorization response whose iss names another issuer (RFC 9207 mix-up)', async () => {
    const loggedIn = await logIn();
    const mixedUp = withParams(loggedIn.callbackUrl, (params) => params.set('iss', 'https://accounts.google.com'));
    await expectCode(finishSocialLogin(provider, loggedIn.transaction, mixedUp, Date.now()), 'callback_invalid');
  });

  it('rejects an authorization response without iss from a provider that promises one', async () => {
    const loggedIn = await logIn();
    const stripped = withParams(loggedIn.callbackUrl, (params) => params.delete('iss'));
    await expectCode(finishSocialLogin(provider, loggedIn.transaction, stripped, Date.now()), 'callback_invalid');
  });

  it('rejects a transaction older than the limit without redeeming the code', async () => {
    const loggedIn = await logIn();
    const late = loggedIn.transaction.createdAtMs + TRANSACTION_MAX_AGE_MS + 1;
    await expectCode(finishSocialLogin(provider, loggedIn.transaction, loggedIn.callbackUrl, late), 'transaction_expired');
    await expectCodeStillRedeemable(loggedIn);
  });
});

describe('threat: code replay, code injection and PKCE downgrade', () => {
  it('rejects a replayed authorization code', async () => {
    const { transaction, callbackUrl } = await logIn();
    await finishSocialLogin(provider, transaction, callbackUrl, Date.now());
    const error = await expectCode(finishSocialLogin(provider, transaction, callbackUrl, Date.now()), 'code_rejected');
    expect(error.cause).toBeInstanceOf(oidc.ResponseBodyError);
  });

  it('rejects a code redeemed with a PKCE verifier other than the one its request was bound to', async () => {
    const loggedIn = await logIn();
    const wrongVerifier = { ...loggedIn.transaction, codeVerifier: oidc.randomPKCECodeVerifier() };
    const error = await expectCode(finishSocialLogin(provider, wrongVerifier, loggedIn.callbackUrl, Date.now()), 'code_rejected');
    // Refused by the IdP's token endpoint, not by a local check.
    expect(error.cause).toBeInstanceOf(oidc.ResponseBodyError);
  });

  it("rejects an ID token whose nonce belongs to another login (the IdP's real token, wrong session)", async () => {
    const loggedIn = await logIn();
    const otherNonce = { ...loggedIn.transaction, nonce: oidc.randomNonce() };
    await expectCode(finishSocialLogin(provider, otherNonce, loggedIn.callbackUrl, Date.now()), 'nonce_mismatch');
  });
});

describe('provider errors', () => {
  it('reports a cancelled login as provider_error', async () => {
    const { authorizationUrl, transaction } = await startSocialLogin(provider, Date.now());
    const browser = createBrowser();
    const page = await follow(browser, authorizationUrl, REDIRECT_URI);
    if (page.kind !== 'page') throw new Error('expected the login page');
    const form = parseLoginForm(page);
    const abortUrl = new URL(form.action.href.replace(/\/login$/, '/abort'));
    const landing = await follow(browser, abortUrl, REDIRECT_URI, await browser.postForm(abortUrl, { form_token: form.formToken }));
    if (landing.kind !== 'callback') throw new Error('expected the callback');
    expect(landing.url.searchParams.get('error')).toBe('access_denied');
    await expectCode(finishSocialLogin(provider, transaction, landing.url, Date.now()), 'provider_error');
  });

  it('exposes only its own code and message, keeping the library error as a non-serialised cause', async () => {
    const { transaction, callbackUrl } = await logIn();
    await finishSocialLogin(provider, transaction, callbackUrl, Date.now());
    const error = await expectCode(finishSocialLogin(provider, transaction, callbackUrl, Date.now()), 'code_rejected');
    expect(error.message).toBe('the authorization code was not accepted');
    expect(error.cause).toBeInstanceOf(oidc.ResponseBodyError);
    expect(JSON.stringify(error)).not.toMatch(/invalid_grant|OAUTH_|code_verifier|eyJ/);
  });
});
