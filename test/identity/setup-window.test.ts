// Fewer codes at sign-up (issue 17): the sign-up's own phone and e-mail codes cover its first setup steps
// (first PIN, first card, first top-up) for 10 minutes on the sign-up's session and device, instead of an
// SMS step-up each. These tests are the threats that window must not open: a stolen session later on, a
// copied session token, a takeover's contact or password change, a second use, a later sign-in.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { messagesTo, newClient, signUp, stepUpBySms, type Customer } from './support.ts';
import { cardBody, CARDS, expectLedgerVerifies, newKey, PIN, startWalletEnv, type WalletEnv } from '../wallet/support.ts';

let w: WalletEnv;
beforeAll(async () => {
  w = await startWalletEnv();
});
afterAll(async () => {
  if (w !== undefined) await expectLedgerVerifies(w.db);
  await w?.close();
});

type StartAnswer = { stepUpId: string; methods: string[]; grant?: string };

async function startWithWindow(customer: Customer, action: string, params: Record<string, string | number>): Promise<StartAnswer> {
  const started = await customer.client.request({ method: 'POST', url: '/v1/customer/step-up', body: { action, params, useSetupWindow: true } });
  expect(started.statusCode).toBe(200);
  return started.json() as StartAnswer;
}

async function setPin(customer: Customer, pin: string, grant: string | undefined) {
  return customer.client.request({ method: 'PUT', url: '/v1/customer/pin', body: { pin }, headers: grant === undefined ? {} : { 'x-step-up-grant': grant } });
}

/** Step-up codes sent to the customer's phone (alerts and receipts are not codes). */
async function smsCount(customer: Customer): Promise<number> {
  return (await messagesTo(w.koban, customer.phone)).filter((message) => message.kind === 'step_up_code').length;
}

/** The clock passes: the window was opened `minutes` ago (only the row's instants move, its length stays). */
async function windowOpenedAgo(customer: Customer, minutes: number): Promise<void> {
  const moved = await w.db.pool.query(
    `update signup_setup_windows set opened_at = opened_at - make_interval(mins => $2), expires_at = expires_at - make_interval(mins => $2) where customer_id = $1`,
    [customer.customerId, minutes]);
  expect(moved.rowCount).toBe(1);
}

