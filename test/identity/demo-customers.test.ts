// The demo customers `npm start` seeds: they sign in with the documented password (a new device still
// needs the SMS code), own the demo wallets, and seeding twice changes nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_CUSTOMER_PASSWORD, DEMO_CUSTOMERS, seedDemoCustomers } from '../../src/demo/demo-customers.ts';
import { DEMO, seedDemoData } from '../../src/demo/seed.ts';
import { startTestKoban } from '../support/koban.ts';
import { lastCode, newClient, PUBLIC_URL } from './support.ts';

let env: Awaited<ReturnType<typeof startTestKoban>>;
const ISSUER = 'http://127.0.0.1:4999';
beforeAll(async () => {
  env = await startTestKoban({ env: { KOBAN_PUBLIC_URL: PUBLIC_URL } });
  await seedDemoData(env.koban.db, env.koban.ledger);
  await seedDemoCustomers(env.koban, ISSUER);
  await seedDemoCustomers(env.koban, ISSUER);
});
afterAll(async () => {
  await env?.close();
});

describe('demo customers', () => {
  it('are seeded once, each mapped to its demo wallet, with hanako linked to the dev IdP', async () => {
    const rows = await env.db.pool.query<{ customer_id: string; account_id: string }>('select customer_id, account_id from customer_wallets order by customer_id');
    expect(rows.rows).toEqual(DEMO_CUSTOMERS.map((c) => ({ customer_id: c.customerId, account_id: DEMO.customers.find((w) => w.name === c.name)?.wallet })));
    const contacts = await env.db.pool.query('select 1 from customer_contacts where customer_id = any($1)', [DEMO_CUSTOMERS.map((c) => c.customerId)]);
    expect(contacts.rowCount).toBe(6);
    const social = await env.db.pool.query<{ subject: string }>('select subject from social_identities where issuer = $1', [ISSUER]);
    expect(social.rows).toEqual([{ subject: 'demo-hanako' }]);
  });

  it('sign in with the documented password and, on a new device, the SMS code', async () => {
    const hanako = DEMO_CUSTOMERS[0];
    const client = newClient(env.koban, '198.51.100.240');
    const login = await client.request({ method: 'POST', url: '/v1/customer/login', body: { identifier: hanako.email, password: DEMO_CUSTOMER_PASSWORD } });
    expect(login.json().status).toBe('second_factor_required');
    const { challengeId } = login.json();
    await client.request({ method: 'POST', url: '/v1/customer/login/second-factor/sms', body: { challengeId } });
    const done = await client.request({ method: 'POST', url: '/v1/customer/login/second-factor', body: { challengeId, method: 'sms', code: await lastCode(env.koban, hanako.phone) } });
    expect(done.json()).toMatchObject({ status: 'signed_in', customerId: hanako.customerId });
  });

  it('are never seeded in production (AUTH-09)', async () => {
    const production = { ...env.koban, config: { ...env.koban.config, nodeEnv: 'production' as const } };
    await env.db.pool.query('delete from social_identities where issuer = $1', ['http://127.0.0.1:4998']);
    await seedDemoCustomers(production, 'http://127.0.0.1:4998');
    expect((await env.db.pool.query('select 1 from social_identities where issuer = $1', ['http://127.0.0.1:4998'])).rowCount).toBe(0);
  });
});
