// One test per 7pay attack, each showing the attack failing, plus the controls around them.
import { generate } from 'otplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDevIdp, type RunningDevIdp } from '../../sandbox/idp/dev-idp.ts';
import { loginThroughBrowser } from '../../sandbox/idp/test-support/browser.ts';
import { startTestKoban } from '../support/koban.ts';
import { lastCode, messagesTo, newClient, PUBLIC_URL, signUp, stepUpBySms } from './support.ts';

const CLIENT_ID = 'koban-test';
const CLIENT_SECRET = 'test-secret-0123456789-abcdefghijklmnop';
const REDIRECT = `${PUBLIC_URL}/v1/customer/social/dev/callback`;

let idp: RunningDevIdp;
let env: Awaited<ReturnType<typeof startTestKoban>>;
beforeAll(async () => {
  idp = await startDevIdp({
    signingAlg: 'RS256',
    clients: [{ client_id: CLIENT_ID, client_secret: CLIENT_SECRET, redirect_uris: [REDIRECT] }],
    users: [{ sub: 'line-alice', email: 'alice@example.com', name: 'Alice', password: 'alice-test-password' }],
  });
  env = await startTestKoban({ env: {
    KOBAN_PUBLIC_URL: PUBLIC_URL, KOBAN_LOGIN_IP_FAILURES_MAX: '10', KOBAN_LOGIN_NETWORK_FAILURES_MAX: '20',
    KOBAN_SOCIAL_PROVIDERS: 'dev', KOBAN_SOCIAL_DEV_ISSUER: idp.issuer, KOBAN_SOCIAL_DEV_CLIENT_ID: CLIENT_ID, KOBAN_SOCIAL_DEV_CLIENT_SECRET: CLIENT_SECRET,
  } });
});
afterAll(async () => {
  await env?.close();
  await idp?.close();
});

describe('7pay vector (a): password reset to an attacker-supplied address', () => {
  it('refuses a destination field, and sends recovery codes only to the verified contacts on file', async () => {
    const victim = await signUp(env.koban);
    const attacker = newClient(env.koban, '203.0.113.66');
    const redirected = await attacker.request({ method: 'POST', url: '/v1/customer/recovery', body: { identifier: victim.email, email: 'attacker@evil.example', sendTo: 'attacker@evil.example' } });
    expect(redirected.statusCode).toBe(400);
    expect(redirected.json().code).toBe('validation_failed');
    const plain = await attacker.request({ method: 'POST', url: '/v1/customer/recovery', body: { identifier: victim.email } });
    expect(plain.statusCode).toBe(202);
    expect(await messagesTo(env.koban, 'attacker@evil.example')).toEqual([]);
    expect((await messagesTo(env.koban, victim.email)).some((m) => m.kind === 'recovery_code')).toBe(true);
    expect((await messagesTo(env.koban, victim.phone)).some((m) => m.kind === 'recovery_code')).toBe(true);
    // One code is not enough: recovery needs two channels (REC-04).
    const oneCode = await attacker.request({ method: 'POST', url: '/v1/customer/recovery/complete', body: { recoveryId: plain.json().recoveryId, smsCode: await lastCode(env.koban, victim.phone), newPassword: 'attacker new passphrase' } });
    expect(oneCode.json().code).toBe('recovery_failed');
  });

  it('answers an unknown identifier exactly like a known one', async () => {
    const client = newClient(env.koban, '203.0.113.67');
    const response = await client.request({ method: 'POST', url: '/v1/customer/recovery', body: { identifier: 'nobody-here@example.com' } });
    expect(response.statusCode).toBe(202);
    expect(Object.keys(response.json())).toEqual(['recoveryId']);
  });

  it('recovery by the owner revokes every session, notifies every contact and starts the cool-down', async () => {
    const owner = await signUp(env.koban);
    const started = await newClient(env.koban).request({ method: 'POST', url: '/v1/customer/recovery', body: { identifier: owner.phone } });
    const recoveryId = started.json().recoveryId;
    const done = await newClient(env.koban).request({ method: 'POST', url: '/v1/customer/recovery/complete', body: {
      recoveryId, smsCode: await lastCode(env.koban, owner.phone), emailCode: await lastCode(env.koban, owner.email), newPassword: 'a brand new passphrase' } });
    expect(done.statusCode).toBe(200);
    expect((await owner.client.request({ method: 'GET', url: '/v1/customer/me' })).statusCode).toBe(401);
    expect((await messagesTo(env.koban, owner.email)).some((m) => m.body.includes('account recovery'))).toBe(true);
    expect((await messagesTo(env.koban, owner.phone)).some((m) => m.body.includes('account recovery'))).toBe(true);
    expect(await env.koban.identity.isInRecoveryCooldown(owner.customerId)).toBe(true);
    // The recovery is single use.
    const replay = await newClient(env.koban).request({ method: 'POST', url: '/v1/customer/recovery/complete', body: { recoveryId, smsCode: '000000', emailCode: '000000', newPassword: 'another new passphrase' } });
    expect(replay.json().code).toBe('recovery_failed');
  });
});

