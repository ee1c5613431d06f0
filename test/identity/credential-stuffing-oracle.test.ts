// Credential stuffing as an oracle (issue 13): a right password on a new device used to answer
// `second_factor_required` with the account's own methods, a wrong one `invalid_credentials`, so a leaked
// list confirmed every right password without ever passing the second factor. Now a wrong password or an
// unknown identifier on a device the account does not remember gets a decoy challenge (login/decoy.ts), and
// nothing at either step tells the two apart — not the answer, not the methods, not the passkey options, not
// the SMS step, not the failures — while Koban still counts every wrong password as the failure it is.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { LightMyRequestResponse } from 'fastify';
import { startTestKoban } from '../support/koban.ts';
import { lastCode, messagesTo, newClient, PUBLIC_URL, signUp, type Client, type Customer } from './support.ts';

let env: Awaited<ReturnType<typeof startTestKoban>>;
const operator = { kind: 'operator' as const, id: 'op-stuffing-oracle-test' };
const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
let network = 0;

beforeAll(async () => {
  env = await startTestKoban({ env: { KOBAN_PUBLIC_URL: PUBLIC_URL } });
});
afterAll(async () => {
  await env?.close();
});

/** A stuffing bot's fresh device, each from a network of its own. */
function attackerDevice(): Client {
  network++;
  return newClient(env.koban, `100.${64 + (network % 50)}.${network % 250}.9`);
}

const login = (client: Client, identifier: string, password: string) => client.request({ method: 'POST', url: '/v1/customer/login', body: { identifier, password } });
const post = (client: Client, url: string, body: unknown) => client.request({ method: 'POST', url, body });

/** What the attacker can compare: the status and the body, without the per-request and per-challenge ids. */
function seen(response: LightMyRequestResponse): { status: number; body: Record<string, unknown> } {
  const { requestId: _r, instance: _i, challengeId, ...body } = response.json() as Record<string, unknown>;
  if (challengeId !== undefined) body.challengeIdFormat = UUID_V7.test(String(challengeId));
  return { status: response.statusCode, body };
}

/** Passkey options, minus the random challenge and its id: everything else must match. */
function optionsShape(response: LightMyRequestResponse): unknown {
  const { challengeId, options } = response.json() as { challengeId: string; options: Record<string, unknown> };
  const { challenge, ...rest } = options;
  return { status: response.statusCode, challengeIdFormat: UUID_V7.test(challengeId), challengeLength: String(challenge).length, rest };
}

async function loginCodesTo(customer: Customer): Promise<number> {
  return (await messagesTo(env.koban, customer.phone)).filter((m) => m.kind === 'login_code').length;
}

