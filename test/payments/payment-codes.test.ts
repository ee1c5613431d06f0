/** Step 2: customer-presented payment codes. */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Ledger } from '../../src/ledger/ledger.ts';
import { uuidv7 } from '../../src/platform/ids.ts';
import { generatePaymentCode, hashPaymentCode, mintPaymentCode, PAYMENT_CODE_LENGTH, paymentCodeStatus, type CodeDeps } from '../../src/payments/codes.ts';
import { defaultPaymentHooks } from '../../src/payments/context.ts';
import { expectLedgerConsistent } from '../ledger/fixtures.ts';
import type { TestDatabase } from '../support/database.ts';
import { createCustomer } from './customer-fixtures.ts';
import { startHarness, testSwitches, type Harness } from './support.ts';

let h: Harness;
let db: TestDatabase;
let ledger: Ledger;
let deps: CodeDeps;
let pepper: Buffer;
const clock = { now: new Date('2025-06-02T03:00:00Z') };

beforeAll(async () => {
  h = await startHarness();
  h.clock.now = clock.now;
  db = h.db;
  ledger = h.ledger;
  pepper = h.module.payments.deps.pepper;
  deps = { db, pepper, hooks: defaultPaymentHooks, switches: testSwitches(), ttlSec: 300, now: () => clock.now };
});
afterAll(async () => {
  await expectLedgerConsistent(db);
  await h.close();
});

/** A till claims the code for a payment (the claim is part of the till's staging statement, till.ts). */
async function claim(code: string, at = clock.now): Promise<{ codeId: string; customerId: string | null; walletAccountId: string | null; deviceId: string | null }> {
  h.clock.now = at;
  try {
    const payment = await h.module.payments.payWithCustomerCode({
      merchantId: h.merchant.merchantId, merchantPaymentId: `claim-${uuidv7()}`, code, amountMinor: 100n,
      storeId: h.merchant.storeId, terminalId: h.merchant.terminalIds[0] as string, orderDescription: null, requestedAt: null,
    });
    const used = await db.pool.query<{ id: string }>('select id from payment_codes where payment_id = $1', [payment.id]);
    return { codeId: used.rows[0]?.id ?? '', customerId: payment.customerId, walletAccountId: payment.walletAccountId, deviceId: payment.deviceId };
  } finally {
    h.clock.now = clock.now;
  }
}

describe('payment codes', () => {
  it('are 20 digits with the Koban prefix, and differ every time', () => {
    const codes = Array.from({ length: 2000 }, generatePaymentCode);
    expect(PAYMENT_CODE_LENGTH).toBe(20);
    expect(codes.every((c) => /^9[0-9]{19}$/.test(c))).toBe(true);
    expect(new Set(codes).size).toBe(codes.length);
    // Every random position uses all ten digits (a coarse check that no position is fixed or derived).
    for (let position = 1; position < 20; position++) expect(new Set(codes.map((c) => c[position])).size).toBe(10);
  });

  it('are stored only as an HMAC: a database read does not reveal a live code', async () => {
    const customer = await createCustomer(db, ledger, 0n);
    const minted = await mintPaymentCode(deps, customer);
    const row = await db.pool.query<{ row: string; code_hash: Buffer }>(`select row_to_json(p)::text as row, code_hash from payment_codes p where id = $1`, [minted.codeId]);
    expect(row.rows[0]?.row).not.toContain(minted.code);
    expect(row.rows[0]?.code_hash.equals(hashPaymentCode(pepper, minted.code))).toBe(true);
    expect(minted.expiresAt.getTime() - clock.now.getTime()).toBe(300_000);
  });

  it('are single use: two tills claiming one code at once, exactly one wins', async () => {
    const customer = await createCustomer(db, ledger, 1_000n);
    const minted = await mintPaymentCode(deps, customer);
    const results = await Promise.allSettled(Array.from({ length: 6 }, () => claim(minted.code)));
    const won = results.filter((r) => r.status === 'fulfilled');
    expect(won).toHaveLength(1);
    expect(won[0]).toMatchObject({ value: { customerId: customer.customerId, walletAccountId: customer.walletAccountId, deviceId: customer.deviceId } });
    expect(results.filter((r) => r.status === 'rejected').map((r) => ((r as PromiseRejectedResult).reason as { code: string }).code)).toEqual(Array(5).fill('payment_code_used'));
  });

  it('refuses an expired code, an unknown code and a malformed one', async () => {
    const customer = await createCustomer(db, ledger, 0n);
    const minted = await mintPaymentCode(deps, customer);
    await expect(claim(minted.code, new Date(clock.now.getTime() + 300_000))).rejects.toMatchObject({ code: 'payment_code_expired' });
    await expect(claim(generatePaymentCode())).rejects.toMatchObject({ code: 'payment_code_not_found' });
    await expect(claim('1234')).rejects.toMatchObject({ code: 'payment_code_not_found' });
    await expect(claim(`8${minted.code.slice(1)}`)).rejects.toMatchObject({ code: 'payment_code_not_found' });
  });

  it('a refreshed code replaces the previous one on that device (the old one is dead)', async () => {
    const customer = await createCustomer(db, ledger, 1_000n);
    const first = await mintPaymentCode(deps, customer);
    const second = await mintPaymentCode(deps, customer);
    await expect(claim(first.code)).rejects.toMatchObject({ code: 'payment_code_expired' });
    expect((await claim(second.code)).codeId).toBe(second.codeId);
  });

  it('are not minted during a recovery cool-down or when risk refuses', async () => {
    const customer = await createCustomer(db, ledger, 0n);
    // The cool-down is identity's customers row, read with the batch (codes.ts).
    await db.pool.query(`insert into customers (id, webauthn_user_id, recovery_cooldown_until) values ($1, $2, now() + interval '1 hour')`,
      [customer.customerId, randomBytes(32).toString('base64url')]);
    await expect(mintPaymentCode(deps, customer)).rejects.toMatchObject({ code: 'recovery_cooldown' });
    await db.pool.query(`update customers set recovery_cooldown_until = null where id = $1`, [customer.customerId]);
    const risky = { ...deps, hooks: { ...defaultPaymentHooks, assessCodeMints: async (_client: unknown, ctxs: readonly unknown[]) => ({
      refused: ctxs.map(() => true), record: async () => undefined, afterCommit: async () => ctxs.map(() => null) }) } };
    await expect(mintPaymentCode(risky, customer)).rejects.toMatchObject({ code: 'payment_refused_by_risk' });
    const count = await db.pool.query(`select 1 from payment_codes where customer_id = $1`, [customer.customerId]);
    expect(count.rowCount).toBe(0);
  });

  it('refuses a context whose wallet is not the customer\'s own (forged context)', async () => {
    const alice = await createCustomer(db, ledger, 0n);
    const bob = await createCustomer(db, ledger, 0n);
    await expect(mintPaymentCode(deps, { ...alice, walletAccountId: bob.walletAccountId })).rejects.toMatchObject({ code: 'wallet_not_found' });
  });

  it('shows a code\'s status to its owner only: another customer\'s code is not found', async () => {
    const alice = await createCustomer(db, ledger, 1_000n);
    const bob = await createCustomer(db, ledger, 0n);
    const minted = await mintPaymentCode(deps, alice);
    expect(await paymentCodeStatus(deps, alice, minted.codeId)).toMatchObject({ status: 'live', paymentId: null });
    await expect(paymentCodeStatus(deps, bob, minted.codeId)).rejects.toMatchObject({ code: 'payment_code_not_found' });
    await claim(minted.code);
    expect((await paymentCodeStatus(deps, alice, minted.codeId)).status).toBe('used');
  });
});
