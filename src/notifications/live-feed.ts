/**
 * The live feed: pushes each new entry of a customer's in-app feed to that customer's open streams
 * (server-sent events, stream-routes.ts) the moment it is written, in any Koban process. A trigger
 * (migrations 0021, 0131) NOTIFYs `koban_customer_feed` once per inserting statement with the customer ids; each process LISTENs on one held
 * connection (PostgreSQL only: PGlite has a single connection) and re-reads that customer's newest rows.
 * A poll every `pollMs` is the safety net for a dropped LISTEN connection and the only path on PGlite.
 *
 * Rows are read back over a short overlap window and de-duplicated by id, because `created_at` is the
 * writing transaction's start: a row can commit after a later-stamped one and must still be sent.
 */
import type { Database, Queryable } from '../platform/db/database.ts';
import type { Metrics } from '../platform/metrics.ts';
import { createNotificationListener } from '../platform/db/listen.ts';
import { isUuid } from '../platform/ids.ts';

export const FEED_CHANNEL = 'koban_customer_feed';
/** How far back each read looks for rows that committed late. */
const OVERLAP_MS = 10_000;
const READ_BATCH = 50;
/** Streams per process in all; beyond it new streams are refused (the app then polls the feed). */
export const STREAMS_PER_PROCESS_MAX = 5_000;

export interface LiveEntry {
  readonly id: string;
  readonly kind: string;
  readonly title: string;
  readonly body: string;
  readonly createdAt: Date;
  readonly contestable: boolean;
}

export interface Subscriber {
  readonly customerId: string;
  deliver(entries: readonly LiveEntry[]): void;
  /** Called when a newer stream of the same customer takes this one's place. */
  displace(): void;
}

export interface LiveSubscription {
  unsubscribe(): void;
}

export interface LiveFeed {
  /**
   * Starts delivering entries newer than `lastEventId` (an entry of this customer: a reconnecting
   * EventSource resumes there) or, without one, newer than now. Null when the process is full.
   */
  subscribe(subscriber: Subscriber, lastEventId: string | null): Promise<LiveSubscription | null>;
  start(onError: (error: unknown) => void): void;
  close(): Promise<void>;
}

interface Watch {
  readonly subscriber: Subscriber;
  /** Entries at or after this instant (minus the overlap) are read; older ones were dealt with. */
  watermark: Date;
  /** Ids already sent or already known to the client, within the overlap window. */
  readonly seen: Map<string, Date>;
}

/** What woke a read: the customer's NOTIFY, the safety-net poll, or a stream resuming after Last-Event-ID. */
export type WakeCause = 'notify' | 'poll' | 'resume';

