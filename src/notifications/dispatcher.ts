/**
 * Delivers the outbox. Each pass claims a bounded batch (`for update skip locked`, so several Koban
 * processes share the work) by pushing its next attempt one lease ahead, delivers outside any
 * transaction, then records the result: sent, retry with exponential backoff, or failed after the
 * last attempt. Delivery is at-least-once; a crash between send and record resends after the lease.
 */
import type { Database } from '../platform/db/database.ts';
import type { Channel, OutboundMessage, Transport } from './types.ts';

export const DISPATCH_LIMITS = {
  batchSize: 50,
  attemptsMax: 8,
  leaseMs: 60_000,
  backoffBaseMs: 2_000,
  backoffMaxMs: 10 * 60_000,
  errorLengthMax: 500,
} as const;

export interface Dispatcher {
  /** One pass; resolves to the number of messages claimed. */
  dispatchOnce(): Promise<number>;
}

export function backoffMs(attempts: number): number {
  return Math.min(DISPATCH_LIMITS.backoffMaxMs, DISPATCH_LIMITS.backoffBaseMs * 2 ** Math.max(0, attempts - 1));
}

interface ClaimedRow { id: string; channel: Channel; recipient: string; kind: string; subject: string; body: string; attempts: number }

export function createDispatcher(db: Database, transports: Readonly<Record<Channel, Transport>>): Dispatcher {
  async function claim(): Promise<ClaimedRow[]> {
    const result = await db.pool.query<ClaimedRow>(
      `with due as (
         select id from outbox_messages where status = 'pending' and next_attempt_at <= now()
         order by next_attempt_at limit $1 for update skip locked)
       update outbox_messages m set attempts = m.attempts + 1, next_attempt_at = now() + make_interval(secs => $2::double precision / 1000)
       from due where m.id = due.id
       returning m.id, m.channel, m.recipient, m.kind, m.subject, m.body, m.attempts`,
      [DISPATCH_LIMITS.batchSize, DISPATCH_LIMITS.leaseMs],
    );
    return result.rows;
  }

  async function markSent(id: string): Promise<void> {
    // Codes and links leave the outbox once delivered: the table is not a second copy of secrets.
    await db.pool.query(`update outbox_messages set status = 'sent', sent_at = now(), body = '[delivered]', last_error = null where id = $1`, [id]);
  }

  async function markFailed(row: ClaimedRow, error: unknown): Promise<void> {
    const message = (error instanceof Error ? error.message : String(error)).slice(0, DISPATCH_LIMITS.errorLengthMax);
    const final = row.attempts >= DISPATCH_LIMITS.attemptsMax;
    await db.pool.query(
      `update outbox_messages set status = $2, last_error = $3,
         next_attempt_at = now() + make_interval(secs => $4::double precision / 1000) where id = $1`,
      [row.id, final ? 'failed' : 'pending', message, backoffMs(row.attempts)],
    );
  }

  async function deliver(row: ClaimedRow): Promise<void> {
    const message: OutboundMessage = { id: row.id, channel: row.channel, recipient: row.recipient, kind: row.kind, subject: row.subject, body: row.body };
    try {
      await transports[row.channel].deliver(message);
    } catch (error) {
      await markFailed(row, error);
      return;
    }
    await markSent(row.id);
  }

  return {
    async dispatchOnce() {
      const rows = await claim();
      await Promise.all(rows.map(deliver));
      return rows.length;
    },
  };
}