describe('7pay vector (c): social login with only an external user id', () => {
  it('has no route that accepts a bare external user id, and a forged callback without a transaction is refused', async () => {
    const client = newClient(env.koban, '203.0.113.70');
    const bare = await client.request({ method: 'POST', url: '/v1/customer/social/login', body: { provider: 'dev', id: 'line-alice', extIdSiteCd: '06' } });
    expect([400, 404]).toContain(bare.statusCode);
    const forged = await client.request({ method: 'GET', url: '/v1/customer/social/dev/callback?sub=line-alice&user_id=line-alice&code=x&state=y' });
    expect(forged.statusCode).toBe(400);
    expect(forged.json().code).toBe('social_login_failed');
    expect(client.cookies.has('__Host-koban_session')).toBe(false);
  });

  it('a real dev-IdP login for an unlinked identity neither creates an account nor takes over the one with the same e-mail', async () => {
    const customers = async () => Number((await env.db.pool.query<{ n: string }>('select count(*) as n from customers')).rows[0]?.n);
    const before = await customers();
    const client = newClient(env.koban, '203.0.113.71');
    const start = await client.request({ method: 'GET', url: '/v1/customer/social/dev/start' });
    expect(start.statusCode).toBe(303);
    const callback = await loginThroughBrowser(new URL(String(start.headers.location)), { login: 'alice@example.com', password: 'alice-test-password' }, new URL(REDIRECT));
    const finished = await client.request({ method: 'GET', url: `${callback.pathname}${callback.search}` });
    expect(finished.json().code).toBe('social_login_failed');
    expect(client.cookies.has('__Host-koban_session')).toBe(false);
    expect(await customers()).toBe(before);
  });

  it('links only with a fresh step-up from a signed-in session; then sign-in from a new device still needs a second factor', async () => {
    const owner = await signUp(env.koban);
    const noGrant = await owner.client.request({ method: 'POST', url: '/v1/customer/social/dev/link', body: {} });
    expect(noGrant.json().code).toBe('step_up_required');
    const grant = await stepUpBySms(env.koban, owner, 'link_social', { providerId: 'dev' });
    const link = await owner.client.request({ method: 'POST', url: '/v1/customer/social/dev/link', body: {}, headers: { 'x-step-up-grant': grant } });
    expect(link.statusCode).toBe(200);
    const callback = await loginThroughBrowser(new URL(link.json().authorizationUrl), { login: 'line-alice', password: 'alice-test-password' }, new URL(REDIRECT));
    const linked = await owner.client.request({ method: 'GET', url: `${callback.pathname}${callback.search}` });
    expect(linked.json()).toEqual({ status: 'linked', providerId: 'dev' });
    // The same callback cannot be replayed: the transaction was taken.
    expect((await owner.client.request({ method: 'GET', url: `${callback.pathname}${callback.search}` })).json().code).toBe('social_login_failed');
    const stranger = newClient(env.koban, '203.0.113.72');
    const start = await stranger.request({ method: 'GET', url: '/v1/customer/social/dev/start' });
    const cb = await loginThroughBrowser(new URL(String(start.headers.location)), { login: 'line-alice', password: 'alice-test-password' }, new URL(REDIRECT));
    const outcome = await stranger.request({ method: 'GET', url: `${cb.pathname}${cb.search}` });
    expect(outcome.json().status).toBe('second_factor_required');
  });
});

