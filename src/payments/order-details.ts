/**
 * What a merchant said about an order that Koban keeps and echoes but does not act on: the storeId and
 * terminalId strings exactly as sent (merchant-chosen, up to 255), PayPay's `orderItems`, `storeInfo` and
 * `productType`. Keyed by (merchant, merchantPaymentId), like the payment's own idempotency key.
 */
import type { Queryable } from '../platform/db/database.ts';

export interface OrderItem {
  readonly name: string;
  readonly category?: string;
  readonly quantity: number;
  readonly productId?: string;
  // Checked to be JPY at the boundary (merchant-routes.ts requireJpy).
  readonly unitPrice?: { readonly amount: number; readonly currency: string };
}

export interface OrderDetails {
  readonly storeRef: string | null;
  readonly terminalRef: string | null;
  readonly storeInfo: string | null;
  readonly productType: string | null;
  readonly orderItems: readonly OrderItem[] | null;
}

export const NO_ORDER_DETAILS: OrderDetails = { storeRef: null, terminalRef: null, storeInfo: null, productType: null, orderItems: null };

export function hasOrderDetails(details: OrderDetails): boolean {
  return details.storeRef !== null || details.terminalRef !== null || details.storeInfo !== null || details.productType !== null || details.orderItems !== null;
}

/** The first write wins: a repeat of the same merchantPaymentId answers the first order, details included. */
export async function writeOrderDetails(db: Queryable, merchantId: string, merchantPaymentId: string, details: OrderDetails): Promise<void> {
  if (!hasOrderDetails(details)) return;
  await db.query(
    `insert into payment_order_details (merchant_id, merchant_payment_id, store_ref, terminal_ref, store_info, product_type, order_items)
     values ($1, $2, $3, $4, $5, $6, $7::jsonb) on conflict (merchant_id, merchant_payment_id) do nothing`,
    [merchantId, merchantPaymentId, details.storeRef, details.terminalRef, details.storeInfo, details.productType,
      details.orderItems === null ? null : JSON.stringify(details.orderItems)]);
}

export async function readOrderDetails(db: Queryable, merchantId: string, merchantPaymentId: string): Promise<OrderDetails> {
  const result = await db.query<{ store_ref: string | null; terminal_ref: string | null; store_info: string | null; product_type: string | null; order_items: OrderItem[] | null }>(
    { name: 'payments_read_order_details', text: `select store_ref, terminal_ref, store_info, product_type, order_items from payment_order_details where merchant_id = $1 and merchant_payment_id = $2`,
      values: [merchantId, merchantPaymentId] });
  const row = result.rows[0];
  if (row === undefined) return NO_ORDER_DETAILS;
  return { storeRef: row.store_ref, terminalRef: row.terminal_ref, storeInfo: row.store_info, productType: row.product_type, orderItems: row.order_items };
}