describe('stuffing cannot tell a right password from a wrong one on a new device', () => {
  it('same status, same body keys, same methods and id format at the first step, for a right password, a wrong one and an unknown identifier', async () => {
    const victim = await signUp(env.koban);
    const right = await login(attackerDevice(), victim.email, victim.password);
    const wrong = await login(attackerDevice(), victim.email, 'autumn2019! leaked elsewhere');
    const unknown = await login(attackerDevice(), 'never-a-customer@mail.example', 'autumn2019! leaked elsewhere');
    expect(seen(right)).toEqual({ status: 200, body: { status: 'second_factor_required', methods: ['passkey', 'totp', 'sms', 'recovery_code'], challengeIdFormat: true } });
    expect(seen(wrong)).toEqual(seen(right));
    expect(seen(unknown)).toEqual(seen(right));
    expect(Object.keys(wrong.json())).toEqual(Object.keys(right.json()));
  });

  it('the passkey options of the second step have the same shape and name no credential, even for an account with none', async () => {
    const victim = await signUp(env.koban);
    const rightDevice = attackerDevice();
    const wrongDevice = attackerDevice();
    const right = (await login(rightDevice, victim.email, victim.password)).json() as { challengeId: string };
    const wrong = (await login(wrongDevice, victim.email, 'not the password, from a list')).json() as { challengeId: string };
    const rightOptions = await post(rightDevice, '/v1/customer/login/second-factor/passkey-options', { challengeId: right.challengeId });
    const wrongOptions = await post(wrongDevice, '/v1/customer/login/second-factor/passkey-options', { challengeId: wrong.challengeId });
    expect(optionsShape(wrongOptions)).toEqual(optionsShape(rightOptions));
    expect(rightOptions.json().options.allowCredentials ?? []).toEqual([]);
  });

  it('the SMS step answers the same, and a decoy sends nothing to the account\'s phone', async () => {
    const victim = await signUp(env.koban);
    const rightDevice = attackerDevice();
    const wrongDevice = attackerDevice();
    const right = (await login(rightDevice, victim.email, victim.password)).json() as { challengeId: string };
    const wrong = (await login(wrongDevice, victim.email, 'not the password, from a list')).json() as { challengeId: string };
    const before = await loginCodesTo(victim);
    const decoySends: Array<ReturnType<typeof seen>> = [];
    const realSends: Array<ReturnType<typeof seen>> = [];
    // Past the resend limit: both refuse at the same moment with the same answer.
    for (let i = 0; i < 5; i++) {
      decoySends.push(seen(await post(wrongDevice, '/v1/customer/login/second-factor/sms', { challengeId: wrong.challengeId })));
      realSends.push(seen(await post(rightDevice, '/v1/customer/login/second-factor/sms', { challengeId: right.challengeId })));
    }
    expect(decoySends).toEqual(realSends);
    expect(realSends[0]).toEqual({ status: 202, body: { status: 'ok' } });
    expect(realSends.at(-1)?.body.code).toBe('resend_limit_reached');
    // Only the real challenge's codes reached the phone.
    expect(await loginCodesTo(victim)).toBe(before + realSends.filter((s) => s.status === 202).length);
  });

  it('every second-factor method fails the same on a decoy as a wrong code on a real challenge, and both die after the same number of attempts', async () => {
    const victim = await signUp(env.koban);
    const rightDevice = attackerDevice();
    const wrongDevice = attackerDevice();
    const right = (await login(rightDevice, victim.email, victim.password)).json() as { challengeId: string };
    const wrong = (await login(wrongDevice, victim.email, 'not the password, from a list')).json() as { challengeId: string };
    await post(rightDevice, '/v1/customer/login/second-factor/sms', { challengeId: right.challengeId });
    await post(wrongDevice, '/v1/customer/login/second-factor/sms', { challengeId: wrong.challengeId });
    const guesses = [
      { method: 'sms', code: '000000' }, { method: 'totp', code: '123456' }, { method: 'recovery_code', code: 'abcd-efgh-jkmn-pqrs' },
      { method: 'sms', code: '999999' }, { method: 'totp', code: '654321' }, { method: 'sms', code: '111111' },
    ];
    const onReal: Array<ReturnType<typeof seen>> = [];
    const onDecoy: Array<ReturnType<typeof seen>> = [];
    for (const guess of guesses) {
      onReal.push(seen(await post(rightDevice, '/v1/customer/login/second-factor', { challengeId: right.challengeId, ...guess })));
      onDecoy.push(seen(await post(wrongDevice, '/v1/customer/login/second-factor', { challengeId: wrong.challengeId, ...guess })));
    }
    expect(onDecoy).toEqual(onReal);
    expect(onReal[0]).toMatchObject({ status: 401, body: { code: 'second_factor_failed', title: 'The password or the code was wrong', detail: 'the password or the code was wrong; start the sign-in again' } });
    expect(onReal.map((s) => s.body.code)).toEqual([...Array(5).fill('second_factor_failed'), 'login_challenge_invalid']);
    expect(rightDevice.cookies.has('__Host-koban_session')).toBe(false);
    expect(wrongDevice.cookies.has('__Host-koban_session')).toBe(false);
  });

  it('a decoy never completes, even with the code the real phone received', async () => {
    const victim = await signUp(env.koban);
    const device = attackerDevice();
    const decoy = (await login(device, victim.email, 'not the password, from a list')).json() as { challengeId: string };
    await post(device, '/v1/customer/login/second-factor/sms', { challengeId: decoy.challengeId });
    // The victim signing in on a laptop meanwhile: their code is real, but it is not the decoy's.
    const laptop = newClient(env.koban, '192.0.2.77');
    const real = (await login(laptop, victim.email, victim.password)).json() as { challengeId: string };
    await post(laptop, '/v1/customer/login/second-factor/sms', { challengeId: real.challengeId });
    const code = await lastCode(env.koban, victim.phone);
    expect((await post(device, '/v1/customer/login/second-factor', { challengeId: decoy.challengeId, method: 'sms', code })).json().code).toBe('second_factor_failed');
    expect((await post(laptop, '/v1/customer/login/second-factor', { challengeId: real.challengeId, method: 'sms', code })).json().status).toBe('signed_in');
  });
});

