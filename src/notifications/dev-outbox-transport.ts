/**
 * The development "provider": a message is delivered by storing it in `dev_outbox`, where /dev/outbox
 * shows it. Never used in production (config refuses to start without SMTP and SMS there).
 */
import type { Database } from '../platform/db/database.ts';
import type { Transport } from './types.ts';

export const DEV_OUTBOX_PAGE_MAX = 200;

export function createDevOutboxTransport(db: Database): Transport {
  return {
    async deliver(message) {
      await db.pool.query(
        `insert into dev_outbox (id, channel, recipient, kind, subject, body) values ($1, $2, $3, $4, $5, $6)
         on conflict (id) do nothing`,
        [message.id, message.channel, message.recipient, message.kind, message.subject, message.body],
      );
    },
  };
}

export interface DevOutboxEntry {
  readonly id: string;
  readonly channel: string;
  readonly recipient: string;
  readonly kind: string;
  readonly subject: string;
  readonly body: string;
  readonly deliveredAt: Date;
}

export async function readDevOutbox(db: Database, recipient: string | null, limit: number): Promise<DevOutboxEntry[]> {
  const result = await db.pool.query<{ id: string; channel: string; recipient: string; kind: string; subject: string; body: string; delivered_at: Date }>(
    `select id, channel, recipient, kind, subject, body, delivered_at from dev_outbox
     where ($1::text is null or recipient = $1) order by id desc limit $2`,
    [recipient, Math.min(limit, DEV_OUTBOX_PAGE_MAX)],
  );
  return result.rows.map((row) => ({ ...row, deliveredAt: row.delivered_at }));
}