describe('7pay vector (d): the charge PIN', () => {
  it('refuses trivial PINs', async () => {
    const owner = await signUp(env.koban);
    for (const pin of ['123456', '000000', '987654', '121212']) {
      const grant = await stepUpBySms(env.koban, owner, 'change_factors', { factor: 'charge_pin' });
      const response = await owner.client.request({ method: 'PUT', url: '/v1/customer/pin', body: { pin }, headers: { 'x-step-up-grant': grant } });
      expect(response.json().code).toBe('pin_invalid');
    }
  });

  it('refuses a PIN equal to the login password (checked by verifying the PIN against the password hash)', async () => {
    // New passwords are 8+ characters, so only an older or imported 6-digit password can collide: give one.
    const owner = await signUp(env.koban);
    await env.db.pool.query('update password_credentials set password_hash = $2 where customer_id = $1', [owner.customerId, await env.koban.identity.deps.hasher.hash('582917')]);
    const grant = await stepUpBySms(env.koban, owner, 'change_factors', { factor: 'charge_pin' });
    const response = await owner.client.request({ method: 'PUT', url: '/v1/customer/pin', body: { pin: '582917' }, headers: { 'x-step-up-grant': grant } });
    expect(response.json().code).toBe('pin_invalid');
    expect(response.json().detail).toContain('login password');
    const stored = await env.db.pool.query('select 1 from charge_pins where customer_id = $1', [owner.customerId]);
    expect(stored.rowCount).toBe(0);
  });

  it('the top-up helper refuses without a step-up, without a PIN, with a grant for another amount, and locks after 5 wrong PINs', async () => {
    const owner = await signUp(env.koban);
    const pinGrant = await stepUpBySms(env.koban, owner, 'change_factors', { factor: 'charge_pin' });
    expect((await owner.client.request({ method: 'PUT', url: '/v1/customer/pin', body: { pin: '480271' }, headers: { 'x-step-up-grant': pinGrant } })).statusCode).toBe(200);
    const session = await env.koban.identity.guard({ headers: { cookie: `__Host-koban_session=${owner.client.cookies.get('__Host-koban_session')}` }, cookies: { '__Host-koban_session': owner.client.cookies.get('__Host-koban_session') }, method: 'GET' } as never);
    const topUp = (grant: string | null, pin: string | null, amountMinor: bigint) => env.koban.identity.authorizeTopUp(session, { grant, pin, amountMinor, fundingSourceId: 'card-1' });
    await expect(topUp(null, '480271', 1000n)).rejects.toMatchObject({ code: 'step_up_required' });
    const grant1000 = await stepUpBySms(env.koban, owner, 'top_up', { amountMinor: 1000, fundingSourceId: 'card-1' });
    const fresh = await env.koban.identity.guard({ cookies: { '__Host-koban_session': owner.client.cookies.get('__Host-koban_session') }, headers: {}, method: 'GET' } as never);
    await expect(env.koban.identity.authorizeTopUp(fresh, { grant: grant1000, pin: '480271', amountMinor: 1001n, fundingSourceId: 'card-1' })).rejects.toMatchObject({ code: 'step_up_required' });
    await expect(env.koban.identity.authorizeTopUp(fresh, { grant: grant1000, pin: null, amountMinor: 1000n, fundingSourceId: 'card-1' })).rejects.toMatchObject({ code: 'pin_required' });
    // The grant was consumed by that attempt: a wrong PIN restarts the whole top-up.
    await expect(env.koban.identity.authorizeTopUp(fresh, { grant: grant1000, pin: '480271', amountMinor: 1000n, fundingSourceId: 'card-1' })).rejects.toMatchObject({ code: 'step_up_required' });
    expect(topUp).toBeTypeOf('function');
    for (let i = 1; i <= 4; i++) await expect(env.koban.identity.verifyChargePin(owner.customerId, '111119')).rejects.toMatchObject({ code: 'pin_wrong' });
    await expect(env.koban.identity.verifyChargePin(owner.customerId, '111119')).rejects.toMatchObject({ code: 'pin_locked' });
    await expect(env.koban.identity.verifyChargePin(owner.customerId, '480271')).rejects.toMatchObject({ code: 'pin_locked' });
    expect((await messagesTo(env.koban, owner.email)).some((m) => m.body.includes('locked'))).toBe(true);
    // An SMS step-up alone does not reset a locked PIN (a SIM swap gives a thief SMS, issue 13)…
    const resetGrant = await stepUpBySms(env.koban, owner, 'change_factors', { factor: 'charge_pin' });
    const bySms = await owner.client.request({ method: 'PUT', url: '/v1/customer/pin', body: { pin: '730418' }, headers: { 'x-step-up-grant': resetGrant } });
    expect(bySms.json()).toMatchObject({ code: 'pin_reset_needs_strong_factor' });
    await expect(env.koban.identity.verifyChargePin(owner.customerId, '480271')).rejects.toMatchObject({ code: 'pin_locked' });
    // …an account recovery since the lock (SMS and e-mail codes) does, with the same step-up.
    await env.db.pool.query(`insert into recovery_requests (id, customer_id, expires_at, completed_at) values (gen_random_uuid(), $1, now() + interval '10 minutes', now() + interval '1 second')`, [owner.customerId]);
    expect((await owner.client.request({ method: 'PUT', url: '/v1/customer/pin', body: { pin: '730418' }, headers: { 'x-step-up-grant': resetGrant } })).statusCode).toBe(200);
    await expect(env.koban.identity.verifyChargePin(owner.customerId, '730418')).resolves.toBeUndefined();
  });
});

