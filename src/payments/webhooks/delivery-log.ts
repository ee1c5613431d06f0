/**
 * A merchant's webhook delivery log, newest first, in cursor pages (Stripe's `limit` and `starting_after`):
 * the cursor is the last delivery id of the previous page, so pages stay stable while new deliveries arrive.
 */
import type { Database } from '../../platform/db/database.ts';
import type { DeliveryLogEntry } from './dispatcher.ts';

export const DELIVERY_PAGE_DEFAULT = 50;
export const DELIVERY_PAGE_MAX = 100;

export interface DeliveryPage {
  readonly deliveries: DeliveryLogEntry[];
  readonly hasMore: boolean;
}

/** A cursor that is not one of this merchant's deliveries answers an empty page, never another merchant's rows. */
export async function deliveryLogPage(db: Database, merchantId: string, page: { limit: number; startingAfter: string | null }): Promise<DeliveryPage> {
  const limit = Math.min(Math.max(1, page.limit), DELIVERY_PAGE_MAX);
  const result = await db.pool.query<{ id: string; event_id: string; type: string; endpoint_id: string; status: string; attempts: number; last_status_code: number | null; last_error: string | null; created_at: Date; delivered_at: Date | null }>(
    `select d.id, d.event_id, e.type, d.endpoint_id, d.status, d.attempts, d.last_status_code, d.last_error, d.created_at, d.delivered_at
     from webhook_deliveries d join webhook_events e on e.id = d.event_id
     where d.merchant_id = $1
       and ($2::uuid is null or (d.created_at, d.id) < (select c.created_at, c.id from webhook_deliveries c where c.id = $2::uuid and c.merchant_id = $1))
     order by d.created_at desc, d.id desc limit $3`, [merchantId, page.startingAfter, limit + 1]);
  const rows = result.rows.slice(0, limit);
  return {
    deliveries: rows.map((r) => ({ deliveryId: r.id, eventId: r.event_id, eventType: r.type, endpointId: r.endpoint_id, status: r.status, attempts: r.attempts, lastStatusCode: r.last_status_code, lastError: r.last_error, createdAt: r.created_at, deliveredAt: r.delivered_at })),
    hasMore: result.rows.length > limit,
  };
}