describe('the setup window of a fresh sign-up', () => {
  it('sets the first PIN, adds the first card and tops up with no SMS step-up, each grant recorded as setup_window', async () => {
    const customer = await signUp(w.koban);
    const smsBefore = await smsCount(customer);
    const pinGrant = await startWithWindow(customer, 'change_factors', { factor: 'charge_pin' });
    expect(pinGrant).toMatchObject({ methods: [], grant: expect.any(String) });
    expect((await setPin(customer, PIN, pinGrant.grant)).statusCode).toBe(200);

    const cardGrant = await startWithWindow(customer, 'add_funding_source', { kind: 'card', last4: CARDS.visa.slice(-4) });
    const card = await customer.client.request({ method: 'POST', url: '/v1/customer/funding-sources/cards', body: cardBody(CARDS.visa), headers: { 'x-step-up-grant': cardGrant.grant ?? '' } });
    expect(card.statusCode).toBe(201);
    const fundingSourceId = (card.json() as { fundingSourceId: string }).fundingSourceId;

    const topUpGrant = await startWithWindow(customer, 'top_up', { amountMinor: 3000, fundingSourceId });
    const topUp = await customer.client.request({ method: 'POST', url: '/v1/customer/top-ups', body: { fundingSourceId, amount: '3000', pin: PIN },
      headers: { 'x-step-up-grant': topUpGrant.grant ?? '', 'idempotency-key': newKey() } });
    expect(topUp.statusCode).toBe(201);
    expect(topUp.json()).toMatchObject({ status: 'completed', amount: '3000' });

    expect(await smsCount(customer)).toBe(smsBefore);
    expect(smsBefore).toBe(0);
    const events = await w.db.pool.query<{ reasons: string[] }>(
      `select reasons from security_events where customer_id = $1 and event_type = 'step_up' and outcome = 'success' order by occurred_at, id`, [customer.customerId]);
    expect(events.rows.map((row) => row.reasons)).toEqual([
      ['setup_window', 'change_factors', 'charge_pin'], ['setup_window', 'add_funding_source', 'funding_source'], ['setup_window', 'top_up', 'top_up'],
    ]);
  });

  it('a stolen session after the setup window must step up again', async () => {
    const customer = await signUp(w.koban);
    await windowOpenedAgo(customer, 11);
    const started = await startWithWindow(customer, 'change_factors', { factor: 'charge_pin' });
    expect(started.grant).toBeUndefined();
    expect(started.methods).toContain('sms');
    const refused = await setPin(customer, PIN, undefined);
    expect(refused.json().code).toBe('step_up_required');
    expect(await w.db.pool.query('select 1 from charge_pins where customer_id = $1', [customer.customerId])).toMatchObject({ rowCount: 0 });
    // Nothing extends the window: the ordinary step-up still works and the window stays closed afterwards.
    const grant = await stepUpBySms(w.koban, customer, 'change_factors', { factor: 'charge_pin' });
    expect((await setPin(customer, PIN, grant)).statusCode).toBe(200);
    expect((await startWithWindow(customer, 'add_funding_source', { kind: 'card', last4: '4242' })).grant).toBeUndefined();
  });

  it('the setup window does not cover contact or password changes (nor social links, other factors or limits)', async () => {
    const customer = await signUp(w.koban);
    const notCovered: Array<[string, Record<string, string>]> = [
      ['change_email', { email: 'thief@example.net' }], ['change_phone', { phone: '+819099990000' }], ['change_password', {}],
      ['link_social', { providerId: 'dev' }], ['change_factors', { factor: 'totp' }], ['change_factors', { factor: 'recovery_codes' }], ['raise_limits', {}],
    ];
    for (const [action, params] of notCovered) {
      const started = await startWithWindow(customer, action, params);
      expect(started.grant, action).toBeUndefined();
      expect(started.methods.length, action).toBeGreaterThan(0);
    }
    const email = await customer.client.request({ method: 'POST', url: '/v1/customer/contacts/email', body: { email: 'thief@example.net' } });
    expect(email.json().code).toBe('step_up_required');
    const windowUse = await w.db.pool.query(`select 1 from security_events where customer_id = $1 and event_type = 'step_up' and 'setup_window' = any(reasons)`, [customer.customerId]);
    expect(windowUse.rowCount).toBe(0);
  });

  it('a copied session token without its device cookie gets no setup window', async () => {
    const customer = await signUp(w.koban);
    const thief = newClient(w.koban, '203.0.113.66');
    for (const [name, value] of customer.client.cookies) if (name !== '__Host-koban_device') thief.cookies.set(name, value);
    thief.csrf = customer.client.csrf;
    const request = { method: 'POST', url: '/v1/customer/step-up', body: { action: 'change_factors', params: { factor: 'charge_pin' }, useSetupWindow: true } } as const;
    // Without the phone's device key the copied token is refused outright (sessions are bound to their key).
    const keyless = await thief.request(request);
    expect(keyless.statusCode).toBe(401);
    expect(keyless.json().code).toBe('session_proof_invalid');
    // With the key too (malware on the phone) but without the device cookie, there is still no setup window.
    thief.deviceKey = customer.client.deviceKey;
    const started = await thief.request(request);
    expect(started.statusCode).toBe(200);
    expect(started.json().grant).toBeUndefined();
    // The customer's own device still has its window: the thief's attempt spent nothing.
    expect((await startWithWindow(customer, 'change_factors', { factor: 'charge_pin' })).grant).toEqual(expect.any(String));
  });

  it('covers each setup step once: a second top-up grant or a PIN change needs the ordinary step-up', async () => {
    const customer = await signUp(w.koban);
    const first = await startWithWindow(customer, 'top_up', { amountMinor: 1000, fundingSourceId: 'any' });
    expect(first.grant).toEqual(expect.any(String));
    expect((await startWithWindow(customer, 'top_up', { amountMinor: 1000, fundingSourceId: 'any' })).grant).toBeUndefined();
    const pin = await startWithWindow(customer, 'change_factors', { factor: 'charge_pin' });
    expect((await setPin(customer, PIN, pin.grant)).statusCode).toBe(200);
    // The PIN exists now: changing it is what a takeover does next, so the window (still open, step unused or not) never covers it.
    expect((await startWithWindow(customer, 'change_factors', { factor: 'charge_pin' })).grant).toBeUndefined();
  });

  it('a weak PIN is refused before the setup window grant is spent, and the same grant then sets a good PIN', async () => {
    const customer = await signUp(w.koban);
    const { grant } = await startWithWindow(customer, 'change_factors', { factor: 'charge_pin' });
    const weak = await setPin(customer, '123456', grant);
    expect(weak.statusCode).toBe(400);
    expect(weak.json().code).toBe('pin_invalid');
    expect((await setPin(customer, PIN, grant)).statusCode).toBe(200);
  });

  it('a later sign-in on the same device has no setup window (it belongs to the sign-up session only)', async () => {
    const customer = await signUp(w.koban);
    const login = await customer.client.request({ method: 'POST', url: '/v1/customer/login', body: { identifier: customer.email, password: customer.password } });
    expect(login.statusCode).toBe(200);
    expect(login.json().status).toBe('signed_in');
    expect((await startWithWindow(customer, 'change_factors', { factor: 'charge_pin' })).grant).toBeUndefined();
  });

  it('without useSetupWindow the step-up is the ordinary ceremony (API clients see no change)', async () => {
    const customer = await signUp(w.koban);
    const started = await customer.client.request({ method: 'POST', url: '/v1/customer/step-up', body: { action: 'change_factors', params: { factor: 'charge_pin' } } });
    expect(started.json().grant).toBeUndefined();
    expect(started.json().methods).toContain('sms');
  });
});
