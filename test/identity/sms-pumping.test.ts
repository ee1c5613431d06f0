// SMS pumping and OTP bombing (issue 14, OTP-04): sign-ups naming a victim's phone, one network pumping many
// numbers, a distributed run against the bill. Per-destination, per-network and global hourly budgets refuse
// with 429 sms_budget_exceeded, the `sms` kill switch with 503; a phone verified on an account never gets
// a message from a stranger's sign-up; operators see every refusal and get one alert per budget and window.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestKoban } from '../support/koban.ts';
import { messagesTo, newClient, PUBLIC_URL, signUp, uniqueContacts } from './support.ts';

const PER_DESTINATION = 5;
const PER_NETWORK = 8;
const GLOBAL = 1000;

let env: Awaited<ReturnType<typeof startTestKoban>>;
beforeAll(async () => {
  env = await startTestKoban({ env: { KOBAN_PUBLIC_URL: PUBLIC_URL, KOBAN_SMS_PER_DESTINATION_PER_HOUR: String(PER_DESTINATION),
    KOBAN_SMS_PER_NETWORK_PER_HOUR: String(PER_NETWORK), KOBAN_SMS_GLOBAL_PER_HOUR: String(GLOBAL) } });
});
afterAll(async () => {
  await env?.close();
});

const smsSignalsWith = async (ref: string) =>
  Number((await env.db.pool.query<{ n: string }>(`select count(*) as n from risk_events where kind = 'security_signal' and event_ref = $1 and reasons->0->>'rule' = 'sms_budget_exceeded'`, [ref])).rows[0]?.n);

async function signUpsNaming(phone: string, times: number, networkOf: (i: number) => string): Promise<Array<{ status: number; code: string | undefined }>> {
  const answers = [];
  for (let i = 0; i < times; i++) {
    const client = newClient(env.koban, networkOf(i));
    const response = await client.request({ method: 'POST', url: '/v1/customer/signup', body: { email: uniqueContacts().email, phone, password: 'pumping river lanterns' } });
    answers.push({ status: response.statusCode, code: response.statusCode === 202 ? undefined : response.json().code as string });
  }
  return answers;
}

describe('OTP bombing through sign-up', () => {
  it('25 sign-ups naming a phone verified on an account, from 25 addresses, send it nothing; the owner is told once; a free number answers the same', async () => {
    const victim = await signUp(env.koban);
    const before = (await messagesTo(env.koban, victim.phone)).length;
    const taken = await signUpsNaming(victim.phone, 25, (i) => `203.0.${10 + i}.7`);
    expect(await messagesTo(env.koban, victim.phone)).toHaveLength(before);
    // The owner hears of it once, in the app and by e-mail, never on the phone being bombed.
    const feed = (await victim.client.request({ method: 'GET', url: '/v1/customer/notifications' })).json().notifications as Array<{ title: string }>;
    expect(feed.filter((entry) => entry.title.startsWith('Sign-up attempt'))).toHaveLength(1);
    expect((await messagesTo(env.koban, victim.email)).filter((m) => m.kind === 'signup_already_registered')).toHaveLength(1);

    // A free number that also had one code this hour (as the victim's did at sign-up) gets the same answers.
    const free = uniqueContacts().phone;
    await signUpsNaming(free, 1, () => '203.0.9.7');
    const fresh = await signUpsNaming(free, 25, (i) => `203.0.${40 + i}.7`);
    expect(fresh).toEqual(taken);
    expect(taken.slice(0, PER_DESTINATION - 1).every((a) => a.status === 202)).toBe(true);
    expect(taken.slice(PER_DESTINATION - 1).every((a) => a.status === 429 && a.code === 'sms_budget_exceeded')).toBe(true);
    expect((await messagesTo(env.koban, free)).filter((m) => m.kind === 'signup_code')).toHaveLength(PER_DESTINATION);

    // Operators: every refusal in the audit log, one alert per number (joined to the owner's case for the victim).
    const refusals = await env.db.pool.query(`select customer_id from security_events where event_type = 'sms.budget_exceeded' and details->>'destinationSuffix' = $1`, [victim.phone.slice(-4)]);
    expect(refusals.rowCount).toBe(25 - (PER_DESTINATION - 1));
    expect(refusals.rows.every((row: { customer_id: string | null }) => row.customer_id === victim.customerId)).toBe(true);
    const cases = await env.db.pool.query(`select 1 from cases where account_id = $1 and status = 'open'`, [victim.customerId]);
    expect(cases.rowCount).toBe(1);
    const taken_events = await env.db.pool.query(`select 1 from security_events where event_type = 'signup.contact_taken' and customer_id = $1`, [victim.customerId]);
    expect(taken_events.rowCount).toBe(PER_DESTINATION - 1);
  });
});

describe('SMS pumping', () => {
  it('one network asking codes for many numbers is cut at the network budget, with one operator alert', async () => {
    const before = await smsSignalsWith('network');
    const answers = await Promise.all(Array.from({ length: PER_NETWORK + 4 }, async (_, i) => {
      const client = newClient(env.koban, `198.51.77.${i + 1}`);
      const { email, phone } = uniqueContacts();
      return (await client.request({ method: 'POST', url: '/v1/customer/signup', body: { email, phone, password: 'pumping river lanterns' } })).statusCode;
    }));
    expect(answers.filter((status) => status === 202)).toHaveLength(PER_NETWORK);
    expect(answers.filter((status) => status === 429)).toHaveLength(4);
    expect(await smsSignalsWith('network')).toBe(before + 1);
  });
});

describe('SMS budget across Koban and the sms switch', () => {
  const SMALL_GLOBAL = 6;
  let small: Awaited<ReturnType<typeof startTestKoban>>;
  beforeAll(async () => {
    small = await startTestKoban({ env: { KOBAN_PUBLIC_URL: PUBLIC_URL, KOBAN_SMS_GLOBAL_PER_HOUR: String(SMALL_GLOBAL) } });
  });
  afterAll(async () => {
    await small?.close();
  });

  it('the global budget stops a distributed run (one alert), and the sms switch stops every code at once', async () => {
    const answers = [];
    for (let i = 0; i < SMALL_GLOBAL + 2; i++) {
      const client = newClient(small.koban, `100.${64 + i}.${i}.1`);
      const { email, phone } = uniqueContacts();
      const response = await client.request({ method: 'POST', url: '/v1/customer/signup', body: { email, phone, password: 'pumping river lanterns' } });
      answers.push(response.statusCode === 429 ? response.json().scope as string : response.statusCode);
    }
    expect(answers).toEqual([...Array<number>(SMALL_GLOBAL).fill(202), 'global', 'global']);
    const alerts = await small.db.pool.query(`select account_id from risk_events where kind = 'security_signal' and event_ref = 'global'`);
    expect(alerts.rows).toEqual([{ account_id: null }]);

    await small.koban.operations.switches.set({ name: 'sms', state: 'off', reason: 'SMS pumping run', actor: { kind: 'operator', id: 'op-risk-1' } });
    const { email, phone } = uniqueContacts();
    const response = await newClient(small.koban, '192.0.2.99').request({ method: 'POST', url: '/v1/customer/signup', body: { email, phone, password: 'pumping river lanterns' } });
    expect(response.statusCode).toBe(503);
    expect(response.json()).toMatchObject({ code: 'service_switched_off', switch: 'sms' });
    expect(await messagesTo(small.koban, phone)).toEqual([]);
    expect(await messagesTo(small.koban, email)).toEqual([]);
  });
});
