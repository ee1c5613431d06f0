/**
 * What a signed-in till may do, on top of the payments service. Every money movement goes through the
 * same functions the merchant API uses (payAtTill, createDynamicQr, cancelPayment, refundPayment), so
 * kill switches, risk checks, idempotency and the ledger steps are exactly theirs. This file adds only
 * the till's own rules:
 * - merchant, store and terminal come from the terminal session, never from the request;
 * - a till sees and reverses only the payments it took (another terminal's are "not found");
 * - a cancel is for today's payments (refund otherwise) and every cancel and refund carries a reason;
 * - after the daily close the till takes no new payment, cancel or refund for that business day
 *   (a retried charge still learns what happened to it), and the close waits for none in flight
 *   (day-guard.ts).
 */
import type { Database } from '../../platform/db/database.ts';
import { isKobanError, KobanError } from '../../platform/errors.ts';
import { uuidv7 } from '../../platform/ids.ts';
import { readPaymentByMerchantId, type Payment, type Refund } from '../model.ts';
import { paymentAnswer, refundFailure, tillAnswer } from '../outcomes.ts';
import type { Payments } from '../service.ts';
import { businessDate } from '../time.ts';
import type { TerminalPrincipal } from './access.ts';
import { whileDayOpen } from './day-guard.ts';
import { closeDay, dayTotals, daySales, readDayClose, type DayClose, type DayTotals, type SaleLine } from './sales.ts';

export interface ChargeRequest {
  readonly merchantPaymentId: string;
  readonly code: string;
  readonly amountMinor: bigint;
}

export type OrderState = 'WAITING' | 'COMPLETED' | 'FAILED' | 'EXPIRED' | 'CANCELED';

export interface TillOrder {
  readonly codeId: string;
  readonly expiresAt: Date;
  readonly state: OrderState;
  readonly payment: Payment;
}

export interface TillService {
  charge(till: TerminalPrincipal, request: ChargeRequest): Promise<{ payment: Payment; refunds: readonly Refund[] }>;
  createOrder(till: TerminalPrincipal, merchantPaymentId: string, amountMinor: bigint): Promise<TillOrder>;
  order(till: TerminalPrincipal, merchantPaymentId: string): Promise<TillOrder>;
  cancelOrder(till: TerminalPrincipal, merchantPaymentId: string): Promise<TillOrder>;
  sales(till: TerminalPrincipal): Promise<{ businessDate: string; lines: SaleLine[]; totals: DayTotals; close: DayClose | null }>;
  cancel(till: TerminalPrincipal, merchantPaymentId: string, reason: string): Promise<Payment>;
  refund(till: TerminalPrincipal, merchantPaymentId: string, request: { merchantRefundId: string; amountMinor: bigint; reason: string }): Promise<{ refund: Refund; payment: Payment }>;
  close(till: TerminalPrincipal): Promise<DayClose>;
}

