/**
 * The till API for browsers (/v1/till): a tablet becomes a terminal with a one-time activation code and
 * never holds the merchant's API secret; everything it charges, cancels and refunds goes through the
 * payments service with the store and terminal of its session.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Koban } from '../../src/koban.ts';
import type { CustomerContext } from '../../src/payments/context.ts';
import { expectLedgerConsistent } from '../ledger/fixtures.ts';
import { newClient, type Client } from '../identity/support.ts';
import { koban as kobanCli } from '../support/cli.ts';
import { startTestKoban } from '../support/koban.ts';
import { balanceOf, createCustomer } from './customer-fixtures.ts';
import { createTestMerchant, type TestMerchant } from './merchant-fixtures.ts';

let env: Awaited<ReturnType<typeof startTestKoban>>;
let koban: Koban;
let merchant: TestMerchant;
let ipCounter = 0;

beforeAll(async () => {
  env = await startTestKoban();
  koban = env.koban;
  merchant = await createTestMerchant(koban.db, koban.ledger);
});
afterAll(async () => {
  await expectLedgerConsistent(koban.db);
  await env.close();
});

const operator = { kind: 'operator' as const, id: 'test-operator' };
const orderId = () => `till-${randomBytes(8).toString('hex')}`;

function freshClient(): Client {
  ipCounter += 1;
  return newClient(koban, `203.0.113.${ipCounter}`);
}

async function issueCode(terminalId: string): Promise<string> {
  return (await koban.payments.terminals.issueActivationCode(terminalId, 'test')).code;
}

async function activatedTill(terminalId = merchant.terminalIds[0]!): Promise<Client> {
  const client = freshClient();
  const response = await client.request({ method: 'POST', url: '/v1/till/activate', body: { code: await issueCode(terminalId) } });
  expect(response.statusCode, response.body).toBe(200);
  return client;
}

async function customerWithCode(balance: bigint): Promise<{ customer: CustomerContext; code: string }> {
  const customer = await createCustomer(koban.db, koban.ledger, balance);
  const minted = await koban.payments.payments.mintPaymentCode(customer);
  return { customer, code: minted.code };
}

async function charge(till: Client, body: Record<string, unknown>) {
  return till.request({ method: 'POST', url: '/v1/till/charges', body });
}

describe('activation', () => {
  it('a code activates one browser once, with a __Host- HttpOnly Secure SameSite=Strict cookie, and names its terminal', async () => {
    const code = await issueCode(merchant.terminalIds[0]!);
    const till = freshClient();
    const activated = await till.request({ method: 'POST', url: '/v1/till/activate', body: { code: code.toLowerCase().replace('-', ' ') } });
    expect(activated.statusCode, activated.body).toBe(200);
    const cookie = String(activated.headers['set-cookie']);
    expect(cookie).toMatch(/^__Host-koban_till=[A-Za-z0-9_-]{43}; Path=\/; Secure; HttpOnly; SameSite=Strict; Max-Age=\d+$/);
    expect(cookie).not.toContain('Domain');
    const session = await till.request({ method: 'GET', url: '/v1/till/session' });
    expect(session.json()).toMatchObject({ terminal: { id: merchant.terminalIds[0], name: 'Till 1' }, store: { id: merchant.storeId, name: 'Main store' }, dayClosed: false });
    // The same code again, from another browser: refused.
    const second = await freshClient().request({ method: 'POST', url: '/v1/till/activate', body: { code } });
    expect(second.statusCode).toBe(401);
    expect(second.json()).toMatchObject({ code: 'terminal_activation_failed' });
  });

  it('only the activation code and the token hashes are stored, never the secrets themselves', async () => {
    const code = await issueCode(merchant.terminalIds[0]!);
    const rows = await koban.db.pool.query<{ code_hash: Buffer }>('select code_hash from terminal_activation_codes');
    for (const row of rows.rows) expect(row.code_hash.toString('utf8')).not.toContain(code.replace('-', ''));
    const till = freshClient();
    await till.request({ method: 'POST', url: '/v1/till/activate', body: { code } });
    const token = till.cookies.get('__Host-koban_till');
    expect(token).toBeDefined();
    const hashed = await koban.db.pool.query(`select 1 from terminal_sessions where token_hash = sha256(convert_to($1, 'UTF8'))`, [token]);
    expect(hashed.rowCount).toBe(1);
    const inClear = await koban.db.pool.query(`select 1 from terminal_sessions s where row_to_json(s)::text like '%' || $1 || '%'`, [token]);
    expect(inClear.rowCount).toBe(0);
  });

  it('the CLI issues a code that activates a till, and revokes the terminal\'s sessions', async () => {
    const url = (env.db as { url: string | null }).url;
    expect(url).not.toBeNull();
    const issued = await kobanCli(url, 'till', 'activation-code', '--terminal', merchant.terminalIds[1]!);
    expect(issued.code).toBe(0);
    const code = /\b([2-9A-Z]{4}-[2-9A-Z]{4})\b/.exec(issued.stdout)?.[1];
    expect(code).toBeDefined();
    const till = freshClient();
    expect((await till.request({ method: 'POST', url: '/v1/till/activate', body: { code } })).statusCode).toBe(200);
    const revoked = await kobanCli(url, 'till', 'revoke', '--terminal', merchant.terminalIds[1]!);
    expect(revoked.stdout).toContain('1 session(s) ended');
    expect((await till.request({ method: 'GET', url: '/v1/till/session' })).statusCode).toBe(401);
  }, 60_000);

  it('an expired code is refused', async () => {
    const code = await issueCode(merchant.terminalIds[0]!);
    await koban.db.pool.query(`update terminal_activation_codes set expires_at = now() - interval '1 second' where used_at is null`);
    const response = await freshClient().request({ method: 'POST', url: '/v1/till/activate', body: { code } });
    expect(response.statusCode).toBe(401);
  });

  it('a new code retires the older unused one', async () => {
    const first = await issueCode(merchant.terminalIds[0]!);
    const second = await issueCode(merchant.terminalIds[0]!);
    expect((await freshClient().request({ method: 'POST', url: '/v1/till/activate', body: { code: first } })).statusCode).toBe(401);
    expect((await freshClient().request({ method: 'POST', url: '/v1/till/activate', body: { code: second } })).statusCode).toBe(200);
  });

  it('guessing is throttled: after 10 wrong codes from one address even the right code is refused there', async () => {
    const guesser = freshClient();
    for (let i = 0; i < 10; i++) {
      const wrong = await guesser.request({ method: 'POST', url: '/v1/till/activate', body: { code: 'ZZZZ-ZZZ2' } });
      expect(wrong.statusCode).toBe(401);
    }
    const right = await issueCode(merchant.terminalIds[1]!);
    const throttled = await guesser.request({ method: 'POST', url: '/v1/till/activate', body: { code: right } });
    expect(throttled.statusCode).toBe(429);
    // The code was not consumed: a till elsewhere still activates with it.
    const elsewhere = newClient(koban, '192.0.2.200');
    expect((await elsewhere.request({ method: 'POST', url: '/v1/till/activate', body: { code: right } })).statusCode).toBe(200);
  });

  it('revoking the terminal ends its session at once', async () => {
    const till = await activatedTill();
    expect((await till.request({ method: 'GET', url: '/v1/till/session' })).statusCode).toBe(200);
    expect(await koban.payments.terminals.revoke(merchant.terminalIds[0]!)).toBeGreaterThanOrEqual(1);
    expect((await till.request({ method: 'GET', url: '/v1/till/session' })).statusCode).toBe(401);
  });

  it('activating a replacement tablet ends the older tablet\'s session', async () => {
    const old = await activatedTill();
    await activatedTill();
    expect((await old.request({ method: 'GET', url: '/v1/till/session' })).statusCode).toBe(401);
  });

  it('a disabled terminal or a closed store is refused, for activation and for an existing session', async () => {
    const other = await createTestMerchant(koban.db, koban.ledger);
    const till = await activatedTill(other.terminalIds[0]);
    await koban.db.pool.query(`update terminals set status = 'disabled' where id = $1`, [other.terminalIds[0]]);
    expect((await till.request({ method: 'GET', url: '/v1/till/session' })).statusCode).toBe(401);
    const code = await issueCode(other.terminalIds[0]!);
    expect((await freshClient().request({ method: 'POST', url: '/v1/till/activate', body: { code } })).statusCode).toBe(401);
    const second = await activatedTill(other.terminalIds[1]);
    await koban.db.pool.query(`update stores set status = 'closed' where id = $1`, [other.storeId]);
    expect((await second.request({ method: 'GET', url: '/v1/till/session' })).statusCode).toBe(401);
  });

  it('a state-changing request without the session\'s CSRF token, or from another origin, is refused', async () => {
    const till = await activatedTill();
    const body = { merchantPaymentId: orderId(), code: '90000000000000000000', amount: '100' };
    const noCsrf = await koban.app.inject({ method: 'POST', url: '/v1/till/charges', headers: { cookie: `__Host-koban_till=${till.cookies.get('__Host-koban_till')}` }, payload: body });
    expect(noCsrf.statusCode).toBe(403);
    expect(noCsrf.json()).toMatchObject({ code: 'csrf_failed' });
    const crossSite = await till.request({ method: 'POST', url: '/v1/till/charges', body, headers: { origin: 'https://evil.example' } });
    expect(crossSite.statusCode).toBe(403);
    expect((await freshClient().request({ method: 'GET', url: '/v1/till/sales' })).statusCode).toBe(401);
  });
});

describe('charging', () => {
  it('charges a code with the store and terminal of the session, and a retry answers the first result without moving money twice', async () => {
    const till = await activatedTill(merchant.terminalIds[1]);
    const { customer, code } = await customerWithCode(5_000n);
    const body = { merchantPaymentId: orderId(), code, amount: '1200' };
    const first = await charge(till, body);
    expect(first.statusCode, first.body).toBe(200);
    expect(first.json()).toMatchObject({ status: 'COMPLETED', amount: '1200', merchantPaymentId: body.merchantPaymentId });
    const retry = await charge(till, body);
    expect(retry.statusCode).toBe(200);
    expect((retry.json() as { paymentId: string }).paymentId).toBe((first.json() as { paymentId: string }).paymentId);
    expect(await balanceOf(koban.ledger, customer.walletAccountId)).toBe(3_800n);
    const row = await koban.db.pool.query<{ store_id: string; terminal_id: string; merchant_id: string }>('select store_id, terminal_id, merchant_id from payments where merchant_payment_id = $1', [body.merchantPaymentId]);
    expect(row.rows[0]).toEqual({ store_id: merchant.storeId, terminal_id: merchant.terminalIds[1], merchant_id: merchant.merchantId });
    // The same id with another amount is a conflict, not a second payment.
    expect((await charge(till, { ...body, amount: '1300' })).json()).toMatchObject({ code: 'merchant_payment_id_conflict' });
  });

  it('a request cannot name another store or terminal', async () => {
    const till = await activatedTill();
    const { code } = await customerWithCode(5_000n);
    const response = await charge(till, { merchantPaymentId: orderId(), code, amount: '100', storeId: merchant.otherStoreId, terminalId: merchant.terminalIds[1] });
    expect(response.statusCode).toBe(400);
  });

  it('amounts are digit strings: a float, a number or a negative is refused', async () => {
    const till = await activatedTill();
    const { code } = await customerWithCode(5_000n);
    for (const amount of ['12.5', '-1', '0', 100, '1e3']) {
      expect((await charge(till, { merchantPaymentId: orderId(), code, amount })).statusCode, String(amount)).toBe(400);
    }
  });

  it('explains failures: insufficient funds, a used code, a frozen wallet, payments switched off', async () => {
    const till = await activatedTill();
    const poor = await customerWithCode(100n);
    expect((await charge(till, { merchantPaymentId: orderId(), code: poor.code, amount: '500' })).json()).toMatchObject({ status: 422, code: 'insufficient_funds' });

    const rich = await customerWithCode(5_000n);
    const paid = { merchantPaymentId: orderId(), code: rich.code, amount: '100' };
    expect((await charge(till, paid)).statusCode).toBe(200);
    expect((await charge(till, { merchantPaymentId: orderId(), code: rich.code, amount: '100' })).json()).toMatchObject({ code: 'payment_code_used' });

    const frozen = await customerWithCode(5_000n);
    await koban.ledger.setAccountStatus(frozen.customer.walletAccountId, 'frozen');
    expect((await charge(till, { merchantPaymentId: orderId(), code: frozen.code, amount: '100' })).json()).toMatchObject({ code: 'wallet_frozen' });
    expect(await balanceOf(koban.ledger, frozen.customer.walletAccountId)).toBe(5_000n);

    const later = await customerWithCode(5_000n);
    await koban.operations.switches.set({ name: 'payments', state: 'off', reason: 'test incident', actor: operator });
    try {
      expect((await charge(till, { merchantPaymentId: orderId(), code: later.code, amount: '100' })).json()).toMatchObject({ status: 503, code: 'service_switched_off' });
      // A till retrying an earlier charge still learns that the money moved.
      expect((await charge(till, paid)).json()).toMatchObject({ status: 'COMPLETED' });
    } finally {
      await koban.operations.switches.set({ name: 'payments', state: 'on', reason: 'test over', actor: operator });
    }
    expect(await balanceOf(koban.ledger, later.customer.walletAccountId)).toBe(5_000n);
  });

  it('a dynamic QR order waits, completes when the customer pays it, and can be withdrawn unpaid', async () => {
    const till = await activatedTill();
    const merchantPaymentId = orderId();
    const created = await till.request({ method: 'POST', url: '/v1/till/orders', body: { merchantPaymentId, amount: '700' } });
    expect(created.statusCode, created.body).toBe(200);
    const order = created.json() as { codeId: string; qrPayload: string; state: string };
    expect(order.state).toBe('WAITING');
    expect(order.qrPayload).toContain(`/qr/${order.codeId}`);
    const customer = await createCustomer(koban.db, koban.ledger, 1_000n);
    await koban.payments.payments.payDynamicQr(customer, order.codeId);
    const polled = await till.request({ method: 'GET', url: `/v1/till/orders/${merchantPaymentId}` });
    expect(polled.json()).toMatchObject({ state: 'COMPLETED', payment: { status: 'COMPLETED', amount: '700' } });
    expect(await balanceOf(koban.ledger, customer.walletAccountId)).toBe(300n);

    const unpaidId = orderId();
    await till.request({ method: 'POST', url: '/v1/till/orders', body: { merchantPaymentId: unpaidId, amount: '50' } });
    const withdrawn = await till.request({ method: 'DELETE', url: `/v1/till/orders/${unpaidId}` });
    expect(withdrawn.json()).toMatchObject({ state: 'CANCELED' });
  });
});

describe('sales, cancel, refund and the daily close', () => {
  it('another terminal cannot see, cancel or refund this till\'s payment', async () => {
    const mine = await activatedTill(merchant.terminalIds[0]);
    const { code } = await customerWithCode(5_000n);
    const merchantPaymentId = orderId();
    expect((await charge(mine, { merchantPaymentId, code, amount: '300' })).statusCode).toBe(200);
    const theirs = await activatedTill(merchant.terminalIds[1]);
    expect((await theirs.request({ method: 'POST', url: `/v1/till/payments/${merchantPaymentId}/cancel`, body: { reason: 'try' } })).statusCode).toBe(404);
    expect((await theirs.request({ method: 'POST', url: `/v1/till/payments/${merchantPaymentId}/refunds`, body: { merchantRefundId: orderId(), amount: '1', reason: 'try' } })).statusCode).toBe(404);
    const sales = (await theirs.request({ method: 'GET', url: '/v1/till/sales' })).json() as { payments: Array<{ merchantPaymentId: string }> };
    expect(sales.payments.map((p) => p.merchantPaymentId)).not.toContain(merchantPaymentId);
  });

  it('lists today\'s sales with cancels and refunds (reasons kept), closes the day once, then takes nothing more', async () => {
    const other = await createTestMerchant(koban.db, koban.ledger);
    const till = await activatedTill(other.terminalIds[0]);
    const a = await customerWithCode(10_000n);
    const b = await customerWithCode(10_000n);
    const c = await customerWithCode(10_000n);
    const [pa, pb, pc] = [orderId(), orderId(), orderId()];
    expect((await charge(till, { merchantPaymentId: pa, code: a.code, amount: '1000' })).statusCode).toBe(200);
    expect((await charge(till, { merchantPaymentId: pb, code: b.code, amount: '2000' })).statusCode).toBe(200);
    expect((await charge(till, { merchantPaymentId: pc, code: c.code, amount: '500' })).statusCode).toBe(200);

    const noReason = await till.request({ method: 'POST', url: `/v1/till/payments/${pa}/cancel`, body: { reason: '' } });
    expect(noReason.statusCode).toBe(400);
    const canceled = await till.request({ method: 'POST', url: `/v1/till/payments/${pa}/cancel`, body: { reason: 'wrong amount keyed' } });
    expect(canceled.json()).toMatchObject({ status: 'CANCELED', canceledAmount: '1000' });
    expect(await balanceOf(koban.ledger, a.customer.walletAccountId)).toBe(10_000n);

    const refundId = orderId();
    const partial = await till.request({ method: 'POST', url: `/v1/till/payments/${pb}/refunds`, body: { merchantRefundId: refundId, amount: '600', reason: 'returned one item' } });
    expect(partial.statusCode, partial.body).toBe(200);
    expect(partial.json()).toMatchObject({ refund: { status: 'REFUNDED', amount: '600' }, payment: { refundable: '1400' } });
    // A retry of the same refund answers it again and moves nothing more.
    await till.request({ method: 'POST', url: `/v1/till/payments/${pb}/refunds`, body: { merchantRefundId: refundId, amount: '600', reason: 'returned one item' } });
    expect(await balanceOf(koban.ledger, b.customer.walletAccountId)).toBe(8_600n);
    const tooMuch = await till.request({ method: 'POST', url: `/v1/till/payments/${pb}/refunds`, body: { merchantRefundId: orderId(), amount: '1401', reason: 'oops' } });
    expect(tooMuch.json()).toMatchObject({ code: 'refund_exceeds_payment' });

    const sales = (await till.request({ method: 'GET', url: '/v1/till/sales' })).json() as {
      payments: Array<{ merchantPaymentId: string; status: string; reasons: Array<{ kind: string; reason: string }> }>; totals: Record<string, unknown>; close: unknown;
    };
    expect(sales.payments.map((p) => p.merchantPaymentId).sort()).toEqual([pa, pb, pc].sort());
    expect(sales.payments.find((p) => p.merchantPaymentId === pa)?.reasons).toEqual([expect.objectContaining({ kind: 'cancel', reason: 'wrong amount keyed' })]);
    expect(sales.payments.find((p) => p.merchantPaymentId === pb)?.reasons).toEqual([expect.objectContaining({ kind: 'refund', reason: 'returned one item' })]);
    expect(sales.totals).toEqual({ paymentsCount: 3, gross: '3500', cancelsCount: 1, cancels: '1000', refundsCount: 1, refunds: '600', net: '1900' });
    expect(sales.close).toBeNull();

    const closed = await till.request({ method: 'POST', url: '/v1/till/close', body: {} });
    expect(closed.statusCode, closed.body).toBe(200);
    expect(closed.json()).toMatchObject({ totals: { paymentsCount: 3, gross: '3500', net: '1900' } });
    const again = await till.request({ method: 'POST', url: '/v1/till/close', body: {} });
    expect(again.json()).toEqual(closed.json());
    const rows = await koban.db.pool.query('select 1 from terminal_day_closes where terminal_id = $1', [other.terminalIds[0]]);
    expect(rows.rowCount).toBe(1);

    const d = await customerWithCode(10_000n);
    expect((await charge(till, { merchantPaymentId: orderId(), code: d.code, amount: '100' })).json()).toMatchObject({ code: 'till_day_closed' });
    expect((await till.request({ method: 'POST', url: `/v1/till/payments/${pc}/refunds`, body: { merchantRefundId: orderId(), amount: '100', reason: 'after close' } })).json()).toMatchObject({ code: 'till_day_closed' });
    // A retry of a charge made before the close still answers it.
    expect((await charge(till, { merchantPaymentId: pc, code: c.code, amount: '500' })).json()).toMatchObject({ status: 'COMPLETED' });
    expect((await till.request({ method: 'GET', url: '/v1/till/session' })).json()).toMatchObject({ dayClosed: true });
  });

  it('the close waits for nothing: it refuses while a sale is in flight or a QR order waits, so no sale lands after the Z-report', async () => {
    const other = await createTestMerchant(koban.db, koban.ledger);
    const terminalId = other.terminalIds[0]!;
    const till = await activatedTill(terminalId);
    const today = (await till.request({ method: 'GET', url: '/v1/till/sales' })).json().businessDate as string;
    // A charge of this till between its open-day check and its payment (day-guard.ts registers it).
    const inFlight = await koban.db.pool.query<{ id: string }>(
      `insert into terminal_actions_in_flight (id, terminal_id, business_date) values (gen_random_uuid(), $1, $2) returning id`, [terminalId, today]);
    const busy = await till.request({ method: 'POST', url: '/v1/till/close', body: {} });
    expect(busy.statusCode).toBe(409);
    expect(busy.json()).toMatchObject({ code: 'till_busy' });
    // A crashed request's row is ignored once stale.
    await koban.db.pool.query(`update terminal_actions_in_flight set started_at = now() - interval '3 minutes' where id = $1`, [inFlight.rows[0]!.id]);

    const unpaid = orderId();
    expect((await till.request({ method: 'POST', url: '/v1/till/orders', body: { merchantPaymentId: unpaid, amount: '400' } })).statusCode).toBe(200);
    const waiting = await till.request({ method: 'POST', url: '/v1/till/close', body: {} });
    expect(waiting.json()).toMatchObject({ code: 'till_busy', detail: expect.stringContaining('QR order') });
    expect((await koban.db.pool.query('select 1 from terminal_day_closes where terminal_id = $1', [terminalId])).rowCount).toBe(0);

    await till.request({ method: 'DELETE', url: `/v1/till/orders/${unpaid}` });
    const closed = await till.request({ method: 'POST', url: '/v1/till/close', body: {} });
    expect(closed.statusCode, closed.body).toBe(200);
    // Every finished action took its in-flight row with it; only the crashed one is left.
    expect((await koban.db.pool.query('select id from terminal_actions_in_flight where terminal_id = $1', [terminalId])).rows).toEqual([{ id: inFlight.rows[0]!.id }]);
  });

  it('the till API is in the OpenAPI document', async () => {
    const document = (await koban.app.inject({ method: 'GET', url: '/openapi.json' })).json() as { paths: Record<string, unknown> };
    for (const path of ['/v1/till/activate', '/v1/till/charges', '/v1/till/orders', '/v1/till/sales', '/v1/till/close', '/v1/till/payments/{merchantPaymentId}/refunds']) {
      expect(Object.keys(document.paths)).toContain(path);
    }
  });
});