describe('what Koban still counts', () => {
  it('a wrong password behind a decoy is recorded as a failure, and decoy guesses count on no account (a stranger cannot lock the victim\'s factors)', async () => {
    const victim = await signUp(env.koban);
    const device = attackerDevice();
    const decoy = (await login(device, victim.email, 'not the password, from a list')).json() as { challengeId: string };
    for (let i = 0; i < 5; i++) await post(device, '/v1/customer/login/second-factor', { challengeId: decoy.challengeId, method: 'sms', code: `12345${i}` });
    const failures = await env.db.pool.query(`select reasons from security_events where customer_id = $1 and event_type = 'login.password' and outcome = 'failure'`, [victim.customerId]);
    expect(failures.rows).toEqual([{ reasons: ['wrong_password'] }]);
    expect((await env.db.pool.query(`select 1 from security_events where customer_id = $1 and event_type = 'login.second_factor_required'`, [victim.customerId])).rowCount).toBe(0);
    expect((await env.db.pool.query('select 1 from factor_failures where customer_id = $1', [victim.customerId])).rowCount).toBe(0);
    expect((await env.db.pool.query('select customer_id, decoy from login_challenges where id = $1', [decoy.challengeId])).rows).toEqual([{ customer_id: null, decoy: true }]);
    // No "your password was entered" alert for a wrong password.
    expect((await messagesTo(env.koban, victim.email)).some((m) => m.body.includes('password was entered correctly'))).toBe(false);
  });

  it('stuffing millions of identifiers does not grow the decoys\' shadow guard for ever: idle rows are purged (a locked one much later), active ones kept', async () => {
    const device = attackerDevice();
    const decoy = (await login(device, `nobody-${network}@example.com`, 'from a list')).json() as { challengeId: string };
    await post(device, '/v1/customer/login/second-factor', { challengeId: decoy.challengeId, method: 'totp', code: '123456' });
    const subjectOf = await env.db.pool.query<{ decoy_subject: Buffer }>('select decoy_subject from login_challenges where id = $1', [decoy.challengeId]);
    const subject = subjectOf.rows[0]?.decoy_subject;
    expect(subject).toBeInstanceOf(Buffer);
    const rows = () => env.db.pool.query('select 1 from login_decoy_factor_failures where subject = $1', [subject]).then((r) => r.rowCount);
    expect(await rows()).toBe(1);
    await env.koban.identity.purgeExpired();
    expect(await rows()).toBe(1); // active: kept
    await env.db.pool.query(`update login_decoy_factor_failures set last_attempt_at = now() - interval '31 days', locked_at = now() - interval '31 days' where subject = $1`, [subject]);
    await env.koban.identity.purgeExpired();
    expect(await rows()).toBe(1); // locked: kept for half a year
    await env.db.pool.query(`update login_decoy_factor_failures set locked_at = null where subject = $1`, [subject]);
    await env.koban.identity.purgeExpired();
    expect(await rows()).toBe(0);
  });

  it('on the customer\'s own remembered device a wrong password still says invalid_credentials and a right one signs in', async () => {
    const customer = await signUp(env.koban);
    expect((await login(customer.client, customer.email, 'a typo in the passphrase')).json().code).toBe('invalid_credentials');
    expect((await login(customer.client, customer.email, customer.password)).json().status).toBe('signed_in');
  });
});

