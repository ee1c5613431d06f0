/**
 * "No sale after the close", without a race. A till action (charge, QR order, cancel, refund) checks that
 * the day is open and registers itself as in flight in one short transaction that holds the terminal's row
 * FOR SHARE; the close holds the same row FOR UPDATE, so the two cannot interleave:
 * - an action that registered first is seen by the close, which refuses (`till_busy`: close again in a
 *   moment) instead of recording a Z-report the action would then contradict;
 * - a close that committed first is seen by the action, which refuses (`till_day_closed`).
 * The close also refuses while a QR order of this till is still waiting to be paid: the customer would
 * pay it after the report. A crash leaves an in-flight row behind; the close ignores rows older than
 * `STALE_AFTER` (longer than any till request may take).
 */
import type pg from 'pg';
import { withTransaction, type Database } from '../../platform/db/database.ts';
import { KobanError } from '../../platform/errors.ts';
import { uuidv7 } from '../../platform/ids.ts';

const STALE_AFTER = '2 minutes';

export async function whileDayOpen<T>(db: Database, terminalId: string, businessDate: string, work: () => Promise<T>): Promise<T> {
  const actionId = uuidv7();
  await withTransaction(db, async (client) => {
    await client.query('select 1 from terminals where id = $1 for share', [terminalId]);
    const closed = await client.query('select 1 from terminal_day_closes where terminal_id = $1 and business_date = $2', [terminalId, businessDate]);
    if (closed.rowCount !== 0) throw new KobanError('till_day_closed', { detail: 'this till has closed today; new sales belong to the next business day' });
    await client.query('insert into terminal_actions_in_flight (id, terminal_id, business_date) values ($1, $2, $3)', [actionId, terminalId, businessDate]);
  });
  try {
    return await work();
  } finally {
    await db.pool.query('delete from terminal_actions_in_flight where id = $1', [actionId]);
  }
}

/**
 * Inside the close's transaction, after it locked the terminal FOR UPDATE. `at` is the close's instant
 * from the injected clock, the clock a QR order's expiry was computed with (dynamic-qr.ts): comparing that
 * expiry with the database's now() would judge it by a second clock.
 */
export async function requireNothingInFlight(client: pg.PoolClient, terminalId: string, at: Date): Promise<void> {
  const busy = await client.query(
    `select 1 from terminal_actions_in_flight where terminal_id = $1 and started_at > now() - interval '${STALE_AFTER}' limit 1`, [terminalId]);
  if (busy.rowCount !== 0) throw new KobanError('till_busy', { detail: 'a sale, cancel or refund is still in progress at this till; close again in a moment' });
  const waiting = await client.query(
    `select 1 from payments p join dynamic_qr_codes q on q.payment_id = p.id
     where p.terminal_id = $1 and q.status = 'ACTIVE' and q.expires_at > $2 limit 1`, [terminalId, at]);
  if (waiting.rowCount !== 0) throw new KobanError('till_busy', { detail: 'a QR order is still waiting to be paid: withdraw it, or wait until it is paid or expires' });
}
