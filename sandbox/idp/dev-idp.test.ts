// The dev IdP on its own, over real HTTP: the protections Koban's RP tests rely on must hold at the IdP
// too (no devInteractions, PKCE S256 required, single-use codes, signed ID tokens).
import { createLocalJWKSet, jwtVerify } from 'jose';
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDevIdp, type DevIdpSigningAlg, type RunningDevIdp } from './dev-idp.ts';
import { LOGIN_ATTEMPTS_MAX } from './login-attempts.ts';
import { createBrowser, follow, loginThroughBrowser, parseLoginForm, type Browser } from './test-support/browser.ts';

const CLIENT_ID = 'idp-test-client';
const CLIENT_SECRET = 'idp-test-secret-0123456789abcdefghijk';
const REDIRECT_URI = new URL('http://127.0.0.1:9/callback');
const ALICE = { login: 'alice@example.com', password: 'alice-idp-password' };

async function start(signingAlg: DevIdpSigningAlg): Promise<RunningDevIdp> {
  return startDevIdp({
    signingAlg,
    clients: [{ client_id: CLIENT_ID, client_secret: CLIENT_SECRET, redirect_uris: [REDIRECT_URI.href] }],
    users: [{ sub: 'line-alice', email: 'alice@example.com', name: 'Alice', password: ALICE.password }],
  });
}

let idp: RunningDevIdp;
beforeAll(async () => {
  idp = await start('RS256');
});
afterAll(async () => {
  await idp?.close();
});

type Pkce = { verifier: string; challenge: string };

async function newPkce(): Promise<Pkce> {
  const verifier = oidc.randomPKCECodeVerifier();
  return { verifier, challenge: await oidc.calculatePKCECodeChallenge(verifier) };
}

function authorizationUrl(base: RunningDevIdp, params: Record<string, string>): URL {
  const url = new URL('/auth', base.issuer);
  url.search = new URLSearchParams({
    client_id: CLIENT_ID,
    redirect_uri: REDIRECT_URI.href,
    response_type: 'code',
    scope: 'openid email profile',
    state: oidc.randomState(),
    nonce: oidc.randomNonce(),
    ...params,
  }).toString();
  return url;
}

async function codeFor(base: RunningDevIdp, pkce: Pkce): Promise<string> {
  const params = { code_challenge: pkce.challenge, code_challenge_method: 'S256' };
  const callback = await loginThroughBrowser(authorizationUrl(base, params), ALICE, REDIRECT_URI);
  const code = callback.searchParams.get('code');
  if (code === null) throw new Error(`no code in ${callback.href}`);
  return code;
}

