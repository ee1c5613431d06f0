/** Payments and refunds as the module's functions see them, and the row mapping. */
import { createHash } from 'node:crypto';
import { assert } from '../platform/assert.ts';
import type { Queryable } from '../platform/db/database.ts';

export type PaymentKind = 'customer_code' | 'dynamic_qr' | 'static_qr';
/** PayPay's payment states (AUTHORIZED only for a pre-authorisation, authorizations.ts). */
export type PaymentStatus = 'CREATED' | 'AUTHORIZED' | 'COMPLETED' | 'REFUNDED' | 'FAILED' | 'CANCELED' | 'EXPIRED';
export type RefundStatus = 'CREATED' | 'REFUNDED' | 'REFUND_FAILED';

export interface Payment {
  readonly id: string;
  readonly merchantId: string;
  readonly merchantPaymentId: string;
  readonly kind: PaymentKind;
  readonly status: PaymentStatus;
  readonly amountMinor: bigint;
  readonly feeMinor: bigint;
  readonly storeId: string | null;
  readonly terminalId: string | null;
  readonly orderDescription: string | null;
  readonly requestFingerprint: string;
  readonly customerId: string | null;
  readonly walletAccountId: string | null;
  readonly deviceId: string | null;
  readonly paymentTransferId: string | null;
  readonly feeTransferId: string | null;
  readonly failureCode: string | null;
  readonly refundedMinor: bigint;
  readonly refundedFeeMinor: bigint;
  readonly requestedAt: Date | null;
  readonly createdAt: Date;
  readonly acceptedAt: Date | null;
  readonly businessDate: string | null;
  readonly canceledAt: Date | null;
  readonly cancelAmountMinor: bigint | null;
  readonly cancelFeeMinor: bigint | null;
  readonly cancelTransferId: string | null;
  readonly cancelFeeTransferId: string | null;
  /** A pre-authorisation (an order QR made with isAuthorization): paid by a ledger hold, then captured, reverted or expired. */
  readonly isAuthorization: boolean;
  readonly authorizationExpiresAt: Date | null;
  readonly authorizedAt: Date | null;
  /** What was authorised; `amountMinor` is what was captured once captured. */
  readonly authorizedAmountMinor: bigint | null;
}

export interface Refund {
  readonly id: string;
  readonly paymentId: string;
  readonly merchantId: string;
  readonly merchantRefundId: string;
  readonly status: RefundStatus;
  readonly amountMinor: bigint;
  readonly feeRefundMinor: bigint;
  readonly reason: string | null;
  readonly requestFingerprint: string;
  readonly refundTransferId: string;
  readonly feeTransferId: string | null;
  readonly failureCode: string | null;
  readonly requestedAt: Date | null;
  readonly createdAt: Date;
  readonly completedAt: Date | null;
}

export const PAYMENT_COLUMNS = `id, merchant_id, merchant_payment_id, kind, status, amount_minor, fee_minor, store_id, terminal_id,
  order_description, request_fingerprint, customer_id, wallet_account_id, device_id, payment_transfer_id, fee_transfer_id, failure_code,
  refunded_minor, refunded_fee_minor, requested_at, created_at, accepted_at, business_date, canceled_at, cancel_amount_minor,
  cancel_fee_minor, cancel_transfer_id, cancel_fee_transfer_id, is_authorization, authorization_expires_at, authorized_at, authorized_amount_minor`;

/** PAYMENT_COLUMNS qualified with a table alias, for joins. */
export function paymentColumnsOf(alias: string): string {
  return PAYMENT_COLUMNS.split(',').map((column) => `${alias}.${column.trim()}`).join(', ');
}

export interface PaymentRow {
  id: string; merchant_id: string; merchant_payment_id: string; kind: PaymentKind; status: PaymentStatus; amount_minor: bigint;
  fee_minor: bigint; store_id: string | null; terminal_id: string | null; order_description: string | null; request_fingerprint: string;
  customer_id: string | null; wallet_account_id: string | null; device_id: string | null; payment_transfer_id: string | null; fee_transfer_id: string | null;
  failure_code: string | null; refunded_minor: bigint; refunded_fee_minor: bigint; requested_at: Date | null; created_at: Date;
  accepted_at: Date | null; business_date: string | null; canceled_at: Date | null; cancel_amount_minor: bigint | null;
  cancel_fee_minor: bigint | null; cancel_transfer_id: string | null; cancel_fee_transfer_id: string | null;
  is_authorization: boolean; authorization_expires_at: Date | null; authorized_at: Date | null; authorized_amount_minor: bigint | null;
}

