/** Step 3: the till API — customer-presented codes charged in one signed call. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLedger } from '../../src/ledger/ledger.ts';
import { createApiCredential } from '../../src/merchants/credentials.ts';
import { DeferringNonceStore } from '../../src/merchants/opa/deferring-nonce-store.ts';
import { generatePaymentCode } from '../../src/payments/codes.ts';
import type { CustomerContext } from '../../src/payments/context.ts';
import { PLATFORM_ACCOUNTS } from '../../src/ledger/platform-accounts.ts';
import { TILL_CACHE_TTL_MS } from '../../src/payments/tills.ts';
import { expectLedgerConsistent } from '../ledger/fixtures.ts';
import { balanceOf, createCustomer } from './customer-fixtures.ts';
import { createTestMerchant } from './merchant-fixtures.ts';
import { opa, resultCode, startHarness, type Harness } from './support.ts';

let h: Harness;
let crashAfterLedger = false;

beforeAll(async () => {
  h = await startHarness({
    // A ledger that can "crash" right after the money moved, before the payment row records it.
    ledger: (db) => {
      const real = createLedger(db, { maxAmountMinor: 100_000_000_000n });
      return { ...real, async createTransfers(requests) {
        const results = await real.createTransfers(requests);
        if (crashAfterLedger) throw new Error('process died after the ledger commit');
        return results;
      }, async createTransfersWithin(client, groups) {
        // In a group commit the ledger's write is not committed yet: the batch rolls back and the payment settles on its own.
        const results = await real.createTransfersWithin(client, groups);
        if (crashAfterLedger) throw new Error('process died after the ledger write, before the batch committed');
        return results;
      } };
    },
  });
});
afterAll(async () => {
  await expectLedgerConsistent(h.db);
  await h.close();
});

let orderSeq = 0;
const order = () => `till-${Date.now()}-${orderSeq++}`;

function till(code: string, amount: unknown, extra: Record<string, unknown> = {}) {
  return {
    merchantPaymentId: order(), code, amount: { amount, currency: 'JPY' },
    storeId: h.merchant.storeId, terminalId: h.merchant.terminalIds[0], ...extra,
  };
}

async function codeFor(customer: CustomerContext): Promise<string> {
  return (await h.module.payments.mintPaymentCode(customer)).code;
}

describe('till API: paying with a customer code', () => {
  it('completes in one call and moves amount and fee as one linked chain', async () => {
    const customer = await createCustomer(h.db, h.ledger, 10_000n);
    const feeBefore = await balanceOf(h.ledger, PLATFORM_ACCOUNTS.feeRevenue);
    const response = await opa(h, { method: 'POST', url: '/v2/till/payments', body: till(await codeFor(customer), 1000) });
    expect(response.statusCode).toBe(200);
    expect(response.headers['x-request-id']).toBeTruthy();
    const body = response.json();
    expect(body.resultInfo.code).toBe('SUCCESS');
    expect(body.data).toMatchObject({ status: 'COMPLETED', amount: { amount: 1000, currency: 'JPY' }, storeId: h.merchant.storeId });
    expect(await balanceOf(h.ledger, customer.walletAccountId)).toBe(9_000n);
    // 1.98% of 1000 = 19.8, rounded down to 19.
    expect(await balanceOf(h.ledger, PLATFORM_ACCOUNTS.feeRevenue) - feeBefore).toBe(19n);
    const receivable = await h.ledger.getAccount(h.merchant.receivableAccountId);
    expect((receivable?.creditsPosted ?? 0n) - (receivable?.debitsPosted ?? 0n)).toBeGreaterThanOrEqual(981n);
  });

  it('answers a repeated merchantPaymentId with the same payment and charges once', async () => {
    const customer = await createCustomer(h.db, h.ledger, 5_000n);
    const request = till(await codeFor(customer), 700);
    const first = (await opa(h, { method: 'POST', url: '/v2/till/payments', body: request })).json();
    const again = (await opa(h, { method: 'POST', url: '/v2/till/payments', body: request })).json();
    expect(again.data.paymentId).toBe(first.data.paymentId);
    expect(await balanceOf(h.ledger, customer.walletAccountId)).toBe(4_300n);
    const conflicting = await opa(h, { method: 'POST', url: '/v2/till/payments', body: { ...request, amount: { amount: 701, currency: 'JPY' } } });
    expect(resultCode(conflicting)).toBe('DUPLICATE_PAYMENT_REQUEST');
    expect(await balanceOf(h.ledger, customer.walletAccountId)).toBe(4_300n);
  });

  it('two tills submitting the same code at the same time: exactly one succeeds', async () => {
    const customer = await createCustomer(h.db, h.ledger, 50_000n);
    const code = await codeFor(customer);
    const responses = await Promise.all(Array.from({ length: 8 }, (_, i) => opa(h, {
      method: 'POST', url: '/v2/till/payments', body: till(code, 1000, { terminalId: h.merchant.terminalIds[i % 2] }),
    })));
    const codes = responses.map(resultCode).sort();
    expect(codes).toEqual(['SUCCESS', ...Array(7).fill('PAYMENT_CODE_ALREADY_USED')].sort());
    expect(await balanceOf(h.ledger, customer.walletAccountId)).toBe(49_000n);
  });

  it('refuses an unaffordable payment with NO_SUFFICIENT_FUND and moves nothing', async () => {
    const customer = await createCustomer(h.db, h.ledger, 500n);
    const response = await opa(h, { method: 'POST', url: '/v2/till/payments', body: till(await codeFor(customer), 501) });
    expect(response.statusCode).toBe(400);
    expect(resultCode(response)).toBe('NO_SUFFICIENT_FUND');
    expect(response.json().data).toBeNull();
    expect(await balanceOf(h.ledger, customer.walletAccountId)).toBe(500n);
  });

  it.each([
    ['a negative amount', -100, 'INVALID_PARAMS'],
    ['a zero amount', 0, 'INVALID_PARAMS'],
    ['a string amount', '100', 'INVALID_PARAMS'],
    ['a huge amount', 999_999_999_999_999, 'INVALID_PARAMS'],
    ['an amount above the per-payment cap', 1_000_001, 'LIMIT_EXCEEDED'],
  ])('refuses %s, changes nothing, and the code still works', async (_name, amount, expected) => {
    const customer = await createCustomer(h.db, h.ledger, 2_000_000n);
    const code = await codeFor(customer);
    const response = await opa(h, { method: 'POST', url: '/v2/till/payments', body: till(code, amount) });
    expect(resultCode(response)).toBe(expected);
    expect(await balanceOf(h.ledger, customer.walletAccountId)).toBe(2_000_000n);
    expect(resultCode(await opa(h, { method: 'POST', url: '/v2/till/payments', body: till(code, 100) }))).toBe('SUCCESS');
  });

  it('refuses fractional and exponent amounts in the raw JSON (no float money)', async () => {
    const customer = await createCustomer(h.db, h.ledger, 1_000n);
    const code = await codeFor(customer);
    for (const literal of ['100.5', '1e3', '100.0']) {
      const raw = JSON.stringify(till(code, 0)).replace('"amount":0', `"amount":${literal}`);
      const response = await opa(h, { method: 'POST', url: '/v2/till/payments', body: raw });
      expect(resultCode(response)).toBe('INVALID_PARAMS');
    }
    expect(await balanceOf(h.ledger, customer.walletAccountId)).toBe(1_000n);
  });

  it('refuses unknown, expired and malformed codes with distinct results', async () => {
    const customer = await createCustomer(h.db, h.ledger, 1_000n);
    expect(resultCode(await opa(h, { method: 'POST', url: '/v2/till/payments', body: till(generatePaymentCode(), 100) }))).toBe('PAYMENT_CODE_NOT_FOUND');
    expect(resultCode(await opa(h, { method: 'POST', url: '/v2/till/payments', body: till('12345', 100) }))).toBe('PAYMENT_CODE_NOT_FOUND');
    const code = await codeFor(customer);
    h.clock.now = new Date(Date.now() + 301_000);
    try {
      expect(resultCode(await opa(h, { method: 'POST', url: '/v2/till/payments', body: till(code, 100) }))).toBe('PAYMENT_CODE_EXPIRED');
    } finally {
      h.clock.now = new Date();
    }
    expect(await balanceOf(h.ledger, customer.walletAccountId)).toBe(1_000n);
  });

  it('refuses a store of another merchant and a terminal of another store', async () => {
    const customer = await createCustomer(h.db, h.ledger, 1_000n);
    const other = await createTestMerchant(h.db, h.ledger);
    const code = await codeFor(customer);
    expect(resultCode(await opa(h, { method: 'POST', url: '/v2/till/payments', body: till(code, 100, { storeId: other.storeId }) }))).toBe('INVALID_PARAMS');
    expect(resultCode(await opa(h, { method: 'POST', url: '/v2/till/payments', body: till(code, 100, { storeId: h.merchant.otherStoreId }) }))).toBe('INVALID_PARAMS');
    expect(await balanceOf(h.ledger, customer.walletAccountId)).toBe(1_000n);
  });

  it('sees a disabled terminal and a closed store once the till cache entry expires, and at once after invalidation', async () => {
    const customer = await createCustomer(h.db, h.ledger, 10_000n);
    const onTerminal = async (terminalId: string) => resultCode(await opa(h, { method: 'POST', url: '/v2/till/payments', body: till(await codeFor(customer), 100, { terminalId }) }));
    const terminal = h.merchant.terminalIds[1] as string;
    const started = h.clock.now;
    try {
      expect(await onTerminal(terminal)).toBe('SUCCESS');
      await h.db.pool.query(`update terminals set status = 'disabled' where id = $1`, [terminal]);
      // Within the TTL the cached answer stands: that is the bounded staleness tills.ts promises.
      expect(await onTerminal(terminal)).toBe('SUCCESS');
      h.clock.now = new Date(started.getTime() + TILL_CACHE_TTL_MS + 1);
      expect(await onTerminal(terminal)).toBe('INVALID_PARAMS');
      await h.db.pool.query(`update terminals set status = 'active' where id = $1`, [terminal]);
      // A refusal is never cached: the re-enabled terminal works at once.
      expect(await onTerminal(terminal)).toBe('SUCCESS');
      await h.db.pool.query(`update stores set status = 'closed' where id = $1`, [h.merchant.storeId]);
      h.module.payments.invalidateTills();
      expect(await onTerminal(terminal)).toBe('INVALID_PARAMS');
    } finally {
      h.clock.now = started;
      await h.db.pool.query(`update terminals set status = 'active' where id = $1`, [terminal]);
      await h.db.pool.query(`update stores set status = 'active' where id = $1`, [h.merchant.storeId]);
      h.module.payments.invalidateTills();
    }
    expect(await balanceOf(h.ledger, customer.walletAccountId)).toBe(9_700n);
  });

  it('finishes a payment whose process died after the ledger commit, exactly once (its batch, dying before its commit, left nothing)', async () => {
    const customer = await createCustomer(h.db, h.ledger, 3_000n);
    const request = till(await codeFor(customer), 1_200);
    const rolledBackBefore = h.module.payments.deps.codePayments.stats.rolledBack;
    crashAfterLedger = true;
    try {
      expect(resultCode(await opa(h, { method: 'POST', url: '/v2/till/payments', body: request }))).toBe('INTERNAL_SERVER_ERROR');
    } finally {
      crashAfterLedger = false;
    }
    // The batch rolled back (nothing of it was written: the code was still live for the single path's claim), then the single path died after its ledger commit.
    expect(h.module.payments.deps.codePayments.stats.rolledBack).toBe(rolledBackBefore + 1);
    expect((await h.module.payments.getPayment(h.merchant.merchantId, request.merchantPaymentId)).status).toBe('CREATED');
    h.clock.now = new Date(Date.now() + 11_000);
    try {
      await h.module.payments.runMaintenance();
    } finally {
      h.clock.now = new Date();
    }
    expect((await h.module.payments.getPayment(h.merchant.merchantId, request.merchantPaymentId)).status).toBe('COMPLETED');
    expect(await balanceOf(h.ledger, customer.walletAccountId)).toBe(1_800n);
  });
});

describe('till API: authentication and scoping', () => {
  it('rejects a wrong signature with UNAUTHORIZED and moves nothing', async () => {
    const customer = await createCustomer(h.db, h.ledger, 1_000n);
    const response = await opa(h, { method: 'POST', url: '/v2/till/payments', body: till(await codeFor(customer), 100), credential: { apiKey: h.credential.apiKey, apiSecret: 'wrong-secret-wrong-secret-wrong-secret' } });
    expect(response.statusCode).toBe(401);
    expect(resultCode(response)).toBe('UNAUTHORIZED');
    expect(await balanceOf(h.ledger, customer.walletAccountId)).toBe(1_000n);
  });

  it('rejects a replayed request (same nonce) and a request signed too long ago', async () => {
    const customer = await createCustomer(h.db, h.ledger, 1_000n);
    const request = { method: 'POST' as const, url: '/v2/till/payments', body: till(await codeFor(customer), 100), nonce: 'replayed-nonce-1' };
    expect(resultCode(await opa(h, request))).toBe('SUCCESS');
    expect(resultCode(await opa(h, request))).toBe('UNAUTHORIZED');
    const stale = await opa(h, { ...request, nonce: 'fresh-nonce-0002', epochSec: Math.floor(Date.now() / 1000) - 600 });
    expect(resultCode(stale)).toBe('UNAUTHORIZED');
    expect(await balanceOf(h.ledger, customer.walletAccountId)).toBe(900n);
  });

  it('a replayed till charge is refused at once by the node that saw it (memory), every node sees its nonce once the payment batch committed, and a replay past both answers the original payment without paying twice', async () => {
    const customer = await createCustomer(h.db, h.ledger, 1_000n);
    const body = till(await codeFor(customer), 100);
    const request = { method: 'POST' as const, url: '/v2/till/payments', body, nonce: 'deferred-nonce-1' };
    const first = await opa(h, request);
    expect(resultCode(first)).toBe('SUCCESS');
    expect(resultCode(await opa(h, request))).toBe('UNAUTHORIZED');
    // Written with the payment's batch (its transaction), not by a durable commit of its own: another node's claim fails.
    const written = await h.db.pool.query(`select 1 from opa_nonces where api_key = $1 and nonce = 'deferred-nonce-1'`, [h.credential.apiKey]);
    expect(written.rowCount).toBe(1);
    const otherNode = new DeferringNonceStore(h.db);
    expect(await otherNode.claim(h.credential.apiKey, 'deferred-nonce-1', Math.floor(Date.now() / 1000) + 60)).toBe(false);
    // A replay that a node could not refuse (another node's memory, a lost one) is a retry: the original's answer, no money moved.
    const again = await opa(h, { ...request, nonce: 'deferred-nonce-2' });
    expect(resultCode(again)).toBe('SUCCESS');
    expect((again.json() as { data: { paymentId: string } }).data.paymentId).toBe((first.json() as { data: { paymentId: string } }).data.paymentId);
    expect(await balanceOf(h.ledger, customer.walletAccountId)).toBe(900n);
    // That repeat was answered without a batch: its nonce waits for the flush (every second on every node), which writes it.
    const unwritten = `select 1 from opa_nonces where api_key = $1 and nonce = 'deferred-nonce-2'`;
    expect((await h.db.pool.query(unwritten, [h.credential.apiKey])).rowCount).toBe(0);
    expect(await h.module.nonceStore.flush()).toBeGreaterThan(0);
    expect((await h.db.pool.query(unwritten, [h.credential.apiKey])).rowCount).toBe(1);
  });

  it('a non-money endpoint keeps the durable nonce claim: its nonce is in the database before the answer', async () => {
    const pendingBefore = h.module.nonceStore.pendingCount;
    const response = await opa(h, { method: 'GET', url: '/v2/payments/no-such-payment-id', nonce: 'durable-nonce-1' });
    expect(response.statusCode).not.toBe(401);
    const written = await h.db.pool.query(`select 1 from opa_nonces where api_key = $1 and nonce = 'durable-nonce-1'`, [h.credential.apiKey]);
    expect(written.rowCount).toBe(1);
    expect(h.module.nonceStore.pendingCount).toBe(pendingBefore);
  });

  it('rejects a body changed after signing (the signature covers the raw bytes)', async () => {
    const customer = await createCustomer(h.db, h.ledger, 1_000n);
    const body = JSON.stringify(till(await codeFor(customer), 100));
    const { signedHeaders } = await import('./support.ts');
    const { headers } = signedHeaders({ method: 'POST', url: '/v2/till/payments', body }, h.credential);
    const tampered = body.replace('"amount":100', '"amount":999');
    const response = await h.module.opa.app.inject({ method: 'POST', url: '/v2/till/payments', headers, payload: tampered });
    expect(resultCode(response)).toBe('UNAUTHORIZED');
    expect(await balanceOf(h.ledger, customer.walletAccountId)).toBe(1_000n);
  });

  it('refuses X-ASSUME-MERCHANT or ?assumeMerchant= naming another merchant', async () => {
    const other = await createTestMerchant(h.db, h.ledger);
    const viaHeader = await opa(h, { method: 'GET', url: '/v2/payments/anything', headers: { 'x-assume-merchant': other.merchantId } });
    expect(resultCode(viaHeader)).toBe('OP_OUT_OF_SCOPE');
    const viaQuery = await opa(h, { method: 'GET', url: `/v2/payments/anything?assumeMerchant=${other.merchantId}`, headers: { 'x-assume-merchant': h.merchant.merchantId } });
    expect(resultCode(viaQuery)).toBe('OP_OUT_OF_SCOPE');
    const own = await opa(h, { method: 'GET', url: '/v2/payments/anything', headers: { 'x-assume-merchant': h.merchant.merchantId } });
    expect(resultCode(own)).toBe('RESOURCE_NOT_FOUND');
  });

  it('does not let a merchant read another merchant\'s payment', async () => {
    const customer = await createCustomer(h.db, h.ledger, 1_000n);
    const request = till(await codeFor(customer), 100);
    expect(resultCode(await opa(h, { method: 'POST', url: '/v2/till/payments', body: request }))).toBe('SUCCESS');
    const other = await createTestMerchant(h.db, h.ledger);
    const otherKey = await createApiCredential(h.db, h.module.box, { merchantId: other.merchantId });
    const response = await opa(h, { method: 'GET', url: `/v2/payments/${request.merchantPaymentId}`, credential: otherKey });
    expect(response.statusCode).toBe(404);
    expect(resultCode(response)).toBe('RESOURCE_NOT_FOUND');
    expect(resultCode(await opa(h, { method: 'GET', url: `/v2/payments/${request.merchantPaymentId}` }))).toBe('SUCCESS');
  });

  it('refuses a key used from outside its IP allow-list', async () => {
    const restricted = await createApiCredential(h.db, h.module.box, { merchantId: h.merchant.merchantId, ipAllowList: ['203.0.113.0/24'] });
    const response = await opa(h, { method: 'GET', url: '/v2/payments/anything', credential: restricted });
    expect(resultCode(response)).toBe('UNAUTHORIZED');
  });

  it('answers unknown routes and unsigned requests in the resultInfo envelope with X-REQUEST-ID', async () => {
    const unknown = await h.module.opa.app.inject({ method: 'GET', url: '/v2/nothing-here' });
    expect(unknown.headers['content-type']).toMatch(/^application\/json/);
    expect(unknown.headers['x-request-id']).toBeTruthy();
    expect(resultCode(unknown)).toBe('RESOURCE_NOT_FOUND');
    const unsigned = await h.module.opa.app.inject({ method: 'POST', url: '/v2/till/payments', payload: { a: 1 } });
    expect(unsigned.statusCode).toBe(401);
    expect(resultCode(unsigned)).toBe('UNAUTHORIZED');
  });
});

