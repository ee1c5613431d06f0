/**
 * The transactional outbox: a merchant event is written in the same transaction as the state it reports
 * (a completed payment, a refund), with one pending delivery per active endpoint. No event is ever sent
 * for a state that did not commit, and none is lost when the process dies after the commit.
 *
 * Both writes are one statement (`record`), and a caller on the hot path can fold them into its own
 * statement (`outboxCte` with `prepare`): the event is then written exactly when that statement's own
 * change happened, atomically, without a transaction of several round trips.
 */
import { uuidv7 } from '../../platform/ids.ts';
import type { Queryable } from '../../platform/db/database.ts';
import type { MerchantEvent, MerchantEventSink, PreparedMerchantEvent } from '../deps.ts';

export function createOutbox(options: { attemptsMax: number; now: () => Date }): MerchantEventSink {
  const prepare = (event: MerchantEvent): PreparedMerchantEvent => {
    const now = options.now();
    const id = uuidv7(now.getTime());
    const body = JSON.stringify({ id, type: event.type, createdAt: now.toISOString(), merchantId: event.merchantId, data: event.data });
    return { values: [id, event.merchantId, event.type, body, now, options.attemptsMax, event.paymentId] };
  };
  return {
    prepare,
    async record(client: Queryable, event: MerchantEvent) {
      await client.query(`with ${outboxCte(1, '(select 1) as always')} select 1`, [...prepare(event).values]);
    },
  };
}

/**
 * Two CTEs (`outbox_event`, `outbox_deliveries`) that write a prepared event and its deliveries, once per
 * row of `source` (a CTE or subquery of the caller's statement yielding at most one row). The prepared
 * values are bound from `$first` to `$first + 6`.
 *
 * The event's `seq` is its place among its payment's events: one more than the last one committed. Every
 * writer of a payment's events holds the payment's row lock (refunds and cancels lock it first; a
 * payment's first event is written with the payment), so the next writer's statement sees the previous
 * one; ties (none expected) are broken by the event id, which grows with time.
 */
export function outboxCte(first: number, source: string): string {
  const $ = (offset: number) => `$${first + offset}`;
  return `outbox_event as (
    insert into webhook_events (id, merchant_id, type, body, created_at, order_key, seq)
    select ${$(0)}::uuid, ${$(1)}::uuid, ${$(2)}::text, ${$(3)}::text, ${$(4)}::timestamptz, ${$(6)}::uuid,
      coalesce((select max(w.seq) from webhook_events w where w.order_key = ${$(6)}::uuid), 0) + 1
    from ${source}
    returning id, merchant_id, created_at, order_key, seq
  ), outbox_deliveries as (
    insert into webhook_deliveries (id, event_id, endpoint_id, merchant_id, attempts_max, next_attempt_at, created_at, order_key, seq)
    select gen_random_uuid(), ev.id, e.id, e.merchant_id, ${$(5)}::int, ev.created_at, ev.created_at, ev.order_key, ev.seq
    from outbox_event ev join merchant_webhook_endpoints e on e.merchant_id = ev.merchant_id and e.status = 'active'
  )`;
}

/**
 * The same two CTEs for many events at once (a group commit's batch): the prepared values of every event
 * bound as seven arrays from `$first` (ids, merchants, types, bodies, times, attempts, order keys); a
 * batch's events are about distinct payments. Each event gets one
 * delivery per active endpoint of its merchant, exactly as `outboxCte`.
 */
export function outboxManyCte(first: number): string {
  const $ = (offset: number) => `$${first + offset}`;
  return `outbox_event as (
    insert into webhook_events (id, merchant_id, type, body, created_at, order_key, seq)
    select v.id, v.merchant_id, v.type, v.body, v.created_at, v.order_key,
      coalesce((select max(w.seq) from webhook_events w where w.order_key = v.order_key), 0) + 1
    from unnest(${$(0)}::uuid[], ${$(1)}::uuid[], ${$(2)}::text[], ${$(3)}::text[], ${$(4)}::timestamptz[], ${$(6)}::uuid[])
      as v(id, merchant_id, type, body, created_at, order_key)
    returning id, merchant_id, created_at, order_key, seq
  ), outbox_deliveries as (
    insert into webhook_deliveries (id, event_id, endpoint_id, merchant_id, attempts_max, next_attempt_at, created_at, order_key, seq)
    select gen_random_uuid(), ev.id, e.id, e.merchant_id, a.attempts_max, ev.created_at, ev.created_at, ev.order_key, ev.seq
    from outbox_event ev join unnest(${$(0)}::uuid[], ${$(5)}::int[]) as a(id, attempts_max) on a.id = ev.id
    join merchant_webhook_endpoints e on e.merchant_id = ev.merchant_id and e.status = 'active'
  )`;
}

/** The values `outboxManyCte` binds, from prepared events. */
export function outboxManyValues(events: readonly PreparedMerchantEvent[]): unknown[] {
  return [0, 1, 2, 3, 4, 5, 6].map((column) => events.map((event) => event.values[column]));
}
