/**
 * Whether the till may still cancel a payment, for the till's sales list. It states the rules the module
 * enforces when the cancel is asked for, so the list never offers a cancel the module would refuse:
 * - `till-service.ts`: at the till, only the current business day's payments (refund the others);
 * - `cancel.ts`: only a paid payment, before its cancel deadline (`time.ts`), with something not yet refunded.
 * (The refunds kill switch is not shown here: it can change between listing and asking.)
 */
import type { Payment } from '../model.ts';
import { businessDate, cancelDeadline } from '../time.ts';

export function cancelableAtTill(payment: Payment, at: Date, cutoffMinutes: number): boolean {
  const paid = payment.status === 'COMPLETED' || payment.status === 'REFUNDED';
  if (!paid || payment.acceptedAt === null) return false;
  if (payment.businessDate !== businessDate(at)) return false;
  return at < cancelDeadline(payment.acceptedAt, cutoffMinutes) && payment.refundedMinor < payment.amountMinor;
}
