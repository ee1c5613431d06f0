/**
 * Writes to the transactional outbox and the customer feed. Both take the caller's transaction
 * (`Queryable`): the message exists exactly when the event that caused it committed.
 */
import type { Queryable } from '../platform/db/database.ts';
import { assert } from '../platform/assert.ts';
import { uuidv7 } from '../platform/ids.ts';
import { MESSAGE_LIMITS, type Channel } from './types.ts';

export interface NewMessage {
  readonly channel: Channel;
  readonly recipient: string;
  readonly kind: string;
  readonly subject: string;
  readonly body: string;
}

function assertMessage(message: NewMessage): void {
  assert(message.recipient.length >= 3 && message.recipient.length <= MESSAGE_LIMITS.recipientLengthMax, 'message recipient length');
  assert(message.subject.length <= MESSAGE_LIMITS.subjectLengthMax, 'message subject length');
  assert(message.body.length <= MESSAGE_LIMITS.bodyLengthMax, 'message body length');
}

export async function enqueueMessage(db: Queryable, message: NewMessage): Promise<string> {
  assertMessage(message);
  const id = uuidv7();
  await db.query(
    'insert into outbox_messages (id, channel, recipient, kind, subject, body) values ($1, $2, $3, $4, $5, $6)',
    [id, message.channel, message.recipient, message.kind, message.subject, message.body],
  );
  return id;
}

export interface FeedEntry {
  readonly id: string;
  readonly kind: string;
  readonly title: string;
  readonly body: string;
  readonly createdAt: Date;
  readonly readAt: Date | null;
  /** Whether 「心当たりがない」 applies (payments, top-ups, new-device sign-ins; not refunds or own settings). */
  readonly contestable: boolean;
}

export const FEED_PAGE_MAX = 100;

/** A feed entry; `contestable` (default false) offers 「心当たりがない」 on it, so the writer decides, not the app. */
export async function addFeedEntry(db: Queryable, customerId: string, entry: { kind: string; title: string; body: string; contestable?: boolean }): Promise<void> {
  await db.query(
    'insert into customer_notifications (id, customer_id, kind, title, body, contestable) values ($1, $2, $3, $4, $5, $6)',
    [uuidv7(), customerId, entry.kind, entry.title, entry.body, entry.contestable === true],
  );
}

export async function listFeed(db: Queryable, customerId: string, limit: number): Promise<FeedEntry[]> {
  assert(Number.isSafeInteger(limit) && limit >= 1 && limit <= FEED_PAGE_MAX, 'feed page size');
  const result = await db.query<{ id: string; kind: string; title: string; body: string; created_at: Date; read_at: Date | null; contestable: boolean }>(
    'select id, kind, title, body, created_at, read_at, contestable from customer_notifications where customer_id = $1 order by created_at desc, id desc limit $2',
    [customerId, limit],
  );
  return result.rows.map((row) => ({ id: row.id, kind: row.kind, title: row.title, body: row.body, createdAt: row.created_at, readAt: row.read_at, contestable: row.contestable }));
}

export interface NewFeedEntry { readonly customerId: string; readonly kind: string; readonly title: string; readonly body: string; readonly contestable: boolean }

/**
 * Many feed entries and messages in one statement, in the caller's transaction (the customer-notice relay's
 * batch): a fixed cost whatever the count, and the feed's statement trigger (migration 0131) NOTIFYs the
 * live feed once for the whole batch, not once per entry.
 */
export async function writeFeedEntriesAndMessages(db: Queryable, feed: readonly NewFeedEntry[], messages: readonly NewMessage[]): Promise<void> {
  if (feed.length === 0 && messages.length === 0) return;
  messages.forEach(assertMessage);
  await db.query(
    `with feed as (
       insert into customer_notifications (id, customer_id, kind, title, body, contestable)
       select * from unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::boolean[]))
     insert into outbox_messages (id, channel, recipient, kind, subject, body)
     select * from unnest($7::uuid[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[])`,
    [feed.map(() => uuidv7()), feed.map((e) => e.customerId), feed.map((e) => e.kind), feed.map((e) => e.title), feed.map((e) => e.body), feed.map((e) => e.contestable),
      messages.map(() => uuidv7()), messages.map((m) => m.channel), messages.map((m) => m.recipient), messages.map((m) => m.kind), messages.map((m) => m.subject), messages.map((m) => m.body)],
  );
}