describe('a forced reset and a risk refusal are no oracle on a new device', () => {
  const defaults = { enabled: true, action: 'challenge' as const, params: { accountFailuresMax: 5, networkFailuresMax: 30 } };
  afterEach(async () => {
    await env.koban.risk.settings.updateRule('failure_burst', defaults, operator, 'stuffing oracle test: back to defaults');
  });

  it('a force-reset account answers a right password on a new device like a wrong one; the reset is told after the SMS code', async () => {
    const victim = await signUp(env.koban);
    await env.koban.identity.forcePasswordAndPinReset(victim.customerId, 'case: password seen in a paste');
    const rightDevice = attackerDevice();
    const right = await login(rightDevice, victim.email, victim.password);
    const wrong = await login(attackerDevice(), victim.email, 'not the password, from a list');
    expect(seen(right)).toEqual(seen(wrong));
    const { challengeId } = right.json() as { challengeId: string };
    await post(rightDevice, '/v1/customer/login/second-factor/sms', { challengeId });
    const done = await post(rightDevice, '/v1/customer/login/second-factor', { challengeId, method: 'sms', code: await lastCode(env.koban, victim.phone) });
    expect([done.statusCode, done.json().code]).toEqual([403, 'credentials_reset_required']);
    expect(rightDevice.cookies.has('__Host-koban_session')).toBe(false);
  });

  it.each(['deny', 'review'] as const)('a risk %s on a right password from a new device answers like a wrong password, and refuses only after a real second factor', async (action) => {
    const victim = await signUp(env.koban);
    // One failure on the customer's own phone: with the threshold at one, the engine refuses the next sign-in.
    await login(victim.client, victim.email, 'a typo in the passphrase');
    await env.koban.risk.settings.updateRule('failure_burst', { action, params: { accountFailuresMax: 1 } }, operator, 'stuffing oracle test');
    const rightDevice = attackerDevice();
    const right = await login(rightDevice, victim.email, victim.password);
    const wrong = await login(attackerDevice(), victim.email, 'not the password, from a list');
    expect(seen(right)).toEqual(seen(wrong));
    const decisions = await env.db.pool.query(`select decision from risk_events where kind = 'sign_in' and account_id = $1`, [victim.customerId]);
    expect(decisions.rows.map((r: { decision: string }) => r.decision)).toEqual([action]);
    const { challengeId } = right.json() as { challengeId: string };
    const sessions = () => env.db.pool.query('select 1 from sessions where customer_id = $1', [victim.customerId]).then((r) => r.rowCount);
    const sessionsBefore = await sessions();
    await post(rightDevice, '/v1/customer/login/second-factor/sms', { challengeId });
    const code = await lastCode(env.koban, victim.phone);
    const done = await post(rightDevice, '/v1/customer/login/second-factor', { challengeId, method: 'sms', code });
    expect([done.statusCode, done.json().code, done.json().detail]).toEqual([429, 'rate_limited', 'too many sign-in attempts; try again later']);
    expect(rightDevice.cookies.has('__Host-koban_session')).toBe(false);
    expect(await sessions()).toBe(sessionsBefore);
    // The refusal used the challenge up: no second try with the same code.
    expect((await post(rightDevice, '/v1/customer/login/second-factor', { challengeId, method: 'sms', code })).json().code).toBe('login_challenge_invalid');
  });
});

describe('the second-factor slow-down is no oracle either', () => {
  let slow: Awaited<ReturnType<typeof startTestKoban>>;
  beforeAll(async () => {
    slow = await startTestKoban({ env: { KOBAN_PUBLIC_URL: PUBLIC_URL, KOBAN_FACTOR_SLOWDOWN_BASE_MS: '60000' } });
  });
  afterAll(async () => {
    await slow?.close();
  });

  it('after three wrong codes a decoy is slowed down like a real challenge, across fresh challenges too, and never on the real account', async () => {
    const victim = await signUp(slow.koban);
    const start = async (password: string) => {
      const device = newClient(slow.koban, `100.99.${++network % 250}.9`);
      const { challengeId } = (await login(device, victim.email, password)).json() as { challengeId: string };
      return (code: string) => post(device, '/v1/customer/login/second-factor', { challengeId, method: 'totp', code });
    };
    const real = await start(victim.password);
    const decoy = await start('not the password, from a list');
    for (const code of ['111111', '222222', '333333']) {
      expect(seen(await decoy(code))).toEqual(seen(await real(code)));
    }
    const slowedReal = await real('444444');
    const slowedDecoy = await decoy('444444');
    expect([slowedReal.statusCode, slowedReal.json().code, slowedReal.json().factor]).toEqual([429, 'factor_slowed_down', 'totp']);
    expect([slowedDecoy.statusCode, slowedDecoy.json().code, slowedDecoy.json().factor]).toEqual([429, 'factor_slowed_down', 'totp']);
    expect(Object.keys(slowedDecoy.json()).sort()).toEqual(Object.keys(slowedReal.json()).sort());
    // A fresh challenge gives no fresh guesses, for either.
    const realAgain = await (await start(victim.password))('555555');
    const decoyAgain = await (await start('another wrong one from the list'))('555555');
    expect([decoyAgain.statusCode, decoyAgain.json().code]).toEqual([realAgain.statusCode, realAgain.json().code]);
    expect(realAgain.json().code).toBe('factor_slowed_down');
    // The real account counted only the real challenge's guesses.
    const counted = await slow.db.pool.query<{ failures: number }>(`select failures from factor_failures where customer_id = $1 and factor = 'totp'`, [victim.customerId]);
    expect(counted.rows).toEqual([{ failures: 3 }]);
  });
});
