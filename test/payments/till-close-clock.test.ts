/**
 * The till's daily close judges a waiting QR order by Koban's one clock (src/platform/clock.ts), the
 * clock that computed the order's expiry, not by the database's now(): here Koban's clock runs ahead of
 * the database's, as a test clock (or a skewed host) may.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { newClient } from '../identity/support.ts';
import { startTestKoban } from '../support/koban.ts';
import { createTestMerchant } from './merchant-fixtures.ts';

const clock = { at: new Date() };
let env: Awaited<ReturnType<typeof startTestKoban>>;

beforeAll(async () => {
  env = await startTestKoban({ clock: () => clock.at });
});
afterAll(async () => env?.close());

it('closes once an unpaid QR order has expired by Koban\'s clock, and refuses while it has not', async () => {
  const koban = env.koban;
  const merchant = await createTestMerchant(koban.db, koban.ledger);
  const terminalId = merchant.terminalIds[0];
  expect(terminalId).toBeDefined();
  const till = newClient(koban, '203.0.113.77');
  const code = (await koban.payments.terminals.issueActivationCode(terminalId ?? '', 'test')).code;
  expect((await till.request({ method: 'POST', url: '/v1/till/activate', body: { code } })).statusCode).toBe(200);

  const order = await till.request({ method: 'POST', url: '/v1/till/orders', body: { merchantPaymentId: 'clock-order-1', amount: '400' } });
  expect(order.statusCode, order.body).toBe(200);
  const expiresAt = new Date(order.json().expiresAt as string);

  const waiting = await till.request({ method: 'POST', url: '/v1/till/close', body: {} });
  expect(waiting.json()).toMatchObject({ code: 'till_busy', detail: expect.stringContaining('QR order') });

  // One second past the expiry by Koban's clock; the database's own clock is still minutes before it.
  clock.at = new Date(expiresAt.getTime() + 1_000);
  const closed = await till.request({ method: 'POST', url: '/v1/till/close', body: {} });
  expect(closed.statusCode, closed.body).toBe(200);
  expect(closed.json()).toMatchObject({ totals: { paymentsCount: 0, gross: '0' } });
});
