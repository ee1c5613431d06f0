/**
 * A merchant's payments, searched (Koban's extension; PayPay has no list): by time range (created, epoch
 * seconds, `from` inclusive, `to` exclusive), PayPay status, store (the merchant's id or Koban's) and amount,
 * newest first in cursor pages (Stripe's `limit`/`startingAfter`, the cursor a paymentId). Store-QR payments,
 * whose merchantPaymentId Koban makes, are found here rather than only through their webhook.
 */
import { resolveMerchantRefs } from '../merchants/external-ids.ts';
import type { Database } from '../platform/db/database.ts';
import { paymentColumnsOf, REFUND_COLUMNS, toPayment, toRefund, type PaymentRow, type PaymentStatus, type Refund, type RefundRow } from './model.ts';
import type { OrderDetails, OrderItem } from './order-details.ts';
import { paymentView } from './views.ts';

export const PAYMENTS_PAGE_DEFAULT = 50;
export const PAYMENTS_PAGE_MAX = 100;

/** The statuses a merchant sees (views.ts opaStatus): FAILED covers Koban's CANCELED, as PayPay reports a cancel. */
export type SearchStatus = 'CREATED' | 'AUTHORIZED' | 'COMPLETED' | 'REFUNDED' | 'FAILED' | 'EXPIRED';
const STORED_STATUSES: Readonly<Record<SearchStatus, readonly PaymentStatus[]>> = {
  CREATED: ['CREATED'], AUTHORIZED: ['AUTHORIZED'], COMPLETED: ['COMPLETED'], REFUNDED: ['REFUNDED'], FAILED: ['FAILED', 'CANCELED'], EXPIRED: ['EXPIRED'],
};

export interface PaymentSearch {
  readonly from: Date | null;
  readonly to: Date | null;
  readonly status: SearchStatus | null;
  readonly storeRef: string | null;
  readonly minAmountMinor: bigint | null;
  readonly maxAmountMinor: bigint | null;
  readonly limit: number;
  /** A paymentId of the previous page; one that is not this merchant's answers an empty page. */
  readonly startingAfter: string | null;
}

type Row = PaymentRow & { store_ref: string | null; terminal_ref: string | null; store_info: string | null; product_type: string | null; order_items: OrderItem[] | null };

export async function searchPayments(db: Database, merchantId: string, search: PaymentSearch) {
  const limit = Math.min(Math.max(1, search.limit), PAYMENTS_PAGE_MAX);
  const store = search.storeRef === null ? null : (await resolveMerchantRefs(db.pool, merchantId, { storeRef: search.storeRef, terminalRef: null })).storeId;
  const result = await db.pool.query<Row>(
    `select ${paymentColumnsOf('p')}, d.store_ref, d.terminal_ref, d.store_info, d.product_type, d.order_items
     from payments p left join payment_order_details d on d.merchant_id = p.merchant_id and d.merchant_payment_id = p.merchant_payment_id
     where p.merchant_id = $1
       and ($2::timestamptz is null or p.created_at >= $2) and ($3::timestamptz is null or p.created_at < $3)
       and ($4::text[] is null or p.status = any($4))
       and ($5::text is null or p.store_id = $6::uuid or d.store_ref = $5)
       and ($7::bigint is null or p.amount_minor >= $7) and ($8::bigint is null or p.amount_minor <= $8)
       and ($9::uuid is null or (p.created_at, p.id) < (select c.created_at, c.id from payments c where c.id = $9::uuid and c.merchant_id = $1))
     order by p.created_at desc, p.id desc limit $10`,
    [merchantId, search.from, search.to, search.status === null ? null : STORED_STATUSES[search.status], search.storeRef, store,
      search.minAmountMinor, search.maxAmountMinor, search.startingAfter, limit + 1]);
  const rows = result.rows.slice(0, limit);
  const refunds = await refundsOf(db, rows.map((r) => r.id));
  const payments = rows.map((row) => {
    const details: OrderDetails = { storeRef: row.store_ref, terminalRef: row.terminal_ref, storeInfo: row.store_info, productType: row.product_type, orderItems: row.order_items };
    return paymentView(toPayment(row), refunds.get(row.id) ?? [], details);
  });
  return { payments, hasMore: result.rows.length > limit, nextCursor: result.rows.length > limit ? rows.at(-1)?.id ?? null : null };
}

async function refundsOf(db: Database, paymentIds: readonly string[]): Promise<Map<string, Refund[]>> {
  const byPayment = new Map<string, Refund[]>();
  if (paymentIds.length === 0) return byPayment;
  const result = await db.pool.query<RefundRow>(`select ${REFUND_COLUMNS} from refunds where payment_id = any($1::uuid[]) order by created_at, id`, [paymentIds]);
  for (const row of result.rows) {
    const refund = toRefund(row);
    byPayment.set(refund.paymentId, [...(byPayment.get(refund.paymentId) ?? []), refund]);
  }
  return byPayment;
}
