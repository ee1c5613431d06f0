/** `koban ledger verify` finds tampering: an edited amount, a forged balance, a deleted transfer. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { verifyLedger } from '../../src/ledger/verify.ts';
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
});
