import { describe, expect, it } from 'vitest';
import type { Ledger } from '../ledger/ledger.ts';
import type { Database } from '../platform/db/database.ts';
import { ensureCustomerWallet } from './customer-wallets.ts';

/** A database that answers every mapping read with one stored row, counting the reads. */
function mappedDatabase(accountId: string): { db: Database; reads: () => number } {
  let reads = 0;
  const pool = { query: async () => { reads++; return { rows: [{ account_id: accountId }] }; } };
  return { db: { pool } as unknown as Database, reads: () => reads };
}
const [CUSTOMER_A, CUSTOMER_B, CUSTOMER_C] = ['aaaaaaaa-0000-4000-8000-000000000001', 'aaaaaaaa-0000-4000-8000-000000000002', 'aaaaaaaa-0000-4000-8000-000000000003'];
const noLedger = new Proxy({}, { get: () => { throw new Error('an existing mapping needs no ledger'); } }) as Ledger;

describe('the customer → wallet mapping', () => {
  it('is read from the database once per customer, then answered from memory (a mapping is never updated or deleted)', async () => {
    const { db, reads } = mappedDatabase('11111111-1111-4111-8111-111111111111');
    expect(await ensureCustomerWallet(db, noLedger, CUSTOMER_A)).toBe('11111111-1111-4111-8111-111111111111');
    expect(await ensureCustomerWallet(db, noLedger, CUSTOMER_A)).toBe('11111111-1111-4111-8111-111111111111');
    expect(reads()).toBe(1);
    await ensureCustomerWallet(db, noLedger, CUSTOMER_B);
    expect(reads()).toBe(2);
  });

  it('keeps what it learned per database: another database is asked again', async () => {
    const first = mappedDatabase('22222222-2222-4222-8222-222222222222');
    const second = mappedDatabase('33333333-3333-4333-8333-333333333333');
    expect(await ensureCustomerWallet(first.db, noLedger, CUSTOMER_C)).toBe('22222222-2222-4222-8222-222222222222');
    expect(await ensureCustomerWallet(second.db, noLedger, CUSTOMER_C)).toBe('33333333-3333-4333-8333-333333333333');
    expect([first.reads(), second.reads()]).toEqual([1, 1]);
  });
});
