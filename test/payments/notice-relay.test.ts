/**
 * The customer-notice relay is set-based (issue 11 item 3): a batch of up to 100 notices costs the same
 * fixed number of statements as a single notice, and wakes the live feed with one NOTIFY for the whole
 * batch instead of one per entry.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKoban, type Koban } from '../../src/koban.ts';
import { FEED_CHANNEL } from '../../src/notifications/live-feed.ts';
import { relayCustomerNotices, writeNotice } from '../../src/payments/customer-notices.ts';
import type { Database } from '../../src/platform/db/database.ts';
import { openPostgres } from '../../src/platform/db/postgres.ts';
import { uuidv7 } from '../../src/platform/ids.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { testConfig } from '../support/koban.ts';

let db: TestDatabase;
let koban: Koban;
beforeAll(async () => {
  db = await createTestDatabase();
  koban = await createKoban(testConfig({ KOBAN_OPA_PORT: '0' }), db);
});
afterAll(async () => {
  await koban.close();
  await db.close();
});

/** Customers with a verified e-mail address, each with one waiting payment notice. */
async function customersWithNotices(count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const customerId = uuidv7();
    await db.pool.query('insert into customers (id, webauthn_user_id) values ($1, $2)', [customerId, randomBytes(32).toString('base64url')]);
    await db.pool.query(`insert into customer_contacts (id, customer_id, kind, value, verified_at) values ($1, $2, 'email', $3, now())`,
      [uuidv7(), customerId, `relay-${randomBytes(5).toString('hex')}@example.test`]);
    await writeNotice(db.pool, customerId, { type: 'payment.completed', paymentId: uuidv7(), amountMinor: 500n, merchantName: 'Relay Mart', storeName: null, at: new Date() });
    ids.push(customerId);
  }
  return ids;
}

/** A second connection to the test database whose every statement is counted. */
async function countingDatabase(): Promise<{ database: Database; statements: () => number }> {
  const database = await openPostgres(urlOf(db), 1);
  let statements = 0;
  const counted = new WeakSet<object>();
  const connect = database.pool.connect.bind(database.pool);
  database.pool.connect = (async () => {
    const client = await connect();
    if (!counted.has(client)) {
      counted.add(client);
      const query = client.query.bind(client) as (...args: unknown[]) => unknown;
      client.query = ((...args: unknown[]) => {
        statements++;
        return query(...args);
      }) as typeof client.query;
    }
    return client;
  }) as typeof database.pool.connect;
  return { database, statements: () => statements };
}

function urlOf(database: TestDatabase): string {
  if (database.url === null) throw new Error('this test needs a PostgreSQL server (LISTEN/NOTIFY, a second connection)');
  return database.url;
}

const count = async (sql: string, values: unknown[]): Promise<number> => Number((await db.pool.query<{ n: string }>(`select count(*)::text as n from ${sql}`, values)).rows[0]?.n);

describe('the customer-notice relay, a batch at a time', () => {
  it('relays 60 notices with as many statements as one notice, writing every feed entry and e-mail', async () => {
    const { database, statements } = await countingDatabase();
    const deps = { ...koban.payments.payments.deps, db: database };
    try {
      const [single] = await customersWithNotices(1);
      expect(await relayCustomerNotices(deps)).toBe(1);
      const forOne = statements();
      const many = await customersWithNotices(60);
      expect(await relayCustomerNotices(deps)).toBe(60);
      const forSixty = statements() - forOne;
      expect(forSixty).toBe(forOne);
      expect(forOne).toBeLessThanOrEqual(10);
      const everyone = [single, ...many];
      expect(await count('customer_notifications where customer_id = any($1::uuid[])', [everyone])).toBe(61);
      expect(await count(`outbox_messages o join customer_contacts c on c.value = o.recipient where c.customer_id = any($1::uuid[]) and o.kind = 'payment_completed'`, [everyone])).toBe(61);
      expect(await count('payment_customer_notices where customer_id = any($1::uuid[])', [everyone])).toBe(0);
    } finally {
      await database.close();
    }
  });

  it('wakes the live feed with one NOTIFY naming every customer of the batch', async () => {
    const listener = new pg.Client({ connectionString: urlOf(db) });
    await listener.connect();
    try {
      const payloads: string[] = [];
      let sentinelSeen: () => void = () => undefined;
      const sentinel = new Promise<void>((resolve) => { sentinelSeen = resolve; });
      listener.on('notification', (message) => {
        if (message.payload === 'sentinel') sentinelSeen();
        else payloads.push(message.payload ?? '');
      });
      await listener.query(`listen ${FEED_CHANNEL}`);
      const customers = await customersWithNotices(30);
      expect(await relayCustomerNotices(koban.payments.payments.deps)).toBe(30);
      // NOTIFYs arrive in commit order: once this later one is in, every NOTIFY of the relay is too.
      await db.pool.query(`select pg_notify($1, 'sentinel')`, [FEED_CHANNEL]);
      await sentinel;
      expect(payloads).toHaveLength(1);
      expect((payloads[0] ?? '').split(',').sort()).toEqual([...customers].sort());
    } finally {
      await listener.end();
    }
  });
});
