/**
 * Every consequence in the same commit (issue 11 item 3): a real Koban child process is killed (SIGKILL)
 * between the commit of a payment and a refund and the delivery of their notices. The notices survive in
 * the outbox; a Koban started afterwards delivers each to the customer's feed and e-mail exactly once,
 * and the merchant events were committed with the payment and the refund.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKoban, type Koban } from '../../src/koban.ts';
import { uuidv7 } from '../../src/platform/ids.ts';
import { expectLedgerConsistent } from '../ledger/fixtures.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { testConfig } from '../support/koban.ts';
import { balanceOf, createCustomer } from './customer-fixtures.ts';
import { createTestMerchant } from './merchant-fixtures.ts';

let db: TestDatabase;
let koban: Koban;
beforeAll(async () => {
  db = await createTestDatabase();
  koban = await createKoban(testConfig({ KOBAN_OPA_PORT: '0' }), db);
});
afterAll(async () => {
  await expectLedgerConsistent(db);
  await koban.close();
  await db.close();
});

const count = async (sql: string, values: unknown[]): Promise<number> => Number((await db.pool.query<{ n: string }>(`select count(*)::text as n from ${sql}`, values)).rows[0]?.n);

describe('notices survive a crash between commit and delivery', () => {
  it('a Koban killed right after a payment and a refund committed: each notice reaches the feed and the e-mail outbox once, after restart', async () => {
    const merchant = await createTestMerchant(db, koban.ledger);
    const customer = await createCustomer(db, koban.ledger, 10_000n);
    const email = `crash-${randomBytes(4).toString('hex')}@example.test`;
    await db.pool.query('insert into customers (id, webauthn_user_id) values ($1, $2)', [customer.customerId, randomBytes(32).toString('base64url')]);
    await db.pool.query(`insert into customer_contacts (id, customer_id, kind, value, verified_at) values ($1, $2, 'email', $3, now())`, [uuidv7(), customer.customerId, email]);
    const code = (await koban.payments.payments.mintPaymentCode(customer)).code;
    const plan = {
      dbUrl: db.url, merchantId: merchant.merchantId, storeId: merchant.storeId, terminalId: merchant.terminalIds[0],
      code, merchantPaymentId: `crash-${Date.now()}`, merchantRefundId: `crash-r-${Date.now()}`,
    };
    const child = spawn(process.execPath, [fileURLToPath(new URL('./crash/pay-then-die.ts', import.meta.url))], {
      env: { ...process.env, KOBAN_CRASH_PLAN: JSON.stringify(plan) }, stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
    const [exitCode, signal] = await once(child, 'exit') as [number | null, NodeJS.Signals | null];
    expect({ exitCode, signal, stderr }).toMatchObject({ exitCode: null, signal: 'SIGKILL' });

    // What the dead process committed: the money, the outcome, the merchant events, and at least the refund's notice still waiting.
    const paymentId = (await db.pool.query<{ id: string; status: string }>('select id, status from payments where merchant_payment_id = $1', [plan.merchantPaymentId])).rows[0]?.id;
    expect(paymentId).toBeDefined();
    expect(await balanceOf(koban.ledger, customer.walletAccountId)).toBe(9_300n);
    expect(await count(`webhook_events where body::jsonb #>> '{data,payment,paymentId}' = $1 or (body::jsonb #>> '{data,merchant_order_id}') = $2`, [paymentId, plan.merchantPaymentId])).toBe(2);
    expect(await count('payment_customer_notices where customer_id = $1', [customer.customerId])).toBeGreaterThanOrEqual(1);
    const feedBefore = await count('customer_notifications where customer_id = $1', [customer.customerId]);
    expect(feedBefore).toBeLessThan(2);

    // A Koban started afterwards relays what was left, once; running it again changes nothing.
    await koban.payments.payments.runMaintenance();
    await koban.payments.payments.runMaintenance();
    expect(await count('payment_customer_notices where customer_id = $1', [customer.customerId])).toBe(0);
    const feed = await db.pool.query<{ kind: string }>('select kind from customer_notifications where customer_id = $1 order by kind', [customer.customerId]);
    expect(feed.rows.map((r) => r.kind)).toEqual(['payment_completed', 'refund_completed']);
    const mails = await db.pool.query<{ kind: string }>(`select kind from outbox_messages where recipient = $1 order by kind`, [email]);
    expect(mails.rows.map((r) => r.kind)).toEqual(['payment_completed', 'refund_completed']);
  });

  it('a notice that cannot be delivered waits for a retry without holding up the others', async () => {
    const merchant = await createTestMerchant(db, koban.ledger);
    // No customers row: its feed entry violates the foreign key, so its notice cannot be delivered.
    const orphan = await createCustomer(db, koban.ledger, 5_000n);
    const known = await createCustomer(db, koban.ledger, 5_000n);
    await db.pool.query('insert into customers (id, webauthn_user_id) values ($1, $2)', [known.customerId, randomBytes(32).toString('base64url')]);
    const payments = koban.payments.payments;
    for (const customer of [orphan, known]) {
      const code = (await payments.mintPaymentCode(customer)).code;
      await payments.payAtTill({ merchantId: merchant.merchantId, merchantPaymentId: `n-${Date.now()}-${customer.customerId}`, code, amountMinor: 500n,
        storeId: merchant.storeId, terminalId: merchant.terminalIds[0] as string, orderDescription: null, requestedAt: null });
    }
    await payments.deps.notices.drain();
    await payments.runMaintenance();
    expect(await count('customer_notifications where customer_id = $1', [known.customerId])).toBe(1);
    const waiting = await db.pool.query<{ attempts: number; last_error: string | null }>('select attempts, last_error from payment_customer_notices where customer_id = $1', [orphan.customerId]);
    expect(waiting.rows).toHaveLength(1);
    expect(waiting.rows[0]?.attempts).toBeGreaterThanOrEqual(1);
    expect(waiting.rows[0]?.last_error).toMatch(/foreign key/);
  });
});
