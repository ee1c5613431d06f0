/**
 * How one delivery's body is rendered for its endpoint's format. The event is stored once (outbox.ts, Koban's
 * envelope); each endpoint gets it as it asked:
 *
 * - `koban`: the stored envelope, byte for byte.
 * - `paypay`: PayPay's flat Transaction notification (its reference, "Transaction Events"), and only for the
 *   events PayPay sends. For an instant payment PayPay notifies COMPLETED and nothing else: a refund (state
 *   REFUNDED) and a cancel (state FAILED) are visible through Get payment details, not webhooks (its "Basic
 *   status transition" table). So a PayPay-style handler that fulfils on COMPLETED fulfils once.
 */
import type { Queryable } from '../../platform/db/database.ts';
import type { WebhookFormat } from '../../merchants/webhook-endpoints.ts';
import { readOrderDetails } from '../order-details.ts';

/**
 * PayPay's notification `state` for each Koban event it sends; events not named here are not sent in its format.
 * A pre-authorisation is notified at each step (PayPay's "Preauth & Capture" transitions): AUTHORIZED, then
 * COMPLETED (capture), CANCELED (revert) or EXPIRED. A `payment.canceled` is sent only for a reverted
 * authorisation (its data's state is CANCELED); an instant payment's cancel (state FAILED) is not.
 */
const PAYPAY_STATES: Readonly<Record<string, 'AUTHORIZED' | 'COMPLETED' | 'CANCELED' | 'EXPIRED'>> = {
  'payment.authorized': 'AUTHORIZED', 'payment.completed': 'COMPLETED', 'payment.canceled': 'CANCELED', 'payment.expired': 'EXPIRED',
};

export function paypaySends(eventType: string, state?: string): boolean {
  return Object.hasOwn(PAYPAY_STATES, eventType) && (eventType !== 'payment.canceled' || state === 'CANCELED');
}

interface StoredEvent {
  readonly merchantId: string;
  readonly data: {
    readonly merchant_id: string; readonly store_id: string | null; readonly pos_id: string | null; readonly order_id: string;
    readonly merchant_order_id: string; readonly paid_at: string | null; readonly order_amount: number;
    readonly authorized_at?: string | null; readonly expires_at?: string | null; readonly state?: string;
  };
}

/** PayPay writes its times as `2020-04-13T13:35:29Z`: whole seconds. */
function paypayTime(iso: string | null): string | null {
  return iso === null ? null : `${iso.slice(0, 19)}Z`;
}

/** The body to post, or null when this format has no notification for the event (the delivery is skipped). */
export async function renderDelivery(db: Queryable, format: WebhookFormat, eventType: string, storedBody: string): Promise<string | null> {
  if (format === 'koban') return storedBody;
  const state = PAYPAY_STATES[eventType];
  if (state === undefined) return null;
  const event = JSON.parse(storedBody) as StoredEvent;
  const data = event.data;
  if (!paypaySends(eventType, data.state)) return null;
  // storeId/terminalId as the merchant set them in the request (PayPay: "storeId set in the request").
  const details = await readOrderDetails(db, event.merchantId, data.merchant_order_id);
  const paidAt = paypayTime(data.paid_at);
  return JSON.stringify({
    notification_type: 'Transaction',
    merchant_id: data.merchant_id,
    store_id: details.storeRef ?? data.store_id,
    pos_id: details.terminalRef ?? data.pos_id,
    order_id: data.order_id,
    merchant_order_id: data.merchant_order_id,
    // An instant payment is authorised and captured at once (no expiry); a pre-authorisation has both times.
    authorized_at: paypayTime(data.authorized_at ?? null) ?? paidAt,
    expires_at: paypayTime(data.expires_at ?? null),
    paid_at: paidAt,
    order_amount: String(data.order_amount),
    state,
  });
}
