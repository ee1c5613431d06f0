/**
 * The one dispatcher: every outbound thing Koban sends after a commit (e-mail, SMS, merchant webhooks) is
 * delivered by this one claim → deliver → record loop. A queue (`OutboxQueue`) says only where its rows live
 * and how one row is delivered; claiming, the lease, the bounded concurrency, the backoff, the attempt limit
 * and the record are here, once.
 *
 * Each pass claims a bounded batch (`for update skip locked`, so several Koban processes share the work) by
 * pushing its next attempt one lease ahead, delivers outside any transaction, then records the result:
 * delivered, retry with exponential backoff, given up after the row's last attempt, or skipped (never sent,
 * by design). Delivery is at-least-once; a crash between send and record resends after the lease, and each
 * recipient tells a resend by its id (the message id, the webhook's `koban-event-id`).
 */
import type { Database } from '../platform/db/database.ts';
import { assert } from '../platform/assert.ts';
import type { Channel, OutboundMessage, Transport } from './types.ts';

/** Limits of the e-mail/SMS queue (`outbox_messages`). */
export const DISPATCH_LIMITS = {
  batchSize: 50,
  attemptsMax: 8,
  leaseMs: 60_000,
  backoffBaseMs: 2_000,
  backoffMaxMs: 10 * 60_000,
  errorLengthMax: 500,
} as const;

export interface Backoff { readonly baseMs: number; readonly maxMs: number }

/** The wait before the next attempt after `attempts` failed ones: doubling from the base, up to the cap. */
export function retryDelayMs(attempts: number, backoff: Backoff): number {
  return Math.min(backoff.maxMs, backoff.baseMs * 2 ** Math.max(0, attempts - 1));
}

export function backoffMs(attempts: number): number {
  return retryDelayMs(attempts, { baseMs: DISPATCH_LIMITS.backoffBaseMs, maxMs: DISPATCH_LIMITS.backoffMaxMs });
}

/** What every queue's claimed row carries; the queue's `select` adds its own columns. */
export interface ClaimedRow { readonly id: string; readonly attempts: number; readonly attempts_max: number }

/** The result of one delivery. `values` fill the queue's `resultColumns`, in order (e.g. the HTTP status). */
export type DeliveryResult =
  | { readonly outcome: 'delivered'; readonly values?: readonly unknown[] }
  | { readonly outcome: 'retry'; readonly error: string; readonly values?: readonly unknown[] }
  | { readonly outcome: 'skipped'; readonly reason: string };

/**
 * Where a queue's rows live and how one is delivered. The table has `id`, `status` ('pending', the
 * delivered status, 'failed', optionally 'skipped'), `attempts`, `attempts_max`, `next_attempt_at`,
 * `last_error` and a delivered-at column. The owning module hands the descriptor to the dispatcher; every
 * string here is a constant of that module, never input.
 */
export interface OutboxQueue<Row extends ClaimedRow> {
  readonly name: string;
  readonly table: string;
  /** Status written on success (`sent`, `delivered`) and the column that gets the time. */
  readonly deliveredStatus: string;
  readonly deliveredAtColumn: string;
  /** Extra condition on the candidate row `p` (the webhooks' per-payment order). */
  readonly dueWhen?: string;
  /** Columns of the claimed row `c` (and of `join`) handed to `deliver`. */
  readonly select: string;
  readonly join?: string;
  /** Columns set from `DeliveryResult.values` (bound from $9). */
  readonly resultColumns?: readonly string[];
  /** A column set on success besides the status (the messages' body scrub), to a constant expression. */
  readonly onDelivered?: { readonly column: string; readonly value: string };
  /**
   * An attempt log written in the record's statement, or none. Bound: $1 row id, $2 attempts, $4 time
   * (null: the database's), $5 error, $7 duration ms, $8 whether it was attempted (false: skipped), $9… result values.
   */
  readonly attemptLog?: string;
  readonly batchSize: number;
  readonly concurrency: number;
  readonly leaseMs: number;
  readonly backoff: Backoff;
  readonly errorLengthMax: number;
  /** The clock attempts are scheduled by; null: the database's `now()` (rows written with its default). */
  readonly now: (() => Date) | null;
  deliver(row: Row): Promise<DeliveryResult>;
  /** Told when a row is given up after its last attempt. */
  onGiveUp?(row: Row): void;
}

/** One pass over one queue; resolves to the number of rows claimed. */
export type QueuePass = () => Promise<number>;

