// Second-factor guessing across fresh challenges (issue 14, OTP-01 "issuing a new code SHALL NOT reset the
// failure counter"): the attacker holds the password and asks for challenge after challenge, guessing SMS,
// TOTP or recovery codes. The counter lives on the account and factor, slows down and then locks the factor
// until the customer recovers; the customer is told and operators get an alert (a case on the account).
import { generate } from 'otplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FACTOR_LOCK_AT, FACTOR_SLOW_FROM } from '../../src/identity/factors/factor-guard.ts';
import { startTestKoban } from '../support/koban.ts';
import { lastCode, messagesTo, newClient, PUBLIC_URL, signUp, stepUpBySms, type Client, type Customer } from './support.ts';

let env: Awaited<ReturnType<typeof startTestKoban>>;
beforeAll(async () => {
  env = await startTestKoban({ env: { KOBAN_PUBLIC_URL: PUBLIC_URL } });
});
afterAll(async () => {
  await env?.close();
});

const wrong = (code: string) => `${code.slice(0, 5)}${(Number(code[5]) + 1) % 10}`;

async function freshChallenge(attacker: Client, owner: Customer): Promise<string> {
  const login = await attacker.request({ method: 'POST', url: '/v1/customer/login', body: { identifier: owner.email, password: owner.password } });
  expect(login.json().status).toBe('second_factor_required');
  return login.json().challengeId as string;
}

async function operatorSees(customerId: string): Promise<{ locked: number; signals: number; cases: number }> {
  const count = async (sql: string) => Number((await env.db.pool.query<{ n: string }>(sql, [customerId])).rows[0]?.n ?? 0);
  return {
    locked: await count(`select count(*) as n from security_events where customer_id = $1 and event_type = 'factor.locked'`),
    signals: await count(`select count(*) as n from risk_events where account_id = $1::text and kind = 'security_signal' and decision = 'review'`),
    cases: await count(`select count(*) as n from cases where account_id = $1 and status = 'open'`),
  };
}

