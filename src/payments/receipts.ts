/**
 * The public receipt of a payment (issue 17): the till shows a QR the customer scans, and the page it
 * opens says what a paper receipt says and nothing about the customer — merchant and store, amount, time,
 * receipt number, status and what was given back. No wallet, customer, device, code or ledger id.
 *
 * The link carries an HMAC of the payment id (a key derived from the payment-code pepper, so from
 * KOBAN_SECRET_KEY): a receipt number or a payment id alone opens nothing, and nobody can walk the
 * payments by guessing links. A wrong or missing tag answers exactly like an unknown payment.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Queryable } from '../platform/db/database.ts';
import { isUuid } from '../platform/ids.ts';
import { receiptNumber } from '../platform/receipt-number.ts';
import { placeName } from './place-name.ts';

/** 128 bits of the HMAC, base64url: short enough for a small QR, far beyond guessing. */
const TAG_BYTES = 16;

export interface PublicReceipt {
  readonly receiptNumber: string;
  readonly place: string;
  readonly amountMinor: bigint;
  readonly status: string;
  readonly acceptedAt: Date | null;
  readonly refundedMinor: bigint;
  readonly canceledAt: Date | null;
  readonly cancelAmountMinor: bigint | null;
}

function receiptKey(pepper: Buffer): Buffer {
  return createHmac('sha256', pepper).update('koban-public-receipt-link-v1').digest();
}

export function receiptTag(pepper: Buffer, paymentId: string): string {
  return createHmac('sha256', receiptKey(pepper)).update(paymentId.toLowerCase()).digest().subarray(0, TAG_BYTES).toString('base64url');
}

/** The address printed into the till's receipt QR. */
export function receiptUrl(publicUrl: string, pepper: Buffer, paymentId: string): string {
  return `${publicUrl}/receipts/${paymentId.toLowerCase()}/${receiptTag(pepper, paymentId)}`;
}

function tagMatches(pepper: Buffer, paymentId: string, tag: string): boolean {
  const expected = Buffer.from(receiptTag(pepper, paymentId));
  const given = Buffer.from(tag);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** The receipt behind a link, or null for a wrong tag, an unknown payment or one that never completed. */
export async function publicReceipt(db: Queryable, pepper: Buffer, paymentId: string, tag: string): Promise<PublicReceipt | null> {
  if (!isUuid(paymentId) || !tagMatches(pepper, paymentId, tag)) return null;
  const row = (await db.query<{ id: string; amount_minor: string; status: string; accepted_at: Date | null; refunded_minor: string; canceled_at: Date | null; cancel_amount_minor: string | null; merchant: string; store: string | null }>(
    `select p.id, p.amount_minor, p.status, p.accepted_at, p.refunded_minor, p.canceled_at, p.cancel_amount_minor, m.name as merchant, s.name as store
       from payments p join merchants m on m.id = p.merchant_id left join stores s on s.id = p.store_id
      where p.id = $1 and p.accepted_at is not null`, [paymentId.toLowerCase()])).rows[0];
  if (row === undefined) return null;
  return {
    receiptNumber: receiptNumber(row.id), place: placeName(row.merchant, row.store), amountMinor: BigInt(row.amount_minor), status: row.status,
    acceptedAt: row.accepted_at, refundedMinor: BigInt(row.refunded_minor), canceledAt: row.canceled_at,
    cancelAmountMinor: row.cancel_amount_minor === null ? null : BigInt(row.cancel_amount_minor),
  };
}