export function toPayment(row: PaymentRow): Payment {
  return {
    id: row.id, merchantId: row.merchant_id, merchantPaymentId: row.merchant_payment_id, kind: row.kind, status: row.status,
    amountMinor: row.amount_minor, feeMinor: row.fee_minor, storeId: row.store_id, terminalId: row.terminal_id,
    orderDescription: row.order_description, requestFingerprint: row.request_fingerprint, customerId: row.customer_id,
    walletAccountId: row.wallet_account_id, deviceId: row.device_id, paymentTransferId: row.payment_transfer_id, feeTransferId: row.fee_transfer_id,
    failureCode: row.failure_code, refundedMinor: row.refunded_minor, refundedFeeMinor: row.refunded_fee_minor,
    requestedAt: row.requested_at, createdAt: row.created_at, acceptedAt: row.accepted_at, businessDate: row.business_date,
    canceledAt: row.canceled_at, cancelAmountMinor: row.cancel_amount_minor, cancelFeeMinor: row.cancel_fee_minor,
    cancelTransferId: row.cancel_transfer_id, cancelFeeTransferId: row.cancel_fee_transfer_id,
    isAuthorization: row.is_authorization, authorizationExpiresAt: row.authorization_expires_at, authorizedAt: row.authorized_at,
    authorizedAmountMinor: row.authorized_amount_minor,
  };
}

export const REFUND_COLUMNS = `id, payment_id, merchant_id, merchant_refund_id, status, amount_minor, fee_refund_minor, reason,
  request_fingerprint, refund_transfer_id, fee_transfer_id, failure_code, requested_at, created_at, completed_at`;

export interface RefundRow {
  id: string; payment_id: string; merchant_id: string; merchant_refund_id: string; status: RefundStatus; amount_minor: bigint;
  fee_refund_minor: bigint; reason: string | null; request_fingerprint: string; refund_transfer_id: string; fee_transfer_id: string | null;
  failure_code: string | null; requested_at: Date | null; created_at: Date; completed_at: Date | null;
}

export function toRefund(row: RefundRow): Refund {
  return {
    id: row.id, paymentId: row.payment_id, merchantId: row.merchant_id, merchantRefundId: row.merchant_refund_id, status: row.status,
    amountMinor: row.amount_minor, feeRefundMinor: row.fee_refund_minor, reason: row.reason, requestFingerprint: row.request_fingerprint,
    refundTransferId: row.refund_transfer_id, feeTransferId: row.fee_transfer_id, failureCode: row.failure_code,
    requestedAt: row.requested_at, createdAt: row.created_at, completedAt: row.completed_at,
  };
}

export async function readPaymentByMerchantId(db: Queryable, merchantId: string, merchantPaymentId: string, lock = false): Promise<Payment | null> {
  const result = await db.query<PaymentRow>(
    `select ${PAYMENT_COLUMNS} from payments where merchant_id = $1 and merchant_payment_id = $2${lock ? ' for update' : ''}`, [merchantId, merchantPaymentId]);
  const row = result.rows[0];
  return row === undefined ? null : toPayment(row);
}

export async function readPaymentById(db: Queryable, paymentId: string, lock = false): Promise<Payment | null> {
  const result = await db.query<PaymentRow>(`select ${PAYMENT_COLUMNS} from payments where id = $1${lock ? ' for update' : ''}`, [paymentId]);
  const row = result.rows[0];
  return row === undefined ? null : toPayment(row);
}

/**
 * Takes the payment row's lock. The one lock order of every refund and cancel: the payment row first, then
 * its dependants (refund rows, the dynamic QR row), so two of them on one payment never wait on each other.
 */
export async function lockPayment(db: Queryable, paymentId: string): Promise<void> {
  const locked = await db.query({ name: 'payments_lock', text: 'select 1 from payments where id = $1 for update', values: [paymentId] });
  assert(locked.rowCount === 1, 'a payment row is never deleted');
}

export async function readRefunds(db: Queryable, paymentId: string): Promise<Refund[]> {
  const result = await db.query<RefundRow>(`select ${REFUND_COLUMNS} from refunds where payment_id = $1 order by created_at, id`, [paymentId]);
  return result.rows.map(toRefund);
}

/** Sha-256 over the fields that define a request, so a repeat can be told from a conflicting reuse of its id. */
export function fingerprint(parts: ReadonlyArray<string | bigint | null>): string {
  return createHash('sha256').update(JSON.stringify(parts.map((p) => (p === null ? null : String(p))))).digest('hex');
}
