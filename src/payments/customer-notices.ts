/**
 * The customer's notices of payments, refunds and cancels, as a transactional outbox: the record step
 * writes the notice (`payment_customer_notices`, migration 0130) in the transaction that records the
 * outcome, so a crash between the commit and the delivery loses nothing, and the repair sweeper's
 * completions notify too. The relay turns each notice into the customer's feed entry and e-mail (the
 * `notifyCustomer` hook, writing in the relay's transaction) and deletes it in that same transaction:
 * each notice reaches each recipient once, whichever process relays it (`for update skip locked`).
 *
 * The relay runs right after a commit that wrote a notice (`kick`, this process) and in the maintenance
 * loop (any process: the safety net after a crash).
 */
import type { Queryable } from '../platform/db/database.ts';
import { withTransaction } from '../platform/db/database.ts';
import { uuidv7 } from '../platform/ids.ts';
import type { CustomerEvent } from './context.ts';
import type { PaymentsDeps } from './deps.ts';

const RELAY_BATCH = 100;

interface StoredEvent { type: CustomerEvent['type']; paymentId: string; refundId?: string; amountMinor: string; merchantName: string; storeName: string | null; at: string }

/** The notice's row values (id, event JSON), for a caller that writes it within its own statement. */
export function noticeValues(event: CustomerEvent): [string, string] {
  const stored: StoredEvent = {
    type: event.type, paymentId: event.paymentId, ...(event.refundId === undefined ? {} : { refundId: event.refundId }),
    amountMinor: event.amountMinor.toString(), merchantName: event.merchantName, storeName: event.storeName, at: event.at.toISOString(),
  };
  return [uuidv7(event.at.getTime()), JSON.stringify(stored)];
}

/** Writes a notice inside the caller's transaction. */
export async function writeNotice(client: Queryable, customerId: string, event: CustomerEvent): Promise<void> {
  const [id, json] = noticeValues(event);
  await client.query('insert into payment_customer_notices (id, customer_id, event, created_at) values ($1, $2, $3::jsonb, $4)', [id, customerId, json, event.at]);
}

function eventOf(stored: StoredEvent): CustomerEvent {
  return {
    type: stored.type, paymentId: stored.paymentId, ...(stored.refundId === undefined ? {} : { refundId: stored.refundId }),
    amountMinor: BigInt(stored.amountMinor), merchantName: stored.merchantName, storeName: stored.storeName, at: new Date(stored.at),
  };
}

/** One relay round: delivers up to a batch of notices; answers how many. */
export async function relayCustomerNotices(deps: Pick<PaymentsDeps, 'db' | 'hooks' | 'log'>): Promise<number> {
  return withTransaction(deps.db, async (client) => {
    const due = await client.query<{ id: string; customer_id: string; event: StoredEvent; attempts: number }>(
      `select id, customer_id, event, attempts from payment_customer_notices where next_attempt_at <= now()
       order by next_attempt_at limit $1 for update skip locked`, [RELAY_BATCH]);
    if (due.rows.length === 0) return 0;
    const delivered: string[] = [];
    for (const row of due.rows) {
      // One notice that cannot be delivered (its writes fail) must not hold up the others: it waits and is retried.
      await client.query('savepoint notice');
      try {
        await deps.hooks.notifyCustomer(row.customer_id, eventOf(row.event), client);
        await client.query('release savepoint notice');
        delivered.push(row.id);
      } catch (error) {
        await client.query('rollback to savepoint notice');
        deps.log.error({ err: error, noticeId: row.id }, 'customer notice not delivered; retrying later');
        await client.query(
          `update payment_customer_notices set attempts = attempts + 1, last_error = $2,
             next_attempt_at = now() + make_interval(secs => least(3600, 2 ^ attempts)) where id = $1`,
          [row.id, String(error instanceof Error ? error.message : error).slice(0, 500)]);
      }
    }
    await client.query('delete from payment_customer_notices where id = any($1::uuid[])', [delivered]);
    return due.rows.length;
  });
}

/** Relays after a commit, one round at a time per process; a kick during a round asks for one more. */
export function createNoticeRelay(deps: Pick<PaymentsDeps, 'db' | 'hooks' | 'log'>): { kick(): void; drain(): Promise<void> } {
  let running: Promise<void> | null = null;
  let again = false;
  const round = async (): Promise<void> => {
    do {
      again = false;
      while ((await relayCustomerNotices(deps)) === RELAY_BATCH) { /* a full batch: more may wait */ }
    } while (again);
  };
  const kick = (): void => {
    if (running !== null) {
      again = true;
      return;
    }
    running = round().catch((error: unknown) => deps.log.error({ err: error }, 'customer notice relay failed')).finally(() => { running = null; });
  };
  return { kick, drain: async () => { while (running !== null) await running; } };
}
