/**
 * The demo merchant's owner for the merchant portal (`npm start` only; never in production: the caller
 * asserts it, as for every demo credential). Public on purpose: printed at start and listed in
 * src/merchants/README.md. Idempotent: a restart finds the owner and changes nothing.
 */
import { generate } from 'otplib';
import { insertStaffUser } from '../merchants/staff.ts';
import type { SecretBox } from '../merchants/secret-box.ts';
import { assert } from '../platform/assert.ts';
import { withTransaction, type Database } from '../platform/db/database.ts';
import { DEMO } from './seed.ts';

export const DEMO_MERCHANT_OWNER = { email: 'owner@koban-mart.test', password: 'koban-demo-merchant', totpSecret: 'KOBANDEMOMERCHANTOWNERSECRET2345' } as const;

export async function seedDemoMerchantOwner(db: Database, box: SecretBox, nodeEnv: string): Promise<void> {
  assert(nodeEnv !== 'production', 'demo merchant staff never exist in production');
  const existing = await db.pool.query('select 1 from merchant_users where email = $1', [DEMO_MERCHANT_OWNER.email]);
  if (existing.rowCount === 1) return;
  await withTransaction(db, (client) => insertStaffUser({ db, box, now: () => new Date() }, client,
    { merchantId: DEMO.merchant.id, email: DEMO_MERCHANT_OWNER.email, displayName: 'Koban Mart owner', role: 'owner', password: DEMO_MERCHANT_OWNER.password, totpSecret: DEMO_MERCHANT_OWNER.totpSecret },
    { kind: 'system', id: 'demo-seed' }, null));
}

export function demoMerchantOwnerCode(): Promise<string> {
  return generate({ secret: DEMO_MERCHANT_OWNER.totpSecret });
}