describe('7pay vector (e): credential stuffing', () => {
  it('throttles a stuffing run from one network while the victim still signs in with a second factor', async () => {
    const victim = await signUp(env.koban);
    const stuffed = async (ip: string, identifier: string) => newClient(env.koban, ip).request({ method: 'POST', url: '/v1/customer/login', body: { identifier, password: 'leaked-elsewhere-123' } });
    const statuses: number[] = [];
    for (let i = 0; i < 25; i++) statuses.push((await stuffed(`192.0.2.${i % 12 + 1}`, `stuffed${i}@example.com`)).statusCode);
    // Each wrong try is answered like a right one (a decoy challenge, login/decoy.ts) but counted as a failure.
    expect(statuses.slice(0, 10).every((s) => s === 200)).toBe(true);
    expect(statuses.slice(-3)).toEqual([429, 429, 429]);
    // Even the right password from that network is refused now, before any hashing.
    const hit = await newClient(env.koban, '192.0.2.200').request({ method: 'POST', url: '/v1/customer/login', body: { identifier: victim.email, password: victim.password } });
    expect(hit.statusCode).toBe(429);
    // The victim, from their own network and a new device, gets in with the SMS code.
    const phone = newClient(env.koban, '198.51.100.99');
    const { challengeId } = (await phone.request({ method: 'POST', url: '/v1/customer/login', body: { identifier: victim.email, password: victim.password } })).json();
    await phone.request({ method: 'POST', url: '/v1/customer/login/second-factor/sms', body: { challengeId } });
    const done = await phone.request({ method: 'POST', url: '/v1/customer/login/second-factor', body: { challengeId, method: 'sms', code: await lastCode(env.koban, victim.phone) } });
    expect(done.json().status).toBe('signed_in');
  });

  it('failures against one account make the second factor mandatory even on a remembered device, never a lockout', async () => {
    const victim = await signUp(env.koban);
    for (let i = 0; i < 5; i++) await newClient(env.koban, `100.64.${i}.1`).request({ method: 'POST', url: '/v1/customer/login', body: { identifier: victim.email, password: `wrong guess ${i}` } });
    const fromOwnDevice = await victim.client.request({ method: 'POST', url: '/v1/customer/login', body: { identifier: victim.email, password: victim.password } });
    expect(fromOwnDevice.statusCode).toBe(200);
    expect(fromOwnDevice.json().status).toBe('second_factor_required');
  });
});

