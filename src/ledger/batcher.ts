/**
 * Group commit (TigerBeetle's client does the same): callers submit groups of operations; while a
 * batch is being written, new groups queue up and go together in the next database transaction.
 * Under low load a group is written at the end of the event-loop turn (no timer); under high load batches
 * grow to `itemsMax`, which amortises the commit's fsync and touches a hot merchant's row once per
 * batch instead of once per payment.
 *
 * Up to `inFlightMax` batches are written at once (two by default). Measured: with one, the
 * database sat idle while Node distributed results and gathered the next batch (~3 ms of a 7 ms
 * cycle at 256 callers); a second batch takes its locks the moment the first commits. Safety does
 * not depend on this number: batches are ordinary transactions with ordered row locks, exactly as
 * if they came from two processes.
 *
 * With `gatherTurn`, a batch starts at the end of the current event-loop turn (setImmediate, not a
 * timer: no added wait beyond the work already queued in this turn), so every group submitted in the
 * turn goes in it. Measured on the hot merchant at 256 callers: without it, the first caller
 * resubmitting after a batch completed took the free slot alone, so two batches in three held one
 * to a few transfers (a whole transaction, hot row lock and fsync each) while the rest waited behind
 * them. Gathered, the callers a batch's completion releases go together.
 */
import { assert } from '../platform/assert.ts';

export interface BatcherOptions<G, R> {
  /** Operations per database transaction. */
  readonly itemsMax: number;
  /** Groups waiting; past this, submit() refuses (back-pressure instead of unbounded memory). */
  readonly queuedItemsMax: number;
  /** Batches written concurrently (each on its own connection). */
  readonly inFlightMax?: number;
  /** Start a batch only at the end of the event-loop turn, so the turn's submissions go together (see above). */
  readonly gatherTurn?: boolean;
  /** Share a full queue between all free slots when nothing is being written (see splitLimit). */
  readonly splitIdle?: boolean;
  readonly sizeOf: (group: G) => number;
  /** Writes the groups in one transaction; returns one result per group, in order. */
  readonly write: (groups: G[]) => Promise<R[]>;
}

/** Below this many items per batch, one batch is cheaper than two overlapping ones. */
const SPLIT_ITEMS_MIN = 32;

export class BatcherOverloaded extends Error {
  override readonly name = 'BatcherOverloaded';
}

interface Waiting<G, R> {
  readonly group: G;
  readonly size: number;
  readonly resolve: (result: R) => void;
  readonly reject: (error: unknown) => void;
}

export interface Batcher<G, R> {
  submit(group: G): Promise<R>;
  /** Resolves when everything submitted so far has been written. */
  drain(): Promise<void>;
  readonly stats: { batches: number; items: number };
}

export function createBatcher<G, R>(options: BatcherOptions<G, R>): Batcher<G, R> {
  assert(options.itemsMax > 0 && options.queuedItemsMax >= options.itemsMax, 'batcher limits are sane');
  const queue: Waiting<G, R>[] = [];
  const inFlightMax = options.inFlightMax ?? 2;
  assert(inFlightMax >= 1 && inFlightMax <= 16, 'in-flight batches are bounded');
  let queuedItems = 0;
  const writing = new Set<Promise<void>>();
  const stats = { batches: 0, items: 0 };

  const takeBatch = (): Waiting<G, R>[] => {
    const batch: Waiting<G, R>[] = [];
    let items = 0;
    const limit = Math.min(options.itemsMax, splitLimit());
    // A group is never split: a linked chain must commit or fail in one transaction.
    while (queue.length > 0 && (batch.length === 0 || items + (queue[0]?.size ?? 0) <= limit)) {
      const next = queue.shift();
      assert(next !== undefined, 'queue not empty');
      batch.push(next);
      items += next.size;
    }
    queuedItems -= items;
    stats.batches += 1;
    stats.items += items;
    return batch;
  };

  // With `splitIdle`, a full queue meeting an idle batcher is shared between the free slots, so the
  // batches overlap (one decides while the other writes and commits) instead of running one at a time.
  const splitLimit = (): number => {
    if (options.splitIdle !== true || writing.size > 0 || inFlightMax < 2 || queuedItems < 2 * SPLIT_ITEMS_MIN) return Number.POSITIVE_INFINITY;
    return Math.ceil(queuedItems / inFlightMax);
  };

  const writeBatch = async (batch: Waiting<G, R>[]): Promise<void> => {
    try {
      const results = await options.write(batch.map((w) => w.group));
      assert(results.length === batch.length, 'one result per group');
      batch.forEach((waiting, index) => waiting.resolve(results[index] as R));
    } catch (error) {
      for (const waiting of batch) waiting.reject(error);
    }
  };

  const kick = (): void => {
    while (queue.length > 0 && writing.size < inFlightMax) {
      const done: Promise<void> = writeBatch(takeBatch()).finally(() => {
        writing.delete(done);
        later();
      });
      writing.add(done);
    }
  };

  // One deferred kick at a time: every submission of this turn joins the batch it starts.
  let kickScheduled = false;
  const later = (): void => {
    if (options.gatherTurn !== true) {
      kick();
      return;
    }
    if (kickScheduled) return;
    kickScheduled = true;
    setImmediate(() => {
      kickScheduled = false;
      kick();
    });
  };

  return {
    stats,
    submit(group: G): Promise<R> {
      const size = options.sizeOf(group);
      assert(size > 0 && size <= options.itemsMax, 'a group fits in one batch');
      if (queuedItems + size > options.queuedItemsMax) {
        return Promise.reject(new BatcherOverloaded(`ledger queue is full (${queuedItems} operations waiting)`));
      }
      return new Promise<R>((resolve, reject) => {
        queue.push({ group, size, resolve, reject });
        queuedItems += size;
        later();
      });
    },
    async drain(): Promise<void> {
      while (writing.size > 0 || queue.length > 0) {
        if (writing.size === 0) kick();
        await Promise.all(writing);
      }
    },
  };
}
