/**
 * One rule for answering a retry of an operation that is still in flight (a payment, refund or cancel whose
 * row is written but whose outcome is not recorded yet): wait for the outcome, bounded, by reading the row
 * again; if it is still open when the bound passes, answer the operation's distinct "in progress, retry"
 * error (`payment_in_progress`, `refund_in_progress`). Never an earlier state dressed as a result: a
 * client that reads only the result code must not take CREATED for paid.
 *
 * The wait reads PostgreSQL, not this process's memory, so it holds when the original runs on another node
 * (or died there: the repair sweeper finishes it and a later retry learns the outcome).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { assert } from '../platform/assert.ts';
import { KobanError } from '../platform/errors.ts';
import type { PaymentsDeps } from './deps.ts';
import { readPaymentById, type Payment } from './model.ts';

/** Longer than a payment normally takes under load (p99 well under a second), short enough for a till's patience. */
export const IN_FLIGHT_WAIT_MS = 3_000;
const FIRST_POLL_MS = 5;
const POLL_MAX_MS = 100;

/**
 * Reads `current` until `settled` says the outcome is recorded, waiting between reads (5 ms doubling to
 * 100 ms); throws `inProgress()` after `boundMs`. Real time, not the injected clock: this bounds waiting,
 * it decides nothing about money.
 */
export async function awaitOutcome<T>(current: () => Promise<T>, settled: (value: T) => boolean, inProgress: () => KobanError, boundMs = IN_FLIGHT_WAIT_MS): Promise<T> {
  const deadline = performance.now() + boundMs;
  let pause = FIRST_POLL_MS;
  for (;;) {
    const value = await current();
    if (settled(value)) return value;
    const left = deadline - performance.now();
    if (left <= 0) throw inProgress();
    await sleep(Math.min(pause, left));
    pause = Math.min(pause * 2, POLL_MAX_MS);
  }
}

/** A payment being paid right now (its ledger step chosen, its outcome not yet recorded). */
export function paymentInFlight(payment: Payment): boolean {
  return payment.status === 'CREATED' && payment.paymentTransferId !== null;
}

/** The payment once its outcome is recorded: waits (bounded) for one in flight, else `payment_in_progress`. */
export async function settledPayment(deps: Pick<PaymentsDeps, 'db'>, payment: Payment): Promise<Payment> {
  if (!paymentInFlight(payment)) return payment;
  return awaitOutcome(async () => {
    const current = await readPaymentById(deps.db.pool, payment.id);
    assert(current !== null, 'a payment row is never deleted');
    return current;
  }, (current) => !paymentInFlight(current), () => new KobanError('payment_in_progress'));
}
