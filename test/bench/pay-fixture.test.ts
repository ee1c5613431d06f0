/**
 * The bench:pay fixture and ceiling write straight into Koban's tables, so a schema change could make the
 * benchmark measure something other than Koban (or fail late, after minutes of load). These tests hold them
 * to what Koban itself accepts: the seeded wallets balance under `ledger verify`, the seeded sessions mint
 * a code through the real wallet API, and the ceiling's batch statement makes balanced payments exactly once.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { batchSql, BATCH, prepareCeiling, runOwnWriters } from '../../bench/pay/ceiling-sql.ts';
import { createHotMerchant, FUNDING_ACCOUNT_ID, OPENING_BALANCE_MINOR, seedWallets, signInCustomers } from '../../bench/pay/fixture.ts';
import { verifyLedger } from '../../src/ledger/verify.ts';
import { isPaymentCodeShape } from '../../src/payments/codes.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { startTestKoban } from '../support/koban.ts';

const WALLETS = 1_000;
let db: TestDatabase;
let client: pg.Client;
const secretKey = randomBytes(32).toString('hex');
const identitySecret = randomBytes(32).toString('base64url');

beforeAll(async () => {
  db = await createTestDatabase();
  client = new pg.Client({ connectionString: db.url ?? '' });
  await client.connect();
  await seedWallets(client, 1, WALLETS, () => undefined);
});
afterAll(async () => {
  await client.end();
  await db.close();
});

describe('bench:pay fixture', () => {
  it('seeds funded wallets whose balances ledger verify recomputes from their top-ups', async () => {
    const funding = await client.query<{ debits_posted: string }>('select debits_posted from accounts where id = $1', [FUNDING_ACCOUNT_ID]);
    expect(BigInt(funding.rows[0]?.debits_posted ?? -1)).toBe(BigInt(WALLETS) * OPENING_BALANCE_MINOR);
    const linked = await client.query<{ n: string }>('select count(*) as n from customer_wallets w join accounts a on a.id = w.account_id join customers c on c.id = w.customer_id');
    expect(Number(linked.rows[0]?.n)).toBe(WALLETS);
    const report = await verifyLedger(db);
    expect(report.problems).toEqual([]);
    expect(report.ok).toBe(true);
  });

  it('signs in customers whose session cookie and CSRF token mint a code through the wallet API', async () => {
    const [customer] = await signInCustomers(client, WALLETS, 3, identitySecret);
    if (customer === undefined) throw new Error('no customer signed in');
    const koban = await startTestKoban({ db, env: { KOBAN_IDENTITY_SECRET: identitySecret, KOBAN_SECRET_KEY: secretKey } });
    try {
      const cookie = `__Host-koban_session=${customer.token}`;
      const minted = await koban.koban.app.inject({ method: 'POST', url: '/v1/wallet/payment-codes', headers: { cookie, 'x-csrf-token': customer.csrf, 'content-type': 'application/json' }, payload: '{}' });
      expect(minted.statusCode).toBe(200);
      expect(isPaymentCodeShape(minted.json<{ code: string }>().code)).toBe(true);
      const forged = await koban.koban.app.inject({ method: 'POST', url: '/v1/wallet/payment-codes', headers: { cookie, 'x-csrf-token': 'x'.repeat(43), 'content-type': 'application/json' }, payload: '{}' });
      expect(forged.statusCode).toBe(403);
    } finally {
      await koban.koban.close();
    }
  });

  it('the ceiling statement claims 100 live codes into balanced, completed payments, and never the same code twice', async () => {
    const merchant = await createHotMerchant(db, Buffer.from(secretKey, 'hex'));
    const targets = await prepareCeiling(client, WALLETS, 3 * BATCH, merchant.merchantId);
    const text = batchSql(targets);
    // Counts come back as bigint or string depending on the pg type parsers in force; compare as numbers.
    const counts = (row: Record<string, unknown> | undefined) => Object.fromEntries(Object.entries(row ?? {}).map(([k, v]) => [k, Number(v)]));
    const first = await client.query(text, [0]);
    expect(counts(first.rows[0])).toMatchObject({ payments: BATCH, legs: 2 * BATCH, wallets: BATCH, events: BATCH });
    const again = await client.query(text, [0]);
    expect(counts(again.rows[0]).payments).toBe(0);
    const completed = await client.query<{ n: string }>(`select count(*) as n from payments where status = 'COMPLETED' and merchant_id = $1`, [merchant.merchantId]);
    expect(Number(completed.rows[0]?.n)).toBe(BATCH);
    const report = await verifyLedger(db);
    expect(report.problems).toEqual([]);

    // Without pgbench the same statement runs from forked writers: they go on from the sequence, past batch 0.
    await client.query(`select setval('bench_ceiling_batch', 1)`);
    const run = await runOwnWriters(db.url ?? '', targets, 1, 1);
    const after = await client.query<{ n: string }>(`select count(*) as n from payments where status = 'COMPLETED' and merchant_id = $1`, [merchant.merchantId]);
    expect(run.batches).toBeGreaterThan(0);
    expect(Number(after.rows[0]?.n)).toBe(BATCH * Math.min(3, 1 + run.batches));
    expect((await verifyLedger(db)).problems).toEqual([]);
  });
});
