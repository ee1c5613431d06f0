/**
 * Bounds the top-up credits in flight in one process. A credit holds its top-up row (one pooled connection)
 * while the ledger writes on another; without a bound, a burst of confirmations could hold every pooled
 * connection and leave the ledger none. A full queue answers 503: webhooks are retried by the provider and
 * the reconciler comes back, so nothing is lost.
 */
import { assert } from '../platform/assert.ts';
import { KobanError } from '../platform/errors.ts';

export interface CreditGate {
  run<T>(work: () => Promise<T>): Promise<T>;
}

export const CREDITS_IN_FLIGHT_MAX = 4;
export const CREDITS_QUEUED_MAX = 1_000;

export function createCreditGate(concurrency = CREDITS_IN_FLIGHT_MAX, queueMax = CREDITS_QUEUED_MAX): CreditGate {
  assert(Number.isSafeInteger(concurrency) && concurrency >= 1 && Number.isSafeInteger(queueMax) && queueMax >= 0, 'credit gate bounds');
  let active = 0;
  const queue: Array<() => void> = [];
  const release = (): void => {
    const next = queue.shift();
    if (next === undefined) active--;
    else next();
  };
  return {
    async run(work) {
      if (active < concurrency) active++;
      else if (queue.length >= queueMax) throw new KobanError('service_unavailable', { detail: 'too many top-up confirmations at once; they are retried' });
      else await new Promise<void>((resolve) => queue.push(resolve));
      try {
        return await work();
      } finally {
        release();
      }
    },
  };
}
