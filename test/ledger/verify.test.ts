/** `koban ledger verify` finds tampering: an edited amount, a forged balance, a deleted transfer. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { verifyLedger } from '../../src/ledger/verify.ts';
import { openPostgres } from '../../src/platform/db/postgres.ts';
import { DEFAULT_DATABASE_TIMEOUTS } from '../../src/platform/db/resilience.ts';
import { koban } from '../support/cli.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { newLedger, openAccounts, transfer } from './fixtures.ts';

let db: TestDatabase;
let ids: Awaited<ReturnType<typeof openAccounts>>;
let paymentId: string;

beforeEach(async () => {
  db = await createTestDatabase();
  const ledger = newLedger(db);
  ids = await openAccounts(ledger);
  await ledger.createTransfers([transfer(ids.funding, ids.wallet, 5_000n)]);
  const payment = transfer(ids.wallet, ids.merchant, 1_000n);
  paymentId = payment.id;
  await ledger.createTransfers([payment]);
});
afterEach(async () => db.close());

/** Tampering needs the immutability triggers out of the way, as an attacker with DB access would. */
async function tamper(sql: string, values: unknown[]): Promise<void> {
  const client = await db.pool.connect();
  try {
    await client.query('begin');
    await client.query('set local session_replication_role = replica');
    await client.query(sql, values);
    await client.query('commit');
  } finally {
    client.release();
  }
}

const cli = () => koban(db.url, 'ledger', 'verify');

describe('ledger verify', () => {
  it('passes on an untouched ledger, from the command line too', async () => {
    expect((await verifyLedger(db)).ok).toBe(true);
    const result = await cli();
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('OK: every invariant holds');
  });

  it('detects an edited transfer amount', async () => {
    await tamper('update transfers set amount = 1 where id = $1', [paymentId]);
    const report = await verifyLedger(db);
    expect(report.ok).toBe(false);
    expect(report.problems.join('\n')).toContain('every account total equals the sum of its transfers');
    const result = await cli();
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('FAILED');
  });

  it('detects money created out of thin air on a balance', async () => {
    await tamper('update accounts set credits_posted = credits_posted + 1000000 where id = $1', [ids.merchant]);
    const problems = (await verifyLedger(db)).problems.join('\n');
    expect(problems).toContain('posted debits equal posted credits');
    expect(problems).toContain(ids.merchant);
  });

  it('detects a deleted transfer', async () => {
    await tamper('delete from transfers where id = $1', [paymentId]);
    expect((await verifyLedger(db)).ok).toBe(false);
  });

  it('lifts the statement timeout for its own transaction: a ledger too large to check within a request\'s timeout still verifies', async () => {
    await addTransfers(ids.funding, ids.wallet, 300_000);
    const url = db.url;
    if (url === null) throw new Error('this test needs PostgreSQL (the postgres project)');
    const bounded = await openPostgres(url, 2, { timeouts: { ...DEFAULT_DATABASE_TIMEOUTS, statementTimeoutMs: SHORT_TIMEOUT_MS } });
    try {
      // The pool's timeout is in force, and one of verify's checks alone outlasts it on this ledger.
      await expect(bounded.pool.query('select pg_sleep(0.5)')).rejects.toMatchObject({ code: '57014' });
      await expect(bounded.pool.query(SUM_OF_TRANSFERS)).rejects.toMatchObject({ code: '57014' });
      const report = await verifyLedger(bounded);
      expect(report.problems).toEqual([]);
      expect(report.transfersChecked).toBe(300_002);
    } finally {
      await bounded.close();
    }
  });
});

const SHORT_TIMEOUT_MS = 50;
const SUM_OF_TRANSFERS = `select account_id, sum(amount) from (select debit_account_id as account_id, amount from transfers
  union all select credit_account_id, amount from transfers) x group by account_id`;

/** Many small transfers written straight into the tables (the ledger's own path would take minutes), totals kept in step. */
async function addTransfers(debit: string, credit: string, count: number): Promise<void> {
  await db.pool.query(`insert into transfers (id, debit_account_id, credit_account_id, amount, pending_id, ledger, code, flags, timeout_seconds, reference, created_at)
    select gen_random_uuid(), $1, $2, 1, null, 392, 1, 0, 0, null, now() from generate_series(1, $3::int)`, [debit, credit, count]);
  await db.pool.query('update accounts set debits_posted = debits_posted + $2 where id = $1', [debit, BigInt(count)]);
  await db.pool.query('update accounts set credits_posted = credits_posted + $2 where id = $1', [credit, BigInt(count)]);
}
