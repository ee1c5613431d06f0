/**
 * The transactional outbox: a merchant event is written in the same transaction as the state it reports
 * (a completed payment, a refund), with one pending delivery per active endpoint. No event is ever sent
 * for a state that did not commit, and none is lost when the process dies after the commit.
 */
import type pg from 'pg';
import { uuidv7 } from '../../platform/ids.ts';
import type { MerchantEvent, MerchantEventSink } from '../deps.ts';

export function createOutbox(options: { attemptsMax: number; now: () => Date }): MerchantEventSink {
  return {
    async record(client: pg.PoolClient, event: MerchantEvent) {
      const now = options.now();
      const id = uuidv7(now.getTime());
      const body = JSON.stringify({ id, type: event.type, createdAt: now.toISOString(), merchantId: event.merchantId, data: event.data });
      await client.query(`insert into webhook_events (id, merchant_id, type, body, created_at) values ($1, $2, $3, $4, $5)`, [id, event.merchantId, event.type, body, now]);
      await client.query(
        `insert into webhook_deliveries (id, event_id, endpoint_id, merchant_id, attempts_max, next_attempt_at, created_at)
         select gen_random_uuid(), $1, e.id, e.merchant_id, $3, $4, $4 from merchant_webhook_endpoints e where e.merchant_id = $2 and e.status = 'active'`,
        [id, event.merchantId, options.attemptsMax, now]);
    },
  };
}