describe('second-factor guessing across fresh challenges', () => {
  it('SMS codes guessed over many fresh sign-in challenges lock the SMS factor for the account; only recovery lifts it', async () => {
    const owner = await signUp(env.koban);
    const attacker = newClient(env.koban, '203.0.113.50');
    let guesses = 0;
    let challenges = 0;
    while (guesses < FACTOR_LOCK_AT) {
      const challengeId = await freshChallenge(attacker, owner);
      challenges++;
      expect((await attacker.request({ method: 'POST', url: '/v1/customer/login/second-factor/sms', body: { challengeId } })).statusCode).toBe(202);
      const code = await lastCode(env.koban, owner.phone);
      for (let i = 0; i < 2 && guesses < FACTOR_LOCK_AT; i++, guesses++) {
        const guess = await attacker.request({ method: 'POST', url: '/v1/customer/login/second-factor', body: { challengeId, method: 'sms', code: wrong(code) } });
        expect(guess.json().code).toBe('second_factor_failed');
      }
    }
    // A new challenge brings neither a new SMS nor new guesses, and even the right code is refused now.
    const smsBefore = (await messagesTo(env.koban, owner.phone)).filter((m) => m.kind === 'login_code').length;
    expect(smsBefore).toBe(challenges);
    const challengeId = await freshChallenge(attacker, owner);
    const send = await attacker.request({ method: 'POST', url: '/v1/customer/login/second-factor/sms', body: { challengeId } });
    expect(send.statusCode).toBe(423);
    expect(send.json()).toMatchObject({ code: 'factor_locked', factor: 'sms' });
    expect((await messagesTo(env.koban, owner.phone)).filter((m) => m.kind === 'login_code')).toHaveLength(smsBefore);
    const code = await lastCode(env.koban, owner.phone);
    const right = await attacker.request({ method: 'POST', url: '/v1/customer/login/second-factor', body: { challengeId, method: 'sms', code } });
    expect(right.statusCode).toBe(423);
    expect(right.json().code).toBe('factor_locked');
    expect(attacker.cookies.has('__Host-koban_session')).toBe(false);
    // The methods a new device sees are the same for every account (login/decoy.ts); the locked one stays refused.
    expect(await freshChallengeMethods(attacker, owner)).toEqual(['passkey', 'totp', 'sms', 'recovery_code']);
    // Seen: the customer on every contact and in the feed, operators as an alert joined to a case.
    expect((await messagesTo(env.koban, owner.email)).some((m) => m.kind === 'security_alert' && m.body.includes('locked'))).toBe(true);
    expect(await operatorSees(owner.customerId)).toEqual({ locked: 1, signals: 1, cases: 1 });

    // Recovery (SMS + e-mail codes) is the one way back, and it lifts the lock.
    const recovering = newClient(env.koban, '198.51.100.200');
    const started = await recovering.request({ method: 'POST', url: '/v1/customer/recovery', body: { identifier: owner.email } });
    const { recoveryId } = started.json() as { recoveryId: string };
    const done = await recovering.request({ method: 'POST', url: '/v1/customer/recovery/complete', body: {
      recoveryId, smsCode: await lastCode(env.koban, owner.phone), emailCode: await lastCode(env.koban, owner.email), newPassword: 'a brand new passphrase, river stones',
    } });
    expect(done.json()).toEqual({ status: "ok" });
    const relogin = await recovering.request({ method: 'POST', url: '/v1/customer/login', body: { identifier: owner.email, password: 'a brand new passphrase, river stones' } });
    expect(relogin.json().methods).toContain('sms');
    const afterId = relogin.json().challengeId as string;
    expect((await recovering.request({ method: 'POST', url: '/v1/customer/login/second-factor/sms', body: { challengeId: afterId } })).statusCode).toBe(202);
    const signedIn = await recovering.request({ method: 'POST', url: '/v1/customer/login/second-factor', body: { challengeId: afterId, method: 'sms', code: await lastCode(env.koban, owner.phone) } });
    expect(signedIn.statusCode).toBe(200);
  });

  it('TOTP codes guessed over fresh challenges lock TOTP for the account', async () => {
    const owner = await signUp(env.koban);
    const grant = await stepUpBySms(env.koban, owner, 'change_factors', { factor: 'totp' });
    const { secret } = (await owner.client.request({ method: 'POST', url: '/v1/customer/totp', body: {}, headers: { 'x-step-up-grant': grant } })).json() as { secret: string };
    expect((await owner.client.request({ method: 'POST', url: '/v1/customer/totp/confirm', body: { code: await generate({ secret }) } })).statusCode).toBe(200);
    const attacker = newClient(env.koban, '203.0.113.51');
    for (let guesses = 0; guesses < FACTOR_LOCK_AT; guesses += 2) {
      const challengeId = await freshChallenge(attacker, owner);
      for (let i = 0; i < 2; i++) {
        const code = await generate({ secret });
        const guess = await attacker.request({ method: 'POST', url: '/v1/customer/login/second-factor', body: { challengeId, method: 'totp', code: wrong(code) } });
        expect(guess.json().code).toBe('second_factor_failed');
      }
    }
    const challengeId = await freshChallenge(attacker, owner);
    const right = await attacker.request({ method: 'POST', url: '/v1/customer/login/second-factor', body: { challengeId, method: 'totp', code: await generate({ secret }) } });
    expect(right.statusCode).toBe(423);
    expect(right.json()).toMatchObject({ code: 'factor_locked', factor: 'totp' });
    expect(attacker.cookies.has('__Host-koban_session')).toBe(false);
    expect((await operatorSees(owner.customerId)).locked).toBe(1);
  });

  it('recovery codes guessed over fresh challenges lock recovery codes as a second factor', async () => {
    const owner = await signUp(env.koban);
    const grant = await stepUpBySms(env.koban, owner, 'change_factors', { factor: 'recovery_codes' });
    const { codes } = (await owner.client.request({ method: 'POST', url: '/v1/customer/recovery-codes', body: {}, headers: { 'x-step-up-grant': grant } })).json() as { codes: string[] };
    const attacker = newClient(env.koban, '203.0.113.52');
    for (let guesses = 0; guesses < FACTOR_LOCK_AT; guesses++) {
      const challengeId = await freshChallenge(attacker, owner);
      const guess = await attacker.request({ method: 'POST', url: '/v1/customer/login/second-factor', body: { challengeId, method: 'recovery_code', code: `aaaa-bbbb-cccc-${String(guesses).padStart(4, '2')}` } });
      expect(guess.json().code).toBe('second_factor_failed');
    }
    const challengeId = await freshChallenge(attacker, owner);
    const right = await attacker.request({ method: 'POST', url: '/v1/customer/login/second-factor', body: { challengeId, method: 'recovery_code', code: codes[0] } });
    expect(right.json()).toMatchObject({ code: 'factor_locked', factor: 'recovery_code' });
    // The right code was not spent by the refused attempt.
    expect((await env.db.pool.query('select 1 from recovery_codes where customer_id = $1 and used_at is null', [owner.customerId])).rowCount).toBe(codes.length);
  });

  it('SMS step-up guessing over fresh step-ups counts on the account, and from the slow-down on the policy refuses SMS step-ups', async () => {
    const owner = await signUp(env.koban);
    const freshStepUp = async () => (await owner.client.request({ method: 'POST', url: '/v1/customer/step-up', body: { action: 'change_password', params: {} } })).json() as { stepUpId?: string; methods?: string[]; code?: string };
    for (let guesses = 0; guesses < FACTOR_SLOW_FROM; guesses++) {
      const { stepUpId } = await freshStepUp();
      await owner.client.request({ method: 'POST', url: `/v1/customer/step-up/${stepUpId}/sms`, body: {} });
      const code = await lastCode(env.koban, owner.phone);
      const guess = await owner.client.request({ method: 'POST', url: `/v1/customer/step-up/${stepUpId}/verify`, body: { method: 'sms', code: wrong(code) } });
      expect(guess.json().code).toBe('step_up_failed');
    }
    const failures = await env.db.pool.query(`select failures from factor_failures where customer_id = $1 and factor = 'sms'`, [owner.customerId]);
    expect(failures.rows).toEqual([{ failures: FACTOR_SLOW_FROM }]);
    // Risk is elevated now: SMS is the only factor this customer has, so no step-up can start, and nothing is sent.
    const smsBefore = (await messagesTo(env.koban, owner.phone)).length;
    expect(await freshStepUp()).toMatchObject({ code: 'step_up_method_not_allowed' });
    expect(await messagesTo(env.koban, owner.phone)).toHaveLength(smsBefore);
  });
});

