/**
 * Forced password and charge PIN reset, for an operator's case action and the all-customer incident
 * reset (src/operations). The customer is flagged, the charge PIN deleted and every session revoked
 * in one transaction; while flagged, every sign-in path answers `credentials_reset_required` (after
 * the first factor held, so the flag tells nothing to someone without the credentials), and only a
 * completed recovery (two channels, new password) clears it. The old password hash stays in place but
 * can no longer open a session; the PIN is gone, so a new one needs a step-up (pin/charge-pin.ts).
 */
import { assert } from '../../platform/assert.ts';
import { withTransaction, type Database, type Queryable } from '../../platform/db/database.ts';
import { KobanError } from '../../platform/errors.ts';
import { revokeAllSessions } from '../sessions/sessions.ts';
import { announceSecurityEvent } from '../security-alerts.ts';

/** Customers reset per transaction by the all-customer reset: short locks, bounded work per statement. */
export const FORCED_RESET_BATCH = 200;
/** 20 million customers at FORCED_RESET_BATCH each: far above Koban's size, a bound on the loop all the same. */
export const FORCED_RESET_BATCHES_MAX = 100_000;
export const FORCED_RESET_REASON_MAX = 1000;

function checkReason(reason: string): string {
  const trimmed = reason.trim();
  assert(trimmed.length > 0, 'a forced reset has a reason');
  return trimmed.slice(0, FORCED_RESET_REASON_MAX);
}

/** Flags one customer, deletes the PIN, revokes sessions and tells the customer; answers the sessions revoked. */
async function resetOne(db: Queryable, customerId: string, reason: string): Promise<number> {
  const flagged = await db.query(
    `update customers set credentials_reset_required_at = coalesce(credentials_reset_required_at, now()), credentials_reset_reason = $2 where id = $1`,
    [customerId, reason]);
  if (flagged.rowCount !== 1) throw new KobanError('not_found', { detail: 'no such customer' });
  await db.query('delete from charge_pins where customer_id = $1', [customerId]);
  const sessions = await revokeAllSessions(db, customerId);
  await announceSecurityEvent(db, { customerId, type: 'credentials.reset_forced', origin: null, details: { sessionsRevoked: sessions } });
  return sessions;
}

export async function forcePasswordAndPinReset(db: Database, customerId: string, reason: string): Promise<number> {
  const why = checkReason(reason);
  return withTransaction(db, (client) => resetOne(client, customerId, why));
}

/**
 * Every active customer, in batches of FORCED_RESET_BATCH in id order, each batch its own transaction.
 * Customers who sign up while it runs land after the cursor (ids are UUIDv7) and are reset too.
 */
export async function forceResetAllCustomers(db: Database, reason: string): Promise<{ customers: number; sessions: number }> {
  const why = checkReason(reason);
  let after = '00000000-0000-0000-0000-000000000000';
  let customers = 0;
  let sessions = 0;
  for (let round = 0; round < FORCED_RESET_BATCHES_MAX; round++) {
    const batch = await withTransaction(db, async (client) => {
      const ids = (await client.query<{ id: string }>(
        `select id from customers where id > $1 and status = 'active' order by id limit $2 for update`, [after, FORCED_RESET_BATCH])).rows.map((row) => row.id);
      let revoked = 0;
      for (const id of ids) revoked += await resetOne(client, id, why);
      return { ids, revoked };
    });
    assert(batch.ids.length <= FORCED_RESET_BATCH, 'a reset batch is bounded');
    customers += batch.ids.length;
    sessions += batch.revoked;
    const last = batch.ids.at(-1);
    if (last === undefined || batch.ids.length < FORCED_RESET_BATCH) return { customers, sessions };
    after = last;
  }
  throw new Error(`the all-customer reset stopped after ${FORCED_RESET_BATCHES_MAX} batches (${customers} customers); run it again to finish`);
}

/** Every sign-in path calls this once the first factor held. */
export async function refuseWhileResetRequired(db: Queryable, customerId: string): Promise<void> {
  const result = await db.query('select 1 from customers where id = $1 and credentials_reset_required_at is not null', [customerId]);
  if (result.rowCount === 1) throw new KobanError('credentials_reset_required');
}

/** Completing recovery sets a new password: the reset is done (the PIN is set again with a step-up). */
export async function clearResetRequired(db: Queryable, customerId: string): Promise<void> {
  await db.query('update customers set credentials_reset_required_at = null, credentials_reset_reason = null where id = $1', [customerId]);
}