export function createTillService(db: Database, payments: Payments): TillService {
  const now = () => payments.deps.now();
  const today = () => businessDate(now());

  /** Runs a till action only while this till's day is open, and keeps the close out while it runs (day-guard.ts). */
  const duringOpenDay = <T>(till: TerminalPrincipal, work: () => Promise<T>): Promise<T> => whileDayOpen(db, till.terminalId, today(), work);

  /** The till's own payment, or "not found" (another terminal's payment does not exist for this till). */
  const ownPayment = async (till: TerminalPrincipal, merchantPaymentId: string): Promise<Payment> => {
    const payment = await readPaymentByMerchantId(db.pool, till.merchantId, merchantPaymentId);
    if (payment === null || payment.terminalId !== till.terminalId) throw new KobanError('payment_not_found');
    return payment;
  };

  const readOrder = async (payment: Payment): Promise<TillOrder> => {
    const result = await db.pool.query<{ id: string; status: string; expires_at: Date }>('select id, status, expires_at from dynamic_qr_codes where payment_id = $1', [payment.id]);
    const qr = result.rows[0];
    if (payment.kind !== 'dynamic_qr' || qr === undefined) throw new KobanError('payment_not_found', { detail: 'not a QR order' });
    return { codeId: qr.id, expiresAt: qr.expires_at, state: orderState(payment, qr.expires_at, now()), payment };
  };

  const recordReason = async (till: TerminalPrincipal, payment: Payment, kind: 'cancel' | 'refund', refundId: string | null, amountMinor: bigint, reason: string): Promise<void> => {
    // A retried cancel or refund keeps the first reason (one row per cancel and per refund).
    await db.pool.query(
      `insert into terminal_reversals (id, terminal_id, session_id, payment_id, kind, refund_id, amount_minor, reason, created_at)
       values ($1, $2, $3, $4, $5, $6, $7, $8, $9) on conflict do nothing`,
      [uuidv7(), till.terminalId, till.sessionId, payment.id, kind, refundId, amountMinor, reason, now()]);
  };

  return {
    async charge(till, request) {
      const pay = async () => {
        const outcome = await payments.payAtTill({
          merchantId: till.merchantId, storeId: till.storeId, terminalId: till.terminalId,
          merchantPaymentId: request.merchantPaymentId, code: request.code, amountMinor: request.amountMinor, orderDescription: null, requestedAt: null,
        });
        return { payment: tillAnswer(outcome.payment), refunds: outcome.refunds };
      };
      try {
        return await duringOpenDay(till, pay);
      } catch (error) {
        // A till retrying after a timeout must learn what happened, even after the close (payAtTill
        // answers a repeated merchantPaymentId with the first result and moves no money).
        if (!isKobanError(error) || error.code !== 'till_day_closed') throw error;
        const earlier = await readPaymentByMerchantId(db.pool, till.merchantId, request.merchantPaymentId);
        if (earlier === null || earlier.terminalId !== till.terminalId) throw error;
        return pay();
      }
    },

    async createOrder(till, merchantPaymentId, amountMinor) {
      const qr = await duringOpenDay(till, () => payments.createDynamicQr({
        merchantId: till.merchantId, storeId: till.storeId, terminalId: till.terminalId, merchantPaymentId, amountMinor, orderDescription: null, requestedAt: null,
      }));
      return { codeId: qr.codeId, expiresAt: qr.expiresAt, state: orderState(qr.payment, qr.expiresAt, now()), payment: qr.payment };
    },

    order: async (till, merchantPaymentId) => readOrder(await ownPayment(till, merchantPaymentId)),

    async cancelOrder(till, merchantPaymentId) {
      const payment = await ownPayment(till, merchantPaymentId);
      await readOrder(payment);
      // An unpaid order is withdrawn (its QR stops working); a paid one is cancelled with a reason instead.
      if (payment.status !== 'CREATED') throw new KobanError('dynamic_qr_unavailable', { detail: 'the order was already paid or closed' });
      return readOrder(await payments.cancelPayment(till.merchantId, merchantPaymentId));
    },

    async sales(till) {
      const date = today();
      const [lines, totals, close] = await Promise.all([daySales(db.pool, till.terminalId, date), dayTotals(db.pool, till.terminalId, date), readDayClose(db.pool, till.terminalId, date)]);
      return { businessDate: date, lines, totals, close };
    },

    async cancel(till, merchantPaymentId, reason) {
      const payment = await ownPayment(till, merchantPaymentId);
      if (payment.status === 'CANCELED') return payment;
      if (payment.status !== 'COMPLETED' && payment.status !== 'REFUNDED') throw new KobanError('payment_not_reversible', { detail: `the payment is ${payment.status}` });
      if (payment.businessDate !== today()) throw new KobanError('payment_not_reversible', { detail: 'only today\'s payments can be cancelled at the till; refund it instead' });
      return duringOpenDay(till, async () => {
        const canceled = await payments.cancelPayment(till.merchantId, merchantPaymentId);
        if (canceled.status === 'CANCELED') await recordReason(till, canceled, 'cancel', null, canceled.cancelAmountMinor ?? canceled.amountMinor, reason);
        return canceled;
      });
    },

    async refund(till, merchantPaymentId, request) {
      const payment = await ownPayment(till, merchantPaymentId);
      const refund = await duringOpenDay(till, async () => {
        const made = await payments.refundPayment({
          merchantId: till.merchantId, merchantRefundId: request.merchantRefundId, paymentId: payment.id, amountMinor: request.amountMinor, reason: request.reason, requestedAt: null,
        });
        if (made.status === 'REFUNDED') await recordReason(till, payment, 'refund', made.id, made.amountMinor, request.reason);
        return made;
      });
      const failure = refundFailure(refund);
      if (failure !== null) throw failure;
      const after = await readPaymentByMerchantId(db.pool, till.merchantId, merchantPaymentId);
      return { refund, payment: after ?? payment };
    },

    close: (till) => closeDay(db, till.terminalId, till.sessionId, today(), now()),
  };
}

function orderState(payment: Payment, expiresAt: Date, at: Date): OrderState {
  if (payment.status === 'COMPLETED' || payment.status === 'REFUNDED') return 'COMPLETED';
  if (payment.status === 'CANCELED') return 'CANCELED';
  if (payment.status === 'FAILED') return payment.failureCode === 'canceled_by_merchant' || payment.failureCode === 'qr_deleted' ? 'CANCELED' : 'FAILED';
  // Being paid right now (the ledger step has started): not expired, whatever the clock says.
  if (payment.paymentTransferId === null && expiresAt <= at) return 'EXPIRED';
  return 'WAITING';
}