export function queuePass<Row extends ClaimedRow>(db: Database, queue: OutboxQueue<Row>): QueuePass {
  assert(queue.batchSize >= 1 && queue.concurrency >= 1 && queue.leaseMs > 0, 'dispatch queue limits');
  const claimSql = `with claimed as (
      update ${queue.table} q set next_attempt_at = coalesce($1::timestamptz, now()) + make_interval(secs => $2::double precision / 1000)
      where q.id in (
        select p.id from ${queue.table} p where p.status = 'pending' and p.next_attempt_at <= coalesce($1::timestamptz, now())
          ${queue.dueWhen === undefined ? '' : `and ${queue.dueWhen}`}
        order by p.next_attempt_at limit $3 for update skip locked)
      returning q.*)
    select c.id, c.attempts, c.attempts_max, ${queue.select} from claimed c ${queue.join ?? ''}`;
  const resultSets = (queue.resultColumns ?? []).map((column, i) => `, ${column} = $${9 + i}`).join('');
  const scrub = queue.onDelivered === undefined ? ''
    : `, ${queue.onDelivered.column} = case when $3 = '${queue.deliveredStatus}' then ${queue.onDelivered.value} else ${queue.onDelivered.column} end`;
  // Without an attempt log the duration and the attempted flag are still bound (PostgreSQL must type every parameter).
  const recordSql = `with logged as (${queue.attemptLog ?? 'select $7::int, $8::boolean'})
    update ${queue.table} set attempts = $2, status = $3, last_error = $5,
      next_attempt_at = coalesce($4::timestamptz, now()) + make_interval(secs => $6::double precision / 1000),
      ${queue.deliveredAtColumn} = case when $3 = '${queue.deliveredStatus}' then coalesce($4::timestamptz, now()) else null end
      ${scrub}${resultSets}
    where id = $1 and status = 'pending'`;
  const clock = (): Date | null => queue.now?.() ?? null;

  async function record(row: Row, result: DeliveryResult, at: Date | null, durationMs: number): Promise<void> {
    const attempted = result.outcome !== 'skipped';
    const attempts = attempted ? row.attempts + 1 : row.attempts;
    const status = result.outcome === 'delivered' ? queue.deliveredStatus
      : result.outcome === 'skipped' ? 'skipped'
      : attempts >= row.attempts_max ? 'failed' : 'pending';
    const error = result.outcome === 'retry' ? result.error.slice(0, queue.errorLengthMax) : result.outcome === 'skipped' ? result.reason : null;
    const values = result.outcome === 'skipped' ? (queue.resultColumns ?? []).map(() => null) : (queue.resultColumns ?? []).map((_, i) => result.values?.[i] ?? null);
    await db.pool.query(recordSql, [row.id, attempts, status, at, error, retryDelayMs(attempts, queue.backoff), durationMs, attempted, ...values]);
    if (status === 'failed') queue.onGiveUp?.(row);
  }

  async function attempt(row: Row): Promise<void> {
    const at = clock();
    const started = performance.now();
    let result: DeliveryResult;
    try {
      result = await queue.deliver(row);
    } catch (error) {
      result = { outcome: 'retry', error: error instanceof Error ? error.message : String(error) };
    }
    await record(row, result, at, Math.round(performance.now() - started));
  }

  return async () => {
    const claimed = await db.pool.query<Row>(claimSql, [clock(), queue.leaseMs, queue.batchSize]);
    // At most `concurrency` deliveries in flight: a slow provider or endpoint holds up only its share.
    for (let i = 0; i < claimed.rows.length; i += queue.concurrency) {
      await Promise.all(claimed.rows.slice(i, i + queue.concurrency).map(attempt));
    }
    return claimed.rows.length;
  };
}

interface MessageRow extends ClaimedRow { channel: Channel; recipient: string; kind: string; subject: string; body: string }

/** The e-mail and SMS queue (`outbox_messages`, this module's), delivered through the channel's transport. */
export function messageQueue(transports: Readonly<Record<Channel, Transport>>): OutboxQueue<MessageRow> {
  return {
    name: 'messages', table: 'outbox_messages', deliveredStatus: 'sent', deliveredAtColumn: 'sent_at',
    select: 'c.channel, c.recipient, c.kind, c.subject, c.body',
    // Codes and links leave the outbox once delivered: the table is not a second copy of secrets.
    onDelivered: { column: 'body', value: `'[delivered]'` },
    batchSize: DISPATCH_LIMITS.batchSize, concurrency: DISPATCH_LIMITS.batchSize, leaseMs: DISPATCH_LIMITS.leaseMs,
    backoff: { baseMs: DISPATCH_LIMITS.backoffBaseMs, maxMs: DISPATCH_LIMITS.backoffMaxMs }, errorLengthMax: DISPATCH_LIMITS.errorLengthMax,
    now: null,
    async deliver(row) {
      const message: OutboundMessage = { id: row.id, channel: row.channel, recipient: row.recipient, kind: row.kind, subject: row.subject, body: row.body };
      await transports[row.channel].deliver(message);
      return { outcome: 'delivered' };
    },
  };
}

export interface Dispatcher {
  /** One pass over every queue; resolves to the number of rows claimed. */
  dispatchOnce(): Promise<number>;
}

/** The e-mail/SMS queue alone (tests drive it with their own transports). */
export function createDispatcher(db: Database, transports: Readonly<Record<Channel, Transport>>): Dispatcher {
  const pass = queuePass(db, messageQueue(transports));
  return { dispatchOnce: pass };
}