async function redeem(base: RunningDevIdp, code: string, verifier?: string) {
  const body = new URLSearchParams({
    grant_type: 'authorization_code',
    code,
    redirect_uri: REDIRECT_URI.href,
    client_id: CLIENT_ID,
    client_secret: CLIENT_SECRET,
    ...(verifier !== undefined && { code_verifier: verifier }),
  });
  const response = await fetch(new URL('/token', base.issuer), {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body,
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function openLoginPage(browser: Browser) {
  const pkce = await newPkce();
  const url = authorizationUrl(idp, { code_challenge: pkce.challenge, code_challenge_method: 'S256' });
  const page = await follow(browser, url, REDIRECT_URI);
  if (page.kind !== 'page') throw new Error('expected the login page');
  return page;
}

describe('dev IdP metadata', () => {
  it('publishes the code flow only, PKCE S256 only and one ID token alg', async () => {
    const response = await fetch(new URL('/.well-known/openid-configuration', idp.issuer));
    const metadata = (await response.json()) as Record<string, unknown>;
    expect(metadata.issuer).toBe(idp.issuer);
    expect(metadata.response_types_supported).toEqual(['code']);
    expect(metadata.code_challenge_methods_supported).toEqual(['S256']);
    expect(metadata.id_token_signing_alg_values_supported).toEqual(['RS256']);
    expect(metadata.authorization_response_iss_parameter_supported).toBe(true);
  });
});

describe('threat: authorization requests that downgrade the flow', () => {
  async function errorFor(params: Record<string, string>): Promise<string | null> {
    const landing = await follow(createBrowser(), authorizationUrl(idp, params), REDIRECT_URI);
    if (landing.kind !== 'callback') throw new Error(`expected an error redirect, got status ${landing.status}`);
    // Implicit-flow errors come back in the fragment (its default response mode), the others in the query.
    const response = landing.url.search === '' ? new URLSearchParams(landing.url.hash.slice(1)) : landing.url.searchParams;
    expect(response.get('code')).toBeNull();
    return response.get('error');
  }

  it('refuses an authorization request without PKCE', async () => {
    expect(await errorFor({})).toBe('invalid_request');
  });

  it('refuses PKCE with the plain method', async () => {
    const pkce = await newPkce();
    expect(await errorFor({ code_challenge: pkce.verifier, code_challenge_method: 'plain' })).toBe('invalid_request');
  });

  it('refuses the implicit flow', async () => {
    const pkce = await newPkce();
    const params = { response_type: 'id_token', code_challenge: pkce.challenge, code_challenge_method: 'S256' };
    expect(await errorFor(params)).toBe('unsupported_response_type');
  });

  it('refuses a redirect URI that is not registered, without redirecting to it', async () => {
    const pkce = await newPkce();
    const url = authorizationUrl(idp, { code_challenge: pkce.challenge, code_challenge_method: 'S256' });
    url.searchParams.set('redirect_uri', 'https://attacker.example/steal');
    const response = await fetch(url, { redirect: 'manual' });
    expect(response.status).toBe(400);
    expect(response.headers.get('location')).toBeNull();
  });
});

describe('threat: logging in without the password (devInteractions is off)', () => {
  it('does not log in with a wrong password', async () => {
    const browser = createBrowser();
    const form = parseLoginForm(await openLoginPage(browser));
    const response = await browser.postForm(form.action, { form_token: form.formToken, login: ALICE.login, password: 'guess' });
    expect(response.status).toBe(200);
    expect(response.headers.get('location')).toBeNull();
    expect(await response.text()).toContain('Invalid login or password.');
  });

  it('does not log in an unknown user', async () => {
    const browser = createBrowser();
    const form = parseLoginForm(await openLoginPage(browser));
    const response = await browser.postForm(form.action, { form_token: form.formToken, login: 'mallory', password: 'x' });
    expect(response.headers.get('location')).toBeNull();
  });

  it('logs in with the right password and returns code, state and iss to the redirect URI', async () => {
    const pkce = await newPkce();
    const url = authorizationUrl(idp, { code_challenge: pkce.challenge, code_challenge_method: 'S256', state: 's-123' });
    const callback = await loginThroughBrowser(url, ALICE, REDIRECT_URI);
    expect(callback.searchParams.get('code')).toMatch(/^[A-Za-z0-9_-]{20,}$/);
    expect(callback.searchParams.get('state')).toBe('s-123');
    expect(callback.searchParams.get('iss')).toBe(idp.issuer);
  });

  it('ends the interaction with access_denied after too many wrong passwords', async () => {
    const browser = createBrowser();
    const form = parseLoginForm(await openLoginPage(browser));
    let response: Response | undefined;
    for (let attempt = 0; attempt < LOGIN_ATTEMPTS_MAX; attempt++) {
      response = await browser.postForm(form.action, { form_token: form.formToken, login: ALICE.login, password: `guess-${attempt}` });
    }
    const landing = await follow(browser, form.action, REDIRECT_URI, response);
    if (landing.kind !== 'callback') throw new Error('expected the callback');
    expect(landing.url.searchParams.get('error')).toBe('access_denied');
    expect(landing.url.searchParams.get('code')).toBeNull();
  });
});

describe('threat: forged or cross-site login form submissions', () => {
  it('rejects a login POST without the per-interaction form token', async () => {
    const browser = createBrowser();
    const form = parseLoginForm(await openLoginPage(browser));
    const response = await browser.postForm(form.action, { login: ALICE.login, password: ALICE.password });
    expect(response.status).toBe(400);
    expect(response.headers.get('location')).toBeNull();
  });

  it('rejects a login POST with a form token from another interaction', async () => {
    const browser = createBrowser();
    const form = parseLoginForm(await openLoginPage(browser));
    const other = parseLoginForm(await openLoginPage(createBrowser()));
    const response = await browser.postForm(form.action, { form_token: other.formToken, ...ALICE });
    expect(response.status).toBe(403);
  });

  it('rejects a login POST from a browser that does not hold the interaction cookie', async () => {
    const form = parseLoginForm(await openLoginPage(createBrowser()));
    const response = await createBrowser().postForm(form.action, { form_token: form.formToken, ...ALICE });
    expect(response.status).toBe(400);
    expect(response.headers.get('location')).toBeNull();
  });

  it('escapes the echoed login name (no reflected XSS)', async () => {
    const browser = createBrowser();
    const form = parseLoginForm(await openLoginPage(browser));
    const payload = '"><script>alert(1)</script>';
    const response = await browser.postForm(form.action, { form_token: form.formToken, login: payload, password: 'x' });
    const html = await response.text();
    expect(html).not.toContain('<script>alert(1)</script>');
    expect(html).toContain('&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(response.headers.get('content-security-policy')).toContain("default-src 'none'");
  });
});

describe('threat: code redemption without proof of the original request', () => {
  it('refuses to redeem a code without the PKCE verifier', async () => {
    const pkce = await newPkce();
    const result = await redeem(idp, await codeFor(idp, pkce));
    expect(result.status).toBe(400);
    expect(result.body.error).toBe('invalid_grant');
  });

  it('refuses to redeem a code with a wrong PKCE verifier', async () => {
    const pkce = await newPkce();
    const result = await redeem(idp, await codeFor(idp, pkce), oidc.randomPKCECodeVerifier());
    expect(result.status).toBe(400);
    expect(result.body.error).toBe('invalid_grant');
  });

  it('refuses to redeem a code twice', async () => {
    const pkce = await newPkce();
    const code = await codeFor(idp, pkce);
    expect((await redeem(idp, code, pkce.verifier)).status).toBe(200);
    const replay = await redeem(idp, code, pkce.verifier);
    expect(replay.status).toBe(400);
    expect(replay.body.error).toBe('invalid_grant');
  });
});

describe('ID token signing', () => {
  for (const alg of ['RS256', 'ES256'] as const) {
    it(`signs ID tokens with ${alg} under a key from its published JWKS`, async () => {
      const base = alg === 'RS256' ? idp : await start(alg);
      try {
        const pkce = await newPkce();
        const result = await redeem(base, await codeFor(base, pkce), pkce.verifier);
        const jwks = (await (await fetch(new URL('/jwks', base.issuer))).json()) as { keys: [] };
        const { payload, protectedHeader } = await jwtVerify(String(result.body.id_token), createLocalJWKSet(jwks), {
          algorithms: [alg],
          issuer: base.issuer,
          audience: CLIENT_ID,
        });
        expect(protectedHeader.alg).toBe(alg);
        expect(payload).toMatchObject({ sub: 'line-alice', email: 'alice@example.com', email_verified: true, name: 'Alice' });
      } finally {
        if (base !== idp) await base.close();
      }
    });
  }
});
