/**
 * `POST /dev/drill/established-customers` (src/wiring-drill.ts): the drill's way to make a customer established —
 * the phone remembered long ago (identity), the links and a spending history the account budget is sized from
 * (risk). It weakens every defence that tells a newcomer from an established customer, so it must not exist in
 * production.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKoban, type Koban } from '../../src/koban.ts';
import { startTestKoban, testConfig } from '../support/koban.ts';
import { signUp, type Customer } from '../identity/support.ts';

let env: Awaited<ReturnType<typeof startTestKoban>>;
let koban: Koban;

beforeAll(async () => {
  env = await startTestKoban({ env: { KOBAN_LOG_LEVEL: 'error' } });
  koban = env.koban;
}, 60_000);
afterAll(async () => {
  await env?.close();
});

const age = (app: Koban['app'], customerId: string, dailySpendMinor = '10000') => app.inject({
  method: 'POST', url: '/dev/drill/established-customers',
  payload: { customerId, ageDays: 400, dailySpendMinor, paymentsPerDay: 3, storeIds: [randomUUID()] },
});

async function deviceOf(customer: Customer): Promise<string> {
  const row = await env.db.pool.query<{ id: string }>('select id from devices where customer_id = $1', [customer.customerId]);
  const id = row.rows[0]?.id;
  if (id === undefined) throw new Error('the sign-up remembered no device');
  return id;
}

const payment = (accountId: string, amountMinor: bigint) =>
  koban.risk.assess({ kind: 'payment', accountId, deviceId: `dev-${accountId}`, merchantId: randomUUID(), storeId: randomUUID(), merchantCategoryCode: '5411', amountMinor, ref: randomUUID() });

describe('making a drill customer established (outside production only)', () => {
  it('ages the phone (a day old makes it established) and sizes the account budget from the history it writes', async () => {
    const customer = await signUp(koban);
    const device = await deviceOf(customer);
    expect(await koban.identity.isEstablishedDevice(customer.customerId, device)).toBe(false);
    // A newcomer's ¥12,000 payment is above the ¥10,000 hourly budget.
    const newcomer = await signUp(koban);
    expect((await payment(newcomer.customerId, 12_000n)).reasons.map((r) => r.rule)).toContain('account_spending_budget');

    const aged = await age(koban.app, customer.customerId);
    expect(aged.statusCode).toBe(200);
    expect(aged.json()).toMatchObject({ historyDays: 60, contacts: 2 });
    const contacts = await env.db.pool.query<{ old: boolean }>(`select verified_at < now() - interval '399 days' as old from customer_contacts where customer_id = $1`, [customer.customerId]);
    expect(contacts.rows.map((r) => r.old)).toEqual([true, true]);
    expect(await koban.identity.isEstablishedDevice(customer.customerId, device)).toBe(true);
    // ¥10,000 a day for 30 days: the day's budget is ¥30,000, the hour's ¥15,000.
    expect((await payment(customer.customerId, 12_000n)).reasons.map((r) => r.rule)).not.toContain('account_spending_budget');
  });

  it('answers 404 for a customer with no remembered device, and refuses malformed input as a problem', async () => {
    expect((await age(koban.app, randomUUID())).statusCode).toBe(404);
    const bad = await age(koban.app, 'not-a-uuid');
    expect(bad.statusCode).toBe(400);
    expect(bad.headers['content-type']).toContain('application/problem+json');
  });

  it('a production Koban has no such route: an attacker cannot age a fresh account into an established one', async () => {
    // The test configuration with only NODE_ENV changed (the secrets production needs, test-grade).
    const production = await createKoban({ ...testConfig({ KOBAN_LOG_LEVEL: 'error', KOBAN_SECRET_KEY: 'c2VjcmV0LWtleS1vZi0zMi1ieXRlcy1mb3ItdGVzdHM=' }), nodeEnv: 'production' }, env.db);
    try {
      await production.app.ready();
      const customer = await signUp(koban);
      const answer = await age(production.app, customer.customerId);
      expect(answer.statusCode).toBe(404);
      expect(await koban.identity.isEstablishedDevice(customer.customerId, await deviceOf(customer))).toBe(false);
      // The development outbox is gone there too (the drill refuses such a Koban before it gets this far).
      expect((await production.app.inject({ method: 'GET', url: '/dev/outbox.json' })).statusCode).toBe(404);
    } finally {
      await production.close();
    }
  });
});
