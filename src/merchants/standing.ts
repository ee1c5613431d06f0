/**
 * Whether a merchant (and one of its stores) may take a payment right now. Read on every payment,
 * uncached, because suspension must bite at once on every Koban process (issue 13): the names and the
 * receivable account may come from a cache (src/payments/tills.ts), the right to be paid may not. One
 * indexed primary-key read per payment (two for a test twin's); a prepared statement on PostgreSQL.
 */
import type pg from 'pg';
import { KobanError } from '../platform/errors.ts';

/** `live_status`: a test twin's live merchant's state (null or absent for a live merchant): a twin follows it. */
export interface StandingRow { merchant_status: string; store_status: string | null; live_status?: string | null }

export async function requireMerchantStanding(pool: Pick<pg.Pool, 'query'>, merchantId: string, storeId: string | null): Promise<void> {
  const result = await pool.query<StandingRow>({
    name: 'merchants_standing',
    text: `select m.status as merchant_status, s.status as store_status, live.status as live_status
           from merchants m left join stores s on s.id = $2::uuid and s.merchant_id = m.id left join merchants live on live.id = m.test_twin_of
           where m.id = $1`,
    values: [merchantId, storeId],
  });
  judgeMerchantStanding(result.rows[0], storeId);
}

/**
 * The same judgement on a row read elsewhere in the same moment (the till payment folds this read into its
 * one per-payment read, issue 11: `merchants m left join stores s on s.id = store and s.merchant_id = m.id`,
 * undefined when the merchant does not exist).
 */
export function judgeMerchantStanding(row: StandingRow | undefined, storeId: string | null): void {
  if (row === undefined) throw new KobanError('merchant_not_found');
  if (row.merchant_status !== 'active') throw new KobanError('merchant_not_active', { detail: `the merchant is ${row.merchant_status}` });
  // A test twin takes (test) payments only while its live merchant may take real ones: a suspended or closed
  // merchant's developers cannot keep a checkout running in test mode.
  if (row.live_status != null && row.live_status !== 'active') throw new KobanError('merchant_not_active', { detail: `the live merchant of this test-mode merchant is ${row.live_status}` });
  if (storeId !== null && row.store_status !== 'active') {
    if (row.store_status === 'suspended') throw new KobanError('merchant_not_active', { detail: 'the store is suspended' });
    throw new KobanError('store_not_found', { errors: [{ pointer: '/body/storeId', message: 'is not an open store of this merchant' }] });
  }
}
