/**
 * Every consequence in the same commit (issue 11 item 3): a real Koban child process is killed (SIGKILL)
 * between the commit of a payment and a refund and the delivery of their notices. The notices and the
 * merchant webhooks survive in the outbox; a Koban started afterwards delivers each exactly once, counted
 * where it arrives: the customer's feed, the development e-mail outbox, and a merchant's HTTP receiver.
 */
import { spawn } from 'node:child_process';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKoban, type Koban } from '../../src/koban.ts';
import { createOrFindWebhookEndpoint } from '../../src/merchants/webhook-endpoints.ts';
import { KOBAN_SIGNATURE_HEADER } from '../../src/payments/webhooks/dispatcher.ts';
import { verifyWebhookSignature } from '../../src/wallet/funding/webhook-signature.ts';
import { uuidv7 } from '../../src/platform/ids.ts';
import { expectLedgerConsistent } from '../ledger/fixtures.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { testConfig } from '../support/koban.ts';
import { balanceOf, createCustomer } from './customer-fixtures.ts';
import { createTestMerchant } from './merchant-fixtures.ts';

let db: TestDatabase;
let koban: Koban;
/** The merchant's webhook receiver: records every POST it gets, answers 200. */
let receiver: Server;
let receiverUrl = '';
const received: Array<{ headers: IncomingHttpHeaders; body: string }> = [];
beforeAll(async () => {
  db = await createTestDatabase();
  koban = await createKoban(testConfig({ KOBAN_OPA_PORT: '0' }), db);
  receiver = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      received.push({ headers: request.headers, body: Buffer.concat(chunks).toString('utf8') });
      response.end('ok');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`;
});
afterAll(async () => {
  await expectLedgerConsistent(db);
  await koban.close();
  await db.close();
  await new Promise((resolve) => receiver.close(resolve));
});

/** What the one dispatcher has due, until nothing is: e-mails, then webhooks (a refund's waits for its payment's). */
async function dispatchAll(): Promise<void> {
  while ((await koban.notifications.dispatchOnce()) > 0) { /* until none is due */ }
}

const count = async (sql: string, values: unknown[]): Promise<number> => Number((await db.pool.query<{ n: string }>(`select count(*)::text as n from ${sql}`, values)).rows[0]?.n);

describe('notices survive a crash between commit and delivery', () => {
  it('a Koban killed right after a payment and a refund committed: each notice reaches the feed, the e-mail outbox and the merchant\'s receiver once, after restart', async () => {
    const merchant = await createTestMerchant(db, koban.ledger);
    const endpoint = await createOrFindWebhookEndpoint(db, koban.payments.box, { merchantId: merchant.merchantId, url: receiverUrl, allowHttp: true });
    if (!endpoint.created) throw new Error('the endpoint existed before the test');
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

    // Nothing left the dead process: both webhooks wait, none reached the receiver, no e-mail was delivered.
    expect(await count(`webhook_deliveries where merchant_id = $1 and status = 'pending'`, [merchant.merchantId])).toBe(2);
    expect(received).toHaveLength(0);
    expect(await count('dev_outbox where recipient = $1', [email])).toBe(0);

    // A Koban started afterwards relays and delivers what was left, once; running it again changes nothing.
    await koban.payments.payments.runMaintenance();
    await dispatchAll();
    await koban.payments.payments.runMaintenance();
    await dispatchAll();
    expect(await count('payment_customer_notices where customer_id = $1', [customer.customerId])).toBe(0);
    const feed = await db.pool.query<{ kind: string }>('select kind from customer_notifications where customer_id = $1 order by kind', [customer.customerId]);
    expect(feed.rows.map((r) => r.kind)).toEqual(['payment_completed', 'refund_completed']);
    const mails = await db.pool.query<{ kind: string }>(`select kind from outbox_messages where recipient = $1 order by kind`, [email]);
    expect(mails.rows.map((r) => r.kind)).toEqual(['payment_completed', 'refund_completed']);
    // Counted at the receiving ends: the e-mail provider (the development outbox) and the merchant's receiver.
    const delivered = await db.pool.query<{ kind: string }>('select kind from dev_outbox where recipient = $1 order by kind', [email]);
    expect(delivered.rows.map((r) => r.kind)).toEqual(['payment_completed', 'refund_completed']);
    expect(received.map((r) => r.headers['koban-event-type'])).toEqual(['payment.completed', 'refund.completed']);
    expect(new Set(received.map((r) => r.headers['koban-event-id'])).size).toBe(2);
    for (const { headers, body } of received) {
      const verdict = verifyWebhookSignature({ header: headers[KOBAN_SIGNATURE_HEADER] as string, rawBody: body, secret: endpoint.signingSecret, nowSec: Math.floor(Date.now() / 1000) });
      expect(verdict.status).toBe('ok');
    }
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
