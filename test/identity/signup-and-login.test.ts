// Sign-up, enumeration resistance, one-time codes, login with second factor on new devices.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestKoban } from '../support/koban.ts';
import { lastCode, messagesTo, newClient, PUBLIC_URL, signUp, uniqueContacts } from './support.ts';

let env: Awaited<ReturnType<typeof startTestKoban>>;
beforeAll(async () => {
  env = await startTestKoban({ env: { KOBAN_PUBLIC_URL: PUBLIC_URL } });
});
afterAll(async () => {
  await env?.close();
});

describe('sign-up', () => {
  it('creates the customer only after both the phone and the e-mail codes are entered', async () => {
    const customer = await signUp(env.koban);
    const me = await customer.client.request({ method: 'GET', url: '/v1/customer/me' });
    expect(me.statusCode).toBe(200);
    expect(me.json().contacts).toEqual([{ kind: 'email', value: customer.email }, { kind: 'phone', value: customer.phone }]);
  });

  it('refuses a common password, a password containing the e-mail, and a too short one, changing nothing', async () => {
    const { email, phone } = uniqueContacts();
    const client = newClient(env.koban);
    for (const [password, code] of [['password123', 'password_blocklisted'], [`${email.split('@')[0]}!x`, 'password_blocklisted'], ['short', 'password_too_short']] as const) {
      const response = await client.request({ method: 'POST', url: '/v1/customer/signup', body: { email, phone, password } });
      expect(response.statusCode).toBe(400);
      expect(response.json().code).toBe(code);
    }
    expect(await messagesTo(env.koban, email)).toEqual([]);
  });

  it('does not reveal whether a phone or e-mail is registered (same status and body shape)', async () => {
    const existing = await signUp(env.koban);
    const fresh = uniqueContacts();
    const client = newClient(env.koban);
    const a = await client.request({ method: 'POST', url: '/v1/customer/signup', body: { email: existing.email, phone: existing.phone, password: 'another long passphrase' } });
    const b = await client.request({ method: 'POST', url: '/v1/customer/signup', body: { email: fresh.email, phone: fresh.phone, password: 'another long passphrase' } });
    expect(a.statusCode).toBe(b.statusCode);
    expect(Object.keys(a.json())).toEqual(Object.keys(b.json()));
    // The owner of the registered address gets a notice, never a code that would let someone claim it.
    const notice = (await messagesTo(env.koban, existing.email))[0];
    expect(notice?.kind).toBe('signup_already_registered');
    expect(notice?.body).not.toMatch(/\b[0-9]{6}\b/);
  });

  it('an unverified sign-up claims nothing: a later verified sign-up of the same e-mail removes it (pre-hijacking)', async () => {
    const { email, phone } = uniqueContacts();
    const attacker = newClient(env.koban, '203.0.113.9');
    const squat = await attacker.request({ method: 'POST', url: '/v1/customer/signup', body: { email, phone: '+819011112222', password: 'attacker chosen passphrase' } });
    const squatId = squat.json().signupId as string;
    const victim = newClient(env.koban);
    const started = await victim.request({ method: 'POST', url: '/v1/customer/signup', body: { email, phone, password: 'victim own passphrase' } });
    const { signupId } = started.json();
    await victim.request({ method: 'POST', url: '/v1/customer/signup/verify', body: { signupId, channel: 'email', code: await lastCode(env.koban, email) } });
    const done = await victim.request({ method: 'POST', url: '/v1/customer/signup/verify', body: { signupId, channel: 'phone', code: await lastCode(env.koban, phone) } });
    expect(done.statusCode).toBe(200);
    const left = await env.db.pool.query('select 1 from signups where id = $1', [squatId]);
    expect(left.rowCount).toBe(0);
  });

  it('a code is single use, and five wrong codes burn it even for the right code afterwards', async () => {
    const { email, phone } = uniqueContacts();
    const client = newClient(env.koban);
    const { signupId } = (await client.request({ method: 'POST', url: '/v1/customer/signup', body: { email, phone, password: 'a fine long passphrase' } })).json();
    const code = await lastCode(env.koban, email);
    const wrong = code === '000000' ? '111111' : '000000';
    for (let i = 0; i < 5; i++) {
      const response = await client.request({ method: 'POST', url: '/v1/customer/signup/verify', body: { signupId, channel: 'email', code: wrong } });
      expect(response.json().code).toBe('verification_failed');
    }
    const right = await client.request({ method: 'POST', url: '/v1/customer/signup/verify', body: { signupId, channel: 'email', code } });
    expect(right.json().code).toBe('verification_failed');
    // The phone code works once, then never again.
    const phoneCode = await lastCode(env.koban, phone);
    expect((await client.request({ method: 'POST', url: '/v1/customer/signup/verify', body: { signupId, channel: 'phone', code: phoneCode } })).json().status).toBe('pending');
    expect((await client.request({ method: 'POST', url: '/v1/customer/signup/verify', body: { signupId, channel: 'phone', code: phoneCode } })).json().code).toBe('verification_failed');
  });

  it('an expired code is refused', async () => {
    const { email, phone } = uniqueContacts();
    const client = newClient(env.koban);
    const { signupId } = (await client.request({ method: 'POST', url: '/v1/customer/signup', body: { email, phone, password: 'a fine long passphrase' } })).json();
    const code = await lastCode(env.koban, email);
    await env.db.pool.query(`update one_time_codes set expires_at = now() - interval '1 second' where subject_id = $1`, [signupId]);
    expect((await client.request({ method: 'POST', url: '/v1/customer/signup/verify', body: { signupId, channel: 'email', code } })).json().code).toBe('verification_failed');
  });

  it('limits resends, and a resend does not reset the failure count', async () => {
    const { email, phone } = uniqueContacts();
    const client = newClient(env.koban);
    const { signupId } = (await client.request({ method: 'POST', url: '/v1/customer/signup', body: { email, phone, password: 'a fine long passphrase' } })).json();
    await client.request({ method: 'POST', url: '/v1/customer/signup/verify', body: { signupId, channel: 'email', code: 'abcdef' } });
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await client.request({ method: 'POST', url: '/v1/customer/signup/resend', body: { signupId, channel: 'email' } })).statusCode);
    expect(statuses).toEqual([202, 202, 202, 429]);
    const row = await env.db.pool.query<{ attempts: number }>(`select attempts from one_time_codes where subject_id = $1 and purpose = 'signup_email'`, [signupId]);
    expect(row.rows[0]?.attempts).toBe(1);
  });
});

