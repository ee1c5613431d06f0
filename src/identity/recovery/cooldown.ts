/** The post-recovery cool-down (REC-06) that wallet and payments check before high-risk actions. */
import type { Queryable } from '../../platform/db/database.ts';
import { KobanError } from '../../platform/errors.ts';

export async function isInRecoveryCooldown(db: Queryable, customerId: string): Promise<boolean> {
  const result = await db.query('select 1 from customers where id = $1 and recovery_cooldown_until > now()', [customerId]);
  return result.rowCount === 1;
}

export async function refuseDuringRecoveryCooldown(db: Queryable, customerId: string): Promise<void> {
  if (await isInRecoveryCooldown(db, customerId)) throw new KobanError('recovery_cooldown');
}
