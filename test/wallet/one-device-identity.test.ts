/**
 * One device identity (issue 13): the risk engine knows a phone by one key — the SHA-256 of its device
 * cookie — on sign-in and on every money path (payment codes, till payments, QR payments, top-ups), so an
 * operator blocking the device seen at a sign-in blocks its payments too, and the reverse.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { lastCode, newClient } from '../identity/support.ts';
import { customerWithPin, startWalletEnv, type WalletEnv } from './support.ts';

let w: WalletEnv;
const operator = { kind: 'operator' as const, id: 'op-device-tests' };

beforeAll(async () => {
  w = await startWalletEnv();
});
afterAll(async () => w.close());

it('a phone is one device for the risk engine: the key its sign-in is scored under is the key its payments are scored under', async () => {
  const customer = await customerWithPin(w.koban);
  const key = createHash('sha256').update(customer.client.cookies.get('__Host-koban_device') ?? '').digest('hex');
  // Sign in again on the same browser (a remembered device) and mint a payment code there.
  await customer.client.request({ method: 'POST', url: '/v1/customer/logout', body: {} });
  const login = await customer.client.request({ method: 'POST', url: '/v1/customer/login', body: { identifier: customer.email, password: customer.password } });
  expect(login.json()).toMatchObject({ status: 'signed_in' });
  expect((await customer.client.request({ method: 'POST', url: '/v1/wallet/payment-codes', body: {} })).statusCode).toBe(200);
  const events = await w.db.pool.query<{ kind: string; device_id: string }>(`select kind, device_id from risk_events where account_id = $1 and kind in ('sign_in', 'payment_code_mint')`, [customer.customerId]);
  expect(new Set(events.rows.map((row) => row.kind))).toEqual(new Set(['sign_in', 'payment_code_mint']));
  expect(new Set(events.rows.map((row) => row.device_id))).toEqual(new Set([key]));
});

it('an operator blocking the device seen at a sign-in blocks it on every path: payment codes on the open session and the next sign-in', async () => {
  const customer = await customerWithPin(w.koban);
  const key = createHash('sha256').update(customer.client.cookies.get('__Host-koban_device') ?? '').digest('hex');
  expect((await customer.client.request({ method: 'POST', url: '/v1/wallet/payment-codes', body: {} })).statusCode).toBe(200);
  await w.koban.risk.settings.addToList('blocked_device', key, 'stolen phone reported', operator);
  const mint = await customer.client.request({ method: 'POST', url: '/v1/wallet/payment-codes', body: {} });
  expect(mint.statusCode).toBe(403);
  expect(mint.json()).toMatchObject({ code: 'payment_refused_by_risk' });
  await customer.client.request({ method: 'POST', url: '/v1/customer/logout', body: {} });
  const login = await customer.client.request({ method: 'POST', url: '/v1/customer/login', body: { identifier: customer.email, password: customer.password } });
  expect(login.statusCode).toBe(429);
  // The same customer on another phone is not blocked (the block is the device's).
  const other = newClient(w.koban, `198.51.100.${Math.floor(Math.random() * 250)}`);
  const elsewhere = await other.request({ method: 'POST', url: '/v1/customer/login', body: { identifier: customer.email, password: customer.password } });
  const { challengeId } = elsewhere.json() as { challengeId: string };
  await other.request({ method: 'POST', url: '/v1/customer/login/second-factor/sms', body: { challengeId } });
  const done = await other.request({ method: 'POST', url: '/v1/customer/login/second-factor', body: { challengeId, method: 'sms', code: await lastCode(w.koban, customer.phone) } });
  expect(done.json()).toMatchObject({ status: 'signed_in' });
  expect((await other.request({ method: 'POST', url: '/v1/wallet/payment-codes', body: {} })).statusCode).toBe(200);
});
