/**
 * The customer's notices of payments, refunds and cancels, as a transactional outbox: the record step
 * writes the notice (`payment_customer_notices`, migration 0130) in the transaction that records the
 * outcome, so a crash between the commit and the delivery loses nothing, and the repair sweeper's
 * completions notify too. The relay turns a batch of notices into the customers' feed entries and e-mails
 * (the `notifyCustomers` hook, writing in the relay's transaction; the e-mails then leave through the one
 * dispatcher) and deletes them in that same transaction: each notice reaches each recipient once, whichever
 * process relays it (`for update skip locked`).
 *
 * The relay runs right after a commit that wrote a notice (`kick`, this process) and in the maintenance
 * loop (any process: the safety net after a crash).
 */
import type { Queryable } from '../platform/db/database.ts';
import { withTransaction } from '../platform/db/database.ts';
import { uuidv7 } from '../platform/ids.ts';
import { retryDelayMs } from '../notifications/dispatcher.ts';
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

/** A notice whose writes fail is retried later, doubling from a second up to an hour (the dispatcher's backoff rule). */
const NOTICE_BACKOFF = { baseMs: 1_000, maxMs: 3_600_000 } as const;
const NOTICE_ERROR_MAX = 500;

interface DueNotice { id: string; customer_id: string; event: StoredEvent; attempts: number }
type RelayDeps = Pick<PaymentsDeps, 'db' | 'hooks' | 'log'>;

/**
 * One relay round: delivers up to a batch of notices; answers how many it took. A fixed number of statements
 * whatever the batch's size (claim, savepoint, the hook's one read and one write, release, delete): the
 * feed's trigger then wakes the live feed once for the whole batch.
 */
export async function relayCustomerNotices(deps: RelayDeps): Promise<number> {
  return withTransaction(deps.db, async (client) => {
    const due = await client.query<DueNotice>(
      `select id, customer_id, event, attempts from payment_customer_notices where next_attempt_at <= now()
       order by next_attempt_at limit $1 for update skip locked`, [RELAY_BATCH]);
    if (due.rows.length === 0) return 0;
    const delivered = await deliver(deps, client, due.rows);
    await client.query('delete from payment_customer_notices where id = any($1::uuid[])', [delivered]);
    return due.rows.length;
  });
}

/**
 * Delivers the notices in one go, answering the ids delivered. When that fails (rare: a notice whose writes
 * fail), each alone, so one that cannot be delivered waits for its retry without holding up the others.
 */
async function deliver(deps: RelayDeps, client: Queryable, rows: readonly DueNotice[]): Promise<string[]> {
  const failure = await attempt(deps, client, rows);
  if (failure === null) return rows.map((row) => row.id);
  const [only] = rows;
  if (rows.length === 1 && only !== undefined) {
    await scheduleRetry(deps, client, only, failure.error);
    return [];
  }
  const delivered: string[] = [];
  for (const row of rows) delivered.push(...await deliver(deps, client, [row]));
  return delivered;
}

/** The notices' writes behind a savepoint: null when written, the error (and nothing written) otherwise. */
async function attempt(deps: RelayDeps, client: Queryable, rows: readonly DueNotice[]): Promise<{ error: unknown } | null> {
  await client.query('savepoint notices');
  try {
    await deps.hooks.notifyCustomers(rows.map((row) => ({ customerId: row.customer_id, event: eventOf(row.event) })), client);
  } catch (error) {
    await client.query('rollback to savepoint notices');
    return { error };
  }
  await client.query('release savepoint notices');
  return null;
}

async function scheduleRetry(deps: RelayDeps, client: Queryable, row: DueNotice, error: unknown): Promise<void> {
  deps.log.error({ err: error }, `customer notice ${row.id} not delivered; retrying later`);
  await client.query(
    `update payment_customer_notices set attempts = attempts + 1, last_error = $2,
       next_attempt_at = now() + make_interval(secs => $3::double precision / 1000) where id = $1`,
    [row.id, String(error instanceof Error ? error.message : error).slice(0, NOTICE_ERROR_MAX), retryDelayMs(row.attempts + 1, NOTICE_BACKOFF)]);
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