describe('login', () => {
  it('answers an unknown identifier and a wrong password alike: a challenge on a new device, invalid_credentials on the own one', async () => {
    const customer = await signUp(env.koban);
    const client = newClient(env.koban, '198.51.100.20');
    const unknown = await client.request({ method: 'POST', url: '/v1/customer/login', body: { identifier: 'nobody@example.com', password: 'whatever passphrase' } });
    const wrong = await client.request({ method: 'POST', url: '/v1/customer/login', body: { identifier: customer.email, password: 'whatever passphrase' } });
    expect([unknown.statusCode, wrong.statusCode]).toEqual([200, 200]);
    const strip = (body: Record<string, unknown>) => ({ ...body, challengeId: undefined });
    expect(strip(unknown.json())).toEqual(strip(wrong.json()));
    expect(wrong.json().status).toBe('second_factor_required');
    const own = await customer.client.request({ method: 'POST', url: '/v1/customer/login', body: { identifier: customer.email, password: 'whatever passphrase' } });
    expect([own.statusCode, own.json().code]).toEqual([401, 'invalid_credentials']);
  });

  it('7pay vector (b): a right password from a new device is refused a session without a second factor', async () => {
    const customer = await signUp(env.koban);
    const attacker = newClient(env.koban, '203.0.113.50');
    const response = await attacker.request({ method: 'POST', url: '/v1/customer/login', body: { identifier: customer.email, password: customer.password } });
    expect(response.statusCode).toBe(200);
    expect(response.json().status).toBe('second_factor_required');
    expect(attacker.cookies.has('__Host-koban_session')).toBe(false);
    expect((await attacker.request({ method: 'GET', url: '/v1/customer/me' })).statusCode).toBe(401);
    // Guessing the SMS code fails, the challenge dies after 5 tries, and the victim is told.
    const { challengeId } = response.json();
    for (let i = 0; i < 5; i++) {
      expect((await attacker.request({ method: 'POST', url: '/v1/customer/login/second-factor', body: { challengeId, method: 'sms', code: String(100000 + i) } })).statusCode).toBe(401);
    }
    expect((await attacker.request({ method: 'POST', url: '/v1/customer/login/second-factor', body: { challengeId, method: 'sms', code: '123456' } })).json().code).toBe('login_challenge_invalid');
    expect((await messagesTo(env.koban, customer.email)).some((m) => m.body.includes('password was entered correctly') || m.kind === 'security_alert')).toBe(true);
  });

  it('signs in on a new device with the SMS code, remembers the device, and alerts every verified contact', async () => {
    const customer = await signUp(env.koban);
    const laptop = newClient(env.koban, '198.51.100.30');
    const { challengeId } = (await laptop.request({ method: 'POST', url: '/v1/customer/login', body: { identifier: customer.phone, password: customer.password } })).json();
    expect((await laptop.request({ method: 'POST', url: '/v1/customer/login/second-factor/sms', body: { challengeId } })).statusCode).toBe(202);
    const done = await laptop.request({ method: 'POST', url: '/v1/customer/login/second-factor', body: { challengeId, method: 'sms', code: await lastCode(env.koban, customer.phone) } });
    expect(done.statusCode).toBe(200);
    expect(done.json().status).toBe('signed_in');
    const emailAlerts = (await messagesTo(env.koban, customer.email)).filter((m) => m.kind === 'security_alert');
    expect(emailAlerts.some((m) => m.body.includes('new device'))).toBe(true);
    // Next time, the remembered device needs only the password.
    const again = await laptop.request({ method: 'POST', url: '/v1/customer/login', body: { identifier: customer.email, password: customer.password } });
    expect(again.json().status).toBe('signed_in');
    const audit = await env.db.pool.query(`select 1 from security_events where customer_id = $1 and event_type = 'login.new_device'`, [customer.customerId]);
    expect(audit.rowCount).toBe(1);
  });

  it('a second-factor challenge cannot be completed from another device', async () => {
    const customer = await signUp(env.koban);
    const started = newClient(env.koban, '198.51.100.31');
    const { challengeId } = (await started.request({ method: 'POST', url: '/v1/customer/login', body: { identifier: customer.email, password: customer.password } })).json();
    await started.request({ method: 'POST', url: '/v1/customer/login/second-factor/sms', body: { challengeId } });
    const code = await lastCode(env.koban, customer.phone);
    const other = newClient(env.koban, '198.51.100.32');
    const response = await other.request({ method: 'POST', url: '/v1/customer/login/second-factor', body: { challengeId, method: 'sms', code } });
    expect(response.json().code).toBe('login_challenge_invalid');
  });
});