describe('second-factor slow-down before the lock', () => {
  let slow: Awaited<ReturnType<typeof startTestKoban>>;
  beforeAll(async () => {
    slow = await startTestKoban({ env: { KOBAN_PUBLIC_URL: PUBLIC_URL, KOBAN_FACTOR_SLOWDOWN_BASE_MS: '60000' } });
  });
  afterAll(async () => {
    await slow?.close();
  });

  it(`after ${FACTOR_SLOW_FROM} wrong SMS codes the next attempt must wait, even with the right code, and a fresh challenge does not help`, async () => {
    const owner = await signUp(slow.koban);
    const attacker = newClient(slow.koban, '203.0.113.53');
    let challengeId = '';
    for (let i = 0; i < FACTOR_SLOW_FROM; i++) {
      challengeId = await freshChallenge(attacker, owner);
      await attacker.request({ method: 'POST', url: '/v1/customer/login/second-factor/sms', body: { challengeId } });
      const code = await lastCode(slow.koban, owner.phone);
      expect((await attacker.request({ method: 'POST', url: '/v1/customer/login/second-factor', body: { challengeId, method: 'sms', code: wrong(code) } })).json().code).toBe('second_factor_failed');
    }
    challengeId = await freshChallenge(attacker, owner);
    await attacker.request({ method: 'POST', url: '/v1/customer/login/second-factor/sms', body: { challengeId } });
    const right = await attacker.request({ method: 'POST', url: '/v1/customer/login/second-factor', body: { challengeId, method: 'sms', code: await lastCode(slow.koban, owner.phone) } });
    expect(right.statusCode).toBe(429);
    expect(right.json()).toMatchObject({ code: 'factor_slowed_down', factor: 'sms' });
    expect(right.json().retryAfterSeconds).toBeGreaterThanOrEqual(1);
    expect(attacker.cookies.has('__Host-koban_session')).toBe(false);
    const events = await slow.db.pool.query(`select 1 from security_events where customer_id = $1 and event_type = 'login.second_factor' and outcome = 'failure'`, [owner.customerId]);
    expect(events.rowCount).toBe(FACTOR_SLOW_FROM);
  });
});

async function freshChallengeMethods(attacker: Client, owner: Customer): Promise<string[]> {
  const login = await attacker.request({ method: 'POST', url: '/v1/customer/login', body: { identifier: owner.email, password: owner.password } });
  return login.json().methods as string[];
}
