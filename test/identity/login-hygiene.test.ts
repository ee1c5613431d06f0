// Password hashes follow today's argon2 parameters (AUTH-04), and "your password was entered on a
// new device" cannot be used to bomb a customer with SMS and e-mail; the charge PIN cannot be guessed through its change route.
import { hash } from '@node-rs/argon2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ARGON2_OPTIONS, needsRehash } from '../../src/identity/password/hasher.ts';
import { PASSWORD_PENDING_ALERTS_PER_DAY } from '../../src/identity/login/login.ts';
import { startTestKoban } from '../support/koban.ts';
import { messagesTo, newClient, PUBLIC_URL, signUp, stepUpBySms } from './support.ts';

let env: Awaited<ReturnType<typeof startTestKoban>>;
beforeAll(async () => {
  env = await startTestKoban({ env: { KOBAN_PUBLIC_URL: PUBLIC_URL } });
});
afterAll(async () => {
  await env?.close();
});

const storedHash = async (customerId: string) =>
  (await env.db.pool.query<{ password_hash: string }>('select password_hash from password_credentials where customer_id = $1', [customerId])).rows[0]?.password_hash ?? '';

describe('argon2 parameters (AUTH-04)', () => {
  it('rehashes a password stored with weaker parameters at the next right password, and it still works', async () => {
    const owner = await signUp(env.koban);
    // 2 = Argon2id (a const enum in the package's types).
    const weak = await hash(owner.password, { algorithm: 2, memoryCost: 8192, timeCost: 1, parallelism: 1 } as never);
    await env.db.pool.query('update password_credentials set password_hash = $2 where customer_id = $1', [owner.customerId, weak]);
    expect(needsRehash(weak)).toBe(true);
    const login = await owner.client.request({ method: 'POST', url: '/v1/customer/login', body: { identifier: owner.email, password: owner.password } });
    expect(login.json().status).toBe('signed_in');
    const rehashed = await storedHash(owner.customerId);
    expect(rehashed).not.toBe(weak);
    expect(rehashed).toContain(`$m=${ARGON2_OPTIONS.memoryCost},t=${ARGON2_OPTIONS.timeCost},p=${ARGON2_OPTIONS.parallelism}$`);
    expect(needsRehash(rehashed)).toBe(false);
    expect((await owner.client.request({ method: 'POST', url: '/v1/customer/login', body: { identifier: owner.email, password: owner.password } })).json().status).toBe('signed_in');
    const events = await env.db.pool.query(`select 1 from security_events where customer_id = $1 and event_type = 'password.rehashed'`, [owner.customerId]);
    expect(events.rowCount).toBe(1);
  });

  it('a wrong password never rewrites the stored hash', async () => {
    const owner = await signUp(env.koban);
    const weak = await hash(owner.password, { algorithm: 2, memoryCost: 8192, timeCost: 1, parallelism: 1 } as never);
    await env.db.pool.query('update password_credentials set password_hash = $2 where customer_id = $1', [owner.customerId, weak]);
    const wrong = await owner.client.request({ method: 'POST', url: '/v1/customer/login', body: { identifier: owner.email, password: 'not the password at all' } });
    expect(wrong.json().code).toBe('invalid_credentials');
    expect(await storedHash(owner.customerId)).toBe(weak);
  });
});

describe('"password entered on a new device" alerts', () => {
  it(`go out by SMS and e-mail at most ${PASSWORD_PENDING_ALERTS_PER_DAY} times a day, while the feed and the audit log get every one`, async () => {
    const owner = await signUp(env.koban);
    const attempts = PASSWORD_PENDING_ALERTS_PER_DAY + 3;
    for (let i = 0; i < attempts; i++) {
      const attacker = newClient(env.koban, `203.0.113.${120 + i}`);
      expect((await attacker.request({ method: 'POST', url: '/v1/customer/login', body: { identifier: owner.email, password: owner.password } })).json().status).toBe('second_factor_required');
    }
    const isAlert = (m: { kind: string; body: string }) => m.kind === 'security_alert' && m.body.includes('password was entered correctly');
    expect((await messagesTo(env.koban, owner.email)).filter(isAlert)).toHaveLength(PASSWORD_PENDING_ALERTS_PER_DAY);
    expect((await messagesTo(env.koban, owner.phone)).filter(isAlert)).toHaveLength(PASSWORD_PENDING_ALERTS_PER_DAY);
    const feed = (await owner.client.request({ method: 'GET', url: '/v1/customer/notifications' })).json().notifications as Array<{ body: string }>;
    expect(feed.filter((n) => n.body.includes('password was entered correctly'))).toHaveLength(attempts);
    const audit = await env.db.pool.query(`select 1 from security_events where customer_id = $1 and event_type = 'login.password_correct_second_factor_pending'`, [owner.customerId]);
    expect(audit.rowCount).toBe(attempts);
  });
});

describe('changing the charge PIN', () => {
  it('a wrong current PIN spends the step-up, so one step-up buys one guess at the PIN', async () => {
    const owner = await signUp(env.koban);
    const setPin = (grant: string, body: Record<string, string>) => owner.client.request({ method: 'PUT', url: '/v1/customer/pin', body, headers: { 'x-step-up-grant': grant } });
    expect((await setPin(await stepUpBySms(env.koban, owner, 'change_factors', { factor: 'charge_pin' }), { pin: '480271' })).statusCode).toBe(200);
    const grant = await stepUpBySms(env.koban, owner, 'change_factors', { factor: 'charge_pin' });
    expect((await setPin(grant, { pin: '730418', currentPin: '111119' })).json().code).toBe('pin_wrong');
    expect((await setPin(grant, { pin: '730418', currentPin: '480271' })).json().code).toBe('step_up_required');
    await expect(env.koban.identity.verifyChargePin(owner.customerId, '480271')).resolves.toBeUndefined();
  });
});
