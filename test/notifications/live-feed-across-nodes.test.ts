/**
 * Live notification streams across nodes (issue 18): two Koban instances on one database, each with its own
 * pool and LISTEN connection. A customer's stream is open on node A; the customer pays at a store through
 * node B; the entry reaches the stream on A through LISTEN/NOTIFY (A's safety-net poll is set to a minute,
 * and A's koban_live_feed_deliveries_total says the NOTIFY woke the read), and B never had a stream.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Koban } from '../../src/koban.ts';
import { PLATFORM_ACCOUNTS } from '../../src/ledger/platform-accounts.ts';
import { Ledgers, TransferCodes } from '../../src/ledger/types.ts';
import { buildStaticQrPayload } from '../../src/payments/emvco.ts';
import type { Database } from '../../src/platform/db/database.ts';
import { uuidv7 } from '../../src/platform/ids.ts';
import { newClient, PUBLIC_URL, rawRequestHeaders, signUp } from '../identity/support.ts';
import { createTestMerchant } from '../payments/merchant-fixtures.ts';
import { createTestDatabase, openAnotherConnection, type TestDatabase } from '../support/database.ts';
import { startTestKoban } from '../support/koban.ts';

const ENV = { KOBAN_PUBLIC_URL: PUBLIC_URL, KOBAN_FEED_STREAM_POLL_MS: '60000', KOBAN_FEED_STREAM_HEARTBEAT_MS: '60000' };
/** Waits are on the event itself; this bound only stops a broken run. */
const EVENT_BOUND_MS = 20_000;

let db: TestDatabase;
let dbOfB: Database;
let a: Awaited<ReturnType<typeof startTestKoban>>;
let b: Awaited<ReturnType<typeof startTestKoban>>;
let baseOfA: string;

beforeAll(async () => {
  db = await createTestDatabase();
  dbOfB = await openAnotherConnection(db);
  a = await startTestKoban({ db, env: { ...ENV, KOBAN_NODE_ID: 'node-a' } });
  b = await startTestKoban({ db: dbOfB, env: { ...ENV, KOBAN_NODE_ID: 'node-b' } });
  baseOfA = await a.koban.app.listen({ host: '127.0.0.1', port: 0 });
});
afterAll(async () => {
  await a.close();
  await b.close();
  await dbOfB.close();
  await db.close();
}, 20_000);

async function notifyDeliveries(koban: Koban): Promise<number> {
  return (await koban.metrics.liveFeedDeliveries.get()).values.filter((v) => v.labels.cause === 'notify').reduce((sum, v) => sum + v.value, 0);
}

/** Opens the stream with the customer's cookies and device proof; collects `event:` names and `data:` of notifications. */
function openStream(headers: Record<string, string>) {
  const controller = new AbortController();
  const events: Array<{ event: string; data: string }> = [];
  const ready = fetch(`${baseOfA}/v1/customer/notifications/stream`, { headers: { ...headers, accept: 'text/event-stream' }, signal: controller.signal }).then((response) => {
    void (async () => {
      let buffer = '';
      const decoder = new TextDecoder();
      try {
        for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
          buffer += decoder.decode(chunk, { stream: true });
          let cut: number;
          while ((cut = buffer.indexOf('\n\n')) >= 0) {
            const lines = buffer.slice(0, cut).split('\n');
            buffer = buffer.slice(cut + 2);
            const field = (name: string) => lines.find((line) => line.startsWith(`${name}: `))?.slice(name.length + 2) ?? null;
            if (field('event') !== null) events.push({ event: field('event') ?? '', data: field('data') ?? '' });
          }
        }
      } catch {
        // aborted
      }
    })();
    return response.status;
  });
  return { ready, events, controller };
}

describe('live notification stream across nodes', () => {
  it('a stream on node A shows, through LISTEN/NOTIFY, a payment made through node B', async () => {
    const merchant = await createTestMerchant(a.koban.db, a.koban.ledger, 'Two Node Mart');
    const customer = await signUp(a.koban);
    // The wallet exists once the customer first uses it.
    expect((await customer.client.request({ method: 'POST', url: '/v1/wallet/payment-codes', body: {} })).statusCode).toBe(200);
    const wallet = (await db.pool.query<{ account_id: string }>('select account_id from customer_wallets where customer_id = $1', [customer.customerId])).rows[0]?.account_id ?? '';
    await a.koban.ledger.createTransfers([{ id: uuidv7(), debitAccountId: PLATFORM_ACCOUNTS.cardClearing, creditAccountId: wallet, amount: 5_000n, pendingId: null, ledger: Ledgers.JPY, code: TransferCodes.topUp, flags: 0, timeoutSeconds: 0, reference: 'test funding' }]);
    const stream = openStream(await rawRequestHeaders(customer.client, PUBLIC_URL, 'GET', '/v1/customer/notifications/stream'));
    expect(await stream.ready).toBe(200);
    await expect.poll(() => stream.events.some((e) => e.event === 'ready'), { timeout: EVENT_BOUND_MS }).toBe(true);
    const before = await notifyDeliveries(a.koban);

    // The same customer's session, on node B.
    const onB = newClient(b.koban, customer.client.ip);
    onB.deviceKey = customer.client.deviceKey; // the same phone, so the same device key
    for (const [name, value] of customer.client.cookies) onB.cookies.set(name, value);
    onB.csrf = customer.client.csrf;
    const payload = buildStaticQrPayload({ merchantId: merchant.merchantId, storeId: merchant.storeId, categoryCode: '5411', merchantName: 'Two Node Mart', merchantCity: 'Chiyoda-ku', postalCode: '100-0001' });
    const paid = await onB.request({ method: 'POST', url: '/v1/wallet/static-qr/pay', body: { payload, amount: '1300', idempotencyKey: 'two-nodes-0001' } });
    expect(paid.statusCode, paid.body).toBe(200);

    await expect.poll(() => stream.events.some((e) => e.event === 'notification'), { timeout: EVENT_BOUND_MS }).toBe(true);
    const notification = JSON.parse(stream.events.find((e) => e.event === 'notification')?.data ?? '{}') as { kind: string; title: string };
    expect(notification).toMatchObject({ kind: 'payment_completed', title: expect.stringContaining('¥1,300') });
    // Node A read it because its LISTEN connection was woken, not by its minute-long poll; B served no stream.
    expect((await notifyDeliveries(a.koban)) - before).toBe(1);
    expect(await notifyDeliveries(b.koban)).toBe(0);
    stream.controller.abort();
  });
});
