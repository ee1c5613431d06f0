/**
 * A counting semaphore with a bounded wait queue. argon2 needs 19 MiB per hash: without a bound, a
 * login flood queues unbounded hashes and memory. A full queue answers 503 at once instead.
 */
import { assert } from '../../platform/assert.ts';
import { KobanError } from '../../platform/errors.ts';

export interface Semaphore {
  run<T>(work: () => Promise<T>): Promise<T>;
  readonly active: number;
  readonly waiting: number;
}

export function createSemaphore(concurrency: number, queueMax: number): Semaphore {
  assert(Number.isSafeInteger(concurrency) && concurrency >= 1, 'semaphore concurrency');
  assert(Number.isSafeInteger(queueMax) && queueMax >= 0, 'semaphore queue');
  let active = 0;
  const queue: Array<() => void> = [];

  function release(): void {
    const next = queue.shift();
    if (next === undefined) active--;
    else next();
  }

  async function acquire(): Promise<void> {
    if (active < concurrency) {
      active++;
      return;
    }
    if (queue.length >= queueMax) throw new KobanError('service_unavailable', { detail: 'too many sign-in requests at once; try again shortly' });
    await new Promise<void>((resolve) => queue.push(resolve));
  }

  return {
    async run(work) {
      await acquire();
      try {
        return await work();
      } finally {
        release();
      }
    },
    get active() { return active; },
    get waiting() { return queue.length; },
  };
}