export function createLiveFeed(db: Database, options: { pollMs: number; streamsPerCustomerMax: number; metrics?: Pick<Metrics, 'liveFeedDeliveries'> }): LiveFeed {
  const watches = new Map<string, Set<Watch>>();
  let count = 0;
  let timer: NodeJS.Timeout | null = null;
  let closed = false;
  let reportError: (error: unknown) => void = () => undefined;
  const running = new Map<string, { again: WakeCause | null }>();

  /** One read per customer at a time; a wake-up during a read asks for one more read afterwards. */
  const check = (customerId: string, cause: WakeCause): void => {
    const state = running.get(customerId);
    if (state !== undefined) {
      state.again = cause;
      return;
    }
    const mine: { again: WakeCause | null } = { again: null };
    running.set(customerId, mine);
    readAndDeliver(customerId, cause).catch(reportError).finally(() => {
      running.delete(customerId);
      if (mine.again !== null && !closed) check(customerId, mine.again);
    });
  };

  const readAndDeliver = async (customerId: string, cause: WakeCause): Promise<void> => {
    const group = watches.get(customerId);
    if (group === undefined || group.size === 0) return;
    const since = new Date(Math.min(...[...group].map((w) => w.watermark.getTime())) - OVERLAP_MS);
    const entries = await readSince(db.pool, customerId, since);
    for (const watch of group) {
      const fresh = entries.filter((entry) => entry.createdAt.getTime() >= watch.watermark.getTime() - OVERLAP_MS && !watch.seen.has(entry.id));
      if (fresh.length === 0) continue;
      for (const entry of fresh) watch.seen.set(entry.id, entry.createdAt);
      const newest = Math.max(watch.watermark.getTime(), ...fresh.map((entry) => entry.createdAt.getTime()));
      watch.watermark = new Date(newest);
      for (const [id, at] of watch.seen) if (at.getTime() < newest - 2 * OVERLAP_MS) watch.seen.delete(id);
      options.metrics?.liveFeedDeliveries.inc({ cause }, fresh.length);
      watch.subscriber.deliver(fresh);
    }
  };

  // One notification per inserting statement names its customers joined by ',' (migration 0131).
  const listener = createNotificationListener(db, FEED_CHANNEL, (customerIds) => {
    for (const customerId of customerIds.split(',')) if (watches.has(customerId)) check(customerId, 'notify');
  });

  return {
    async subscribe(subscriber, lastEventId) {
      if (closed || count >= STREAMS_PER_PROCESS_MAX) return null;
      const start = await startingPoint(db.pool, subscriber.customerId, lastEventId);
      const watch: Watch = { subscriber, watermark: start.at, seen: start.seen };
      const group = watches.get(subscriber.customerId) ?? new Set<Watch>();
      watches.set(subscriber.customerId, group);
      group.add(watch);
      count++;
      // Bounded per customer: the oldest stream (a forgotten tab) gives way to the newest.
      while (group.size > options.streamsPerCustomerMax) {
        const oldest = group.values().next().value as Watch;
        group.delete(oldest);
        count--;
        oldest.subscriber.displace();
      }
      listener.ensure().catch(reportError);
      let active = true;
      // Whatever was written while the stream was away is sent at once.
      if (lastEventId !== null) check(subscriber.customerId, 'resume');
      return {
        unsubscribe() {
          if (!active) return;
          active = false;
          if (group.delete(watch)) count--;
          if (group.size === 0 && watches.get(subscriber.customerId) === group) watches.delete(subscriber.customerId);
        },
      };
    },
    start(onError) {
      reportError = onError;
      if (timer !== null) return;
      timer = setInterval(() => {
        for (const customerId of watches.keys()) check(customerId, 'poll');
        // The LISTEN connection is taken only once someone streams (most processes in tests never do).
        if (watches.size > 0) listener.ensure().catch(onError);
      }, options.pollMs);
      timer.unref();
    },
    async close() {
      closed = true;
      if (timer !== null) clearInterval(timer);
      listener.close();
    },
  };
}

async function readSince(db: Queryable, customerId: string, since: Date): Promise<LiveEntry[]> {
  const result = await db.query<{ id: string; kind: string; title: string; body: string; created_at: Date; contestable: boolean }>(
    'select id, kind, title, body, created_at, contestable from customer_notifications where customer_id = $1 and created_at >= $2 order by created_at, id limit $3',
    [customerId, since, READ_BATCH]);
  return result.rows.map((row) => ({ id: row.id, kind: row.kind, title: row.title, body: row.body, createdAt: row.created_at, contestable: row.contestable }));
}

/**
 * Where a stream starts: just after the entry the client last saw (Last-Event-ID, when it is this
 * customer's), else the database's now. Entries in the overlap window up to that point count as seen.
 */
async function startingPoint(db: Queryable, customerId: string, lastEventId: string | null): Promise<{ at: Date; seen: Map<string, Date> }> {
  const lastId = lastEventId !== null && isUuid(lastEventId) ? lastEventId : null;
  // Compared in SQL: created_at has microseconds, a JavaScript Date only milliseconds.
  const result = await db.query<{ at: Date; id: string | null; created_at: Date | null }>(
    `with last as (select id, created_at from customer_notifications where id = $2::uuid and customer_id = $1),
          start as (select coalesce((select created_at from last), now()) as at)
     select start.at, n.id, n.created_at from start left join customer_notifications n
       on n.customer_id = $1 and n.created_at >= start.at - interval '${OVERLAP_MS} milliseconds' and n.created_at <= start.at
      and (not exists (select 1 from last) or (n.created_at, n.id) <= (select created_at, id from last))`,
    [customerId, lastId]);
  const at = result.rows[0]?.at ?? new Date();
  return { at, seen: new Map(result.rows.filter((row) => row.id !== null && row.created_at !== null).map((row) => [row.id as string, row.created_at as Date])) };
}

/** One feed entry of this customer, or null (another customer's entry is not found either). */
export async function findFeedEntry(db: Queryable, customerId: string, id: string): Promise<LiveEntry | null> {
  if (!isUuid(id)) return null;
  const result = await db.query<{ id: string; kind: string; title: string; body: string; created_at: Date; contestable: boolean }>(
    'select id, kind, title, body, created_at, contestable from customer_notifications where id = $1 and customer_id = $2', [id, customerId]);
  const row = result.rows[0];
  return row === undefined ? null : { id: row.id, kind: row.kind, title: row.title, body: row.body, createdAt: row.created_at, contestable: row.contestable };
}
