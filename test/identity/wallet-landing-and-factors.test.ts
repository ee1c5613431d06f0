// What the wallet's account screens need from identity: a browser coming back from a social provider
// lands in the wallet (never on a JSON page) with only a device-bound challenge id, kept out of the
// query string; and a summary of the customer's factors that reveals no secret.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDevIdp, type RunningDevIdp } from '../../sandbox/idp/dev-idp.ts';
import { loginThroughBrowser } from '../../sandbox/idp/test-support/browser.ts';
import { startTestKoban } from '../support/koban.ts';
import { newClient, PUBLIC_URL, signUp, stepUpBySms } from './support.ts';

const CLIENT_ID = 'koban-test';
const CLIENT_SECRET = 'test-secret-0123456789-abcdefghijklmnop';
const REDIRECT = `${PUBLIC_URL}/v1/customer/social/dev/callback`;
const NAVIGATION = { 'sec-fetch-mode': 'navigate', 'sec-fetch-site': 'cross-site', accept: 'text/html,application/xhtml+xml' };
const ALICE = { login: 'line-alice', password: 'alice-test-password' };

let idp: RunningDevIdp;
let env: Awaited<ReturnType<typeof startTestKoban>>;
beforeAll(async () => {
  idp = await startDevIdp({
    signingAlg: 'RS256',
    clients: [{ client_id: CLIENT_ID, client_secret: CLIENT_SECRET, redirect_uris: [REDIRECT] }],
    users: [
      { sub: 'line-alice', email: 'alice@example.com', name: 'Alice', password: ALICE.password },
      { sub: 'line-bob', email: 'bob@example.com', name: 'Bob', password: 'bob-test-password' },
    ],
  });
  env = await startTestKoban({ env: {
    KOBAN_PUBLIC_URL: PUBLIC_URL,
    KOBAN_SOCIAL_PROVIDERS: 'dev', KOBAN_SOCIAL_DEV_ISSUER: idp.issuer, KOBAN_SOCIAL_DEV_CLIENT_ID: CLIENT_ID, KOBAN_SOCIAL_DEV_CLIENT_SECRET: CLIENT_SECRET,
  } });
});
afterAll(async () => {
  await env?.close();
  await idp?.close();
});

function fragmentOf(location: string): URLSearchParams {
  return new URLSearchParams(location.slice(location.indexOf('#') + 1));
}

describe('social callback reached by a browser navigation', () => {
  it('links, then lands a new device on the wallet second-factor step with the challenge only in the fragment', async () => {
    const owner = await signUp(env.koban);
    const grant = await stepUpBySms(env.koban, owner, 'link_social', { providerId: 'dev' });
    const link = await owner.client.request({ method: 'POST', url: '/v1/customer/social/dev/link', body: {}, headers: { 'x-step-up-grant': grant } });
    const linkBack = await loginThroughBrowser(new URL(link.json().authorizationUrl), ALICE, new URL(REDIRECT));
    const linked = await owner.client.request({ method: 'GET', url: `${linkBack.pathname}${linkBack.search}`, headers: NAVIGATION });
    expect(linked.statusCode).toBe(303);
    expect(linked.headers.location).toBe('/wallet/settings/social#linked=dev');

    const stranger = newClient(env.koban, '203.0.113.90');
    const start = await stranger.request({ method: 'GET', url: '/v1/customer/social/dev/start', headers: NAVIGATION });
    const back = await loginThroughBrowser(new URL(String(start.headers.location)), ALICE, new URL(REDIRECT));
    const landed = await stranger.request({ method: 'GET', url: `${back.pathname}${back.search}`, headers: NAVIGATION });
    expect(landed.statusCode).toBe(303);
    const location = String(landed.headers.location);
    expect(location.startsWith('/wallet/sign-in#')).toBe(true);
    expect(location.split('#')[0]).not.toContain('?');
    const fragment = fragmentOf(location);
    expect(fragment.get('challenge')).toMatch(/^[0-9a-f-]{36}$/);
    expect(fragment.get('methods')?.split(',')).toContain('sms');
    // Social sign-in is a first factor only: no session until the second factor.
    expect(stranger.cookies.has('__Host-koban_session')).toBe(false);
    // The challenge is bound to the stranger's device cookie: another browser cannot use it.
    const thief = newClient(env.koban, '203.0.113.91');
    const stolen = await thief.request({ method: 'POST', url: '/v1/customer/login/second-factor/sms', body: { challengeId: fragment.get('challenge') } });
    expect(stolen.json().code).toBe('login_challenge_invalid');
  });

  it('sends an unlinked identity back to the wallet sign-in with the error code, creating nothing', async () => {
    const client = newClient(env.koban, '203.0.113.92');
    const start = await client.request({ method: 'GET', url: '/v1/customer/social/dev/start', headers: NAVIGATION });
    const back = await loginThroughBrowser(new URL(String(start.headers.location)), { login: 'line-bob', password: 'bob-test-password' }, new URL(REDIRECT));
    const landed = await client.request({ method: 'GET', url: `${back.pathname}${back.search}`, headers: NAVIGATION });
    expect(landed.statusCode).toBe(303);
    expect(landed.headers.location).toBe('/wallet/sign-in#error=social_login_failed');
    expect(client.cookies.has('__Host-koban_session')).toBe(false);
  });

  it('still answers API clients (no navigation headers) with JSON', async () => {
    const client = newClient(env.koban, '203.0.113.93');
    const forged = await client.request({ method: 'GET', url: '/v1/customer/social/dev/callback?code=x&state=y' });
    expect(forged.statusCode).toBe(400);
    expect(forged.json().code).toBe('social_login_failed');
  });
});

describe('GET /v1/customer/factors', () => {
  it('summarises passkeys, authenticator app, recovery codes left and the charge PIN state, and needs a session', async () => {
    const customer = await signUp(env.koban);
    const fresh = await customer.client.request({ method: 'GET', url: '/v1/customer/factors' });
    expect(fresh.json()).toEqual({ passkeys: 0, totp: false, recoveryCodesLeft: 0, chargePin: 'not_set', paysWithPasskey: false });

    const codesGrant = await stepUpBySms(env.koban, customer, 'change_factors', { factor: 'recovery_codes' });
    await customer.client.request({ method: 'POST', url: '/v1/customer/recovery-codes', body: {}, headers: { 'x-step-up-grant': codesGrant } });
    const pinGrant = await stepUpBySms(env.koban, customer, 'change_factors', { factor: 'charge_pin' });
    expect((await customer.client.request({ method: 'PUT', url: '/v1/customer/pin', body: { pin: '583920' }, headers: { 'x-step-up-grant': pinGrant } })).statusCode).toBe(200);
    expect((await customer.client.request({ method: 'GET', url: '/v1/customer/factors' })).json()).toEqual({ passkeys: 0, totp: false, recoveryCodesLeft: 10, chargePin: 'set', paysWithPasskey: false });

    await env.db.pool.query('update charge_pins set locked_at = now() where customer_id = $1', [customer.customerId]);
    expect((await customer.client.request({ method: 'GET', url: '/v1/customer/factors' })).json().chargePin).toBe('locked');

    const anonymous = await newClient(env.koban, '203.0.113.94').request({ method: 'GET', url: '/v1/customer/factors' });
    expect(anonymous.statusCode).toBe(401);
  });
});
