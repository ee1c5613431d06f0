/** The risk benches' stores: one merchant with `count` stores scattered over Japan, ids returned for events. */
import { randomUUID } from 'node:crypto';
import type { Database } from '../src/platform/db/database.ts';

export async function seedStores(db: Database, count: number): Promise<string[]> {
  const merchant = randomUUID();
  const receivable = randomUUID();
  await db.pool.query(`insert into accounts (id, ledger, code) values ($1, 392, 200)`, [receivable]);
  await db.pool.query(`insert into merchants (id, name, category_code, receivable_account_id) values ($1, 'Bench Mart', '5411', $2)`, [merchant, receivable]);
  const ids = Array.from({ length: count }, () => randomUUID());
  await db.pool.query(`insert into stores (id, merchant_id, name, latitude, longitude)
    select id, $2, 'store', 33 + random() * 10, 130 + random() * 10 from unnest($1::uuid[]) as id`, [ids, merchant]);
  return ids;
}