describe('sessions, CSRF and step-up', () => {
  it('refuses a state-changing request without the CSRF token or from another origin', async () => {
    const owner = await signUp(env.koban);
    const noToken = await owner.client.request({ method: 'POST', url: '/v1/customer/sessions/revoke-all', body: {}, headers: { 'x-csrf-token': '' } });
    expect(noToken.json().code).toBe('csrf_failed');
    const crossOrigin = await owner.client.request({ method: 'POST', url: '/v1/customer/sessions/revoke-all', body: {}, headers: { origin: 'https://evil.example' } });
    expect(crossOrigin.json().code).toBe('csrf_failed');
    expect((await owner.client.request({ method: 'GET', url: '/v1/customer/me' })).statusCode).toBe(200);
  });

  it('sets the session in a __Host- cookie that is Secure, HttpOnly and SameSite=Lax, and stores only its hash', async () => {
    const client = newClient(env.koban);
    const owner = await signUp(env.koban);
    const response = await owner.client.request({ method: 'POST', url: '/v1/customer/login', body: { identifier: owner.email, password: owner.password } });
    const cookie = response.cookies.find((c) => c.name === '__Host-koban_session');
    expect(cookie).toMatchObject({ secure: true, httpOnly: true, sameSite: 'Lax', path: '/' });
    const stored = await env.db.pool.query('select 1 from sessions where token_hash::text like $1', [`%${cookie?.value}%`]);
    expect(stored.rowCount).toBe(0);
    expect(client.cookies.size).toBe(0);
  });

  it('rotates the token at step-up (the old one stops working) and ends idle and too-old sessions', async () => {
    const owner = await signUp(env.koban);
    const before = owner.client.cookies.get('__Host-koban_session');
    await stepUpBySms(env.koban, owner, 'change_password', {});
    const after = owner.client.cookies.get('__Host-koban_session');
    expect(after).not.toBe(before);
    const old = await env.koban.app.inject({ method: 'GET', url: '/v1/customer/me', cookies: { '__Host-koban_session': String(before) } });
    expect(old.statusCode).toBe(401);
    await env.db.pool.query(`update sessions set last_seen_at = now() - interval '31 minutes' where customer_id = $1`, [owner.customerId]);
    expect((await owner.client.request({ method: 'GET', url: '/v1/customer/me' })).statusCode).toBe(401);
    const other = await signUp(env.koban);
    await env.db.pool.query(`update sessions set created_at = now() - interval '13 hours' where customer_id = $1`, [other.customerId]);
    expect((await other.client.request({ method: 'GET', url: '/v1/customer/me' })).statusCode).toBe(401);
  });

  it('lists sessions, revokes one, and signs out everywhere', async () => {
    const owner = await signUp(env.koban);
    const second = await owner.client.request({ method: 'POST', url: '/v1/customer/login', body: { identifier: owner.email, password: owner.password } });
    expect(second.json().status).toBe('signed_in');
    const list = (await owner.client.request({ method: 'GET', url: '/v1/customer/sessions' })).json().sessions as Array<{ id: string; current: boolean }>;
    expect(list.length).toBe(2);
    const other = list.find((s) => !s.current);
    expect((await owner.client.request({ method: 'DELETE', url: `/v1/customer/sessions/${other?.id}` })).statusCode).toBe(200);
    expect((await owner.client.request({ method: 'POST', url: '/v1/customer/sessions/revoke-all', body: {} })).statusCode).toBe(200);
    expect((await owner.client.request({ method: 'GET', url: '/v1/customer/me' })).statusCode).toBe(401);
  });

  it('a step-up grant is bound to its action and parameters and is single use (1000 does not authorise 1001)', async () => {
    const owner = await signUp(env.koban);
    const grant = await stepUpBySms(env.koban, owner, 'top_up', { amountMinor: 1000, fundingSourceId: 'card-1' });
    const session = await env.koban.identity.guard({ cookies: { '__Host-koban_session': owner.client.cookies.get('__Host-koban_session') }, headers: {}, method: 'GET' } as never);
    const require = (action: 'top_up' | 'raise_limits', amountMinor: bigint) => env.koban.identity.requireStepUp(env.db.pool, session, grant, action, { amountMinor, fundingSourceId: 'card-1' });
    await expect(require('top_up', 1001n)).rejects.toMatchObject({ code: 'step_up_required' });
    await expect(require('raise_limits', 1000n)).rejects.toMatchObject({ code: 'step_up_required' });
    await expect(require('top_up', 1000n)).resolves.toBeUndefined();
    await expect(require('top_up', 1000n)).rejects.toMatchObject({ code: 'step_up_required' });
  });

  it('accepts a TOTP code once: a replay in the same time step is refused', async () => {
    const owner = await signUp(env.koban);
    const grant = await stepUpBySms(env.koban, owner, 'change_factors', { factor: 'totp' });
    const enrolled = await owner.client.request({ method: 'POST', url: '/v1/customer/totp', body: {}, headers: { 'x-step-up-grant': grant } });
    const { secret } = enrolled.json();
    const code = await generate({ secret });
    expect((await owner.client.request({ method: 'POST', url: '/v1/customer/totp/confirm', body: { code } })).statusCode).toBe(200);
    const start = (await owner.client.request({ method: 'POST', url: '/v1/customer/step-up', body: { action: 'change_password', params: {} } })).json();
    const replay = await owner.client.request({ method: 'POST', url: `/v1/customer/step-up/${start.stepUpId}/verify`, body: { method: 'totp', code } });
    expect(replay.json().code).toBe('step_up_failed');
  });
});
