// Step-up downgrade (issue 14, STEP-03/05): a customer with a passkey enrolled could still be stepped up
// by SMS for any action, so a thief holding the session and the SIM (swap, or a phished code) outranked
// the passkey. The policy table (src/identity/step-up/policy.ts) now refuses SMS for sensitive actions
// once a passkey exists, and everywhere while risk is elevated: not offered, not sent, not accepted.
import { generate } from 'otplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestKoban } from '../support/koban.ts';
import { lastCode, messagesTo, newClient, PUBLIC_URL, signUp, stepUpByPasskey, stepUpBySms, type Customer } from './support.ts';
import { createSoftAuthenticator, type SoftAuthenticator } from './support/soft-authenticator.ts';

let env: Awaited<ReturnType<typeof startTestKoban>>;
beforeAll(async () => {
  env = await startTestKoban({ env: { KOBAN_PUBLIC_URL: PUBLIC_URL } });
});
afterAll(async () => {
  await env?.close();
});

async function withPasskey(): Promise<{ customer: Customer; authenticator: SoftAuthenticator }> {
  const customer = await signUp(env.koban);
  const authenticator = createSoftAuthenticator(PUBLIC_URL);
  const grant = await stepUpBySms(env.koban, customer, 'change_factors', { factor: 'passkey' });
  const options = (await customer.client.request({ method: 'POST', url: '/v1/customer/passkeys/registration/options', body: {}, headers: { 'x-step-up-grant': grant } })).json();
  const done = await customer.client.request({ method: 'POST', url: '/v1/customer/passkeys/registration', body: { webauthnChallengeId: options.challengeId, credential: authenticator.register(options.options), name: 'Phone' } });
  expect(done.statusCode).toBe(201);
  return { customer, authenticator };
}

const emailOf = async (customerId: string) =>
  (await env.db.pool.query<{ value: string }>(`select value from customer_contacts where customer_id = $1 and kind = 'email'`, [customerId])).rows[0]?.value;

describe('step-up downgrade to SMS', () => {
  it('once a passkey is enrolled, an e-mail change cannot be stepped up by SMS: not offered, no SMS sent, refused with 403, nothing changed', async () => {
    const { customer, authenticator } = await withPasskey();
    const params = { email: 'thief@example.net' };
    const started = await customer.client.request({ method: 'POST', url: '/v1/customer/step-up', body: { action: 'change_email', params } });
    expect(started.json().methods).toEqual(['passkey']);
    const { stepUpId } = started.json() as { stepUpId: string };
    const smsBefore = (await messagesTo(env.koban, customer.phone)).length;
    const send = await customer.client.request({ method: 'POST', url: `/v1/customer/step-up/${stepUpId}/sms`, body: {} });
    expect(send.statusCode).toBe(403);
    expect(send.json()).toMatchObject({ code: 'step_up_method_not_allowed', allowed: ['passkey'] });
    expect(await messagesTo(env.koban, customer.phone)).toHaveLength(smsBefore);
    // Even a code the thief obtained elsewhere (an earlier step-up's) is refused before it is looked at.
    const forced = await customer.client.request({ method: 'POST', url: `/v1/customer/step-up/${stepUpId}/verify`, body: { method: 'sms', code: '123456' } });
    expect(forced.statusCode).toBe(403);
    expect(forced.json().code).toBe('step_up_method_not_allowed');
    const change = await customer.client.request({ method: 'POST', url: '/v1/customer/contacts/email', body: params, headers: { 'x-step-up-grant': 'none' } });
    expect(change.json().code).toBe('step_up_required');
    expect(await emailOf(customer.customerId)).toBe(customer.email);
    const refused = await env.db.pool.query(`select reasons from security_events where customer_id = $1 and event_type = 'step_up' and outcome = 'refused'`, [customer.customerId]);
    expect(refused.rows).toEqual([{ reasons: ['sms', 'change_email', 'policy'] }]);
    // The passkey itself still works for the same action.
    const grant = await stepUpByPasskey(customer, (options) => authenticator.assert(options), 'change_email', params);
    expect((await customer.client.request({ method: 'POST', url: '/v1/customer/contacts/email', body: params, headers: { 'x-step-up-grant': grant } })).statusCode).toBe(202);
  });

  it('top-ups with a passkey enrolled accept the passkey or TOTP, never SMS', async () => {
    const { customer } = await withPasskey();
    const started = await customer.client.request({ method: 'POST', url: '/v1/customer/step-up', body: { action: 'top_up', params: { amountMinor: 5000, fundingSourceId: 'card-1' } } });
    expect(started.json().methods).toEqual(['passkey']);
    const verify = await customer.client.request({ method: 'POST', url: `/v1/customer/step-up/${started.json().stepUpId}/verify`, body: { method: 'sms', code: '123456' } });
    expect(verify.json()).toMatchObject({ code: 'step_up_method_not_allowed', allowed: ['passkey', 'totp'] });
  });

  it('while someone is guessing the account\'s codes (elevated risk), SMS step-ups are refused even without a passkey; TOTP still works', async () => {
    const customer = await signUp(env.koban);
    const grant = await stepUpBySms(env.koban, customer, 'change_factors', { factor: 'totp' });
    const { secret } = (await customer.client.request({ method: 'POST', url: '/v1/customer/totp', body: {}, headers: { 'x-step-up-grant': grant } })).json() as { secret: string };
    expect((await customer.client.request({ method: 'POST', url: '/v1/customer/totp/confirm', body: { code: await generate({ secret }) } })).statusCode).toBe(200);
    // An attacker with the password guesses SMS codes three times over fresh challenges.
    const attacker = newClient(env.koban, '203.0.113.77');
    for (let i = 0; i < 3; i++) {
      const { challengeId } = (await attacker.request({ method: 'POST', url: '/v1/customer/login', body: { identifier: customer.email, password: customer.password } })).json();
      await attacker.request({ method: 'POST', url: '/v1/customer/login/second-factor/sms', body: { challengeId } });
      const code = await lastCode(env.koban, customer.phone);
      await attacker.request({ method: 'POST', url: '/v1/customer/login/second-factor', body: { challengeId, method: 'sms', code: code === '000000' ? '111111' : '000000' } });
    }
    const started = await customer.client.request({ method: 'POST', url: '/v1/customer/step-up', body: { action: 'change_password', params: {} } });
    expect(started.json().methods).toEqual(['totp']);
    const sms = await customer.client.request({ method: 'POST', url: `/v1/customer/step-up/${started.json().stepUpId}/sms`, body: {} });
    expect(sms.json().code).toBe('step_up_method_not_allowed');
    const totp = await customer.client.request({ method: 'POST', url: `/v1/customer/step-up/${started.json().stepUpId}/verify`, body: { method: 'totp', code: await generate({ secret, epoch: Math.floor(Date.now() / 1000) + 30 }) } });
    expect(totp.statusCode).toBe(200);
  });
});
