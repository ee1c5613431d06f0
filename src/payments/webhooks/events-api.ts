/**
 * The events API (Stripe's `GET /v1/events`): a merchant's events of the last 30 days, newest first, in cursor
 * pages, whether or not a webhook reached it — so a missed webhook is never a missed sale. Each event is the
 * stored Koban envelope (`id`, `type`, `createdAt`, `merchantId`, `data`), the same the `koban` format posts.
 */
import type { Database } from '../../platform/db/database.ts';

export const EVENTS_HISTORY_DAYS = 30;
export const EVENTS_PAGE_DEFAULT = 50;
export const EVENTS_PAGE_MAX = 100;

export interface EventsPage {
  readonly events: unknown[];
  readonly hasMore: boolean;
}

/** A cursor that is not one of this merchant's events (or is older than the history) answers an empty page. */
export async function eventsPage(db: Database, merchantId: string, page: { limit: number; startingAfter: string | null; type: string | null; now: Date }): Promise<EventsPage> {
  const limit = Math.min(Math.max(1, page.limit), EVENTS_PAGE_MAX);
  const since = new Date(page.now.getTime() - EVENTS_HISTORY_DAYS * 24 * 3600 * 1000);
  const result = await db.pool.query<{ id: string; body: string }>(
    `select e.id, e.body from webhook_events e
     where e.merchant_id = $1 and e.created_at >= $2 and ($3::text is null or e.type = $3)
       and ($4::uuid is null or (e.created_at, e.id) < (select c.created_at, c.id from webhook_events c where c.id = $4::uuid and c.merchant_id = $1))
     order by e.created_at desc, e.id desc limit $5`, [merchantId, since, page.type, page.startingAfter, limit + 1]);
  return { events: result.rows.slice(0, limit).map((row) => JSON.parse(row.body) as unknown), hasMore: result.rows.length > limit };
}
