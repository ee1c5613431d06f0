/**
 * One transaction-scoped lock per customer for the wallet's count-then-insert decisions (cards per account,
 * top-up limits): two concurrent requests of one customer decide one after the other, other customers never wait.
 */
import type { Queryable } from '../platform/db/database.ts';

// Any constant; it only separates these locks from other advisory locks keyed on the same customer id.
const WALLET_LOCK_SEED = 7_262_020;

export async function lockCustomerWallet(client: Queryable, customerId: string): Promise<void> {
  await client.query('select pg_advisory_xact_lock(hashtextextended($1, $2))', [customerId, WALLET_LOCK_SEED]);
}
