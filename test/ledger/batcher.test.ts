/**
 * The group-commit batcher on its own (no database): which groups share a batch. The ledger's
 * throughput on a hot merchant rests on these rules (README, bench:ledger); its safety does not.
 */
import { describe, expect, it } from 'vitest';
import { createBatcher } from '../../src/ledger/batcher.ts';

/** A batcher whose writes wait for the test to finish them, recording each batch's groups. */
function recordingBatcher(options: { gatherTurn: boolean; splitIdle?: boolean; inFlightMax?: number; itemsMax?: number }) {
  const batches: number[][][] = [];
  const finishers: Array<() => void> = [];
  const batcher = createBatcher<number[], number>({
    itemsMax: options.itemsMax ?? 1000,
    queuedItemsMax: 10_000,
    inFlightMax: options.inFlightMax ?? 2,
    gatherTurn: options.gatherTurn,
    splitIdle: options.splitIdle ?? false,
    sizeOf: (group) => group.length,
    write: (groups) => {
      batches.push(groups);
      return new Promise((resolve) => finishers.push(() => resolve(groups.map((group) => group.reduce((a, b) => a + b, 0)))));
    },
  });
  const finishAll = (): void => {
    for (const finish of finishers.splice(0)) finish();
  };
  return { batcher, batches, finishAll };
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('ledger batcher', () => {
  it('without turn gathering, the first group takes a free slot alone (the bimodal batches gathering removes)', async () => {
    const { batcher, batches, finishAll } = recordingBatcher({ gatherTurn: false });
    const answers = [batcher.submit([1]), batcher.submit([2]), batcher.submit([3])];
    expect(batches).toEqual([[[1]], [[2]]]);
    finishAll();
    await nextTurn();
    finishAll();
    expect(await Promise.all(answers)).toEqual([1, 2, 3]);
  });

  it('gathers every group submitted in one event-loop turn into one batch, and still writes a lone group without a timer', async () => {
    const { batcher, batches, finishAll } = recordingBatcher({ gatherTurn: true });
    const answers = [batcher.submit([1]), batcher.submit([2, 3]), batcher.submit([4])];
    expect(batches).toEqual([]);
    await nextTurn();
    expect(batches).toEqual([[[1], [2, 3], [4]]]);
    finishAll();
    expect(await Promise.all(answers)).toEqual([1, 5, 4]);
    const lone = batcher.submit([7]);
    await nextTurn();
    expect(batches).toHaveLength(2);
    finishAll();
    expect(await lone).toBe(7);
  });

  it('gathers the groups that a completed batch releases, instead of letting the first one go alone', async () => {
    const { batcher, batches, finishAll } = recordingBatcher({ gatherTurn: true });
    // Callers that resubmit as soon as their answer arrives, as the benchmark's do.
    const caller = async (value: number, rounds: number) => {
      for (let round = 0; round < rounds; round++) await batcher.submit([value]);
    };
    const callers = [1, 2, 3, 4].map((value) => caller(value, 2));
    await nextTurn();
    expect(batches).toHaveLength(1);
    finishAll();
    // The callers resubmit a few promise hops after their answers: wait for the batch they start.
    while (batches.length < 2) await nextTurn();
    finishAll();
    await Promise.all(callers);
    expect(batches.map((batch) => batch.length)).toEqual([4, 4]);
  });

  it('shares a full queue between the free slots of an idle batcher, never splitting a group', async () => {
    const { batcher, batches, finishAll } = recordingBatcher({ gatherTurn: true, splitIdle: true });
    const groups = Array.from({ length: 40 }, (_, index) => [index, index]);
    const answers = groups.map((group) => batcher.submit(group));
    await nextTurn();
    expect(batches.map((batch) => batch.length)).toEqual([20, 20]);
    expect(batches.flat()).toEqual(groups);
    finishAll();
    expect(await Promise.all(answers)).toEqual(groups.map(([a, b]) => (a ?? 0) + (b ?? 0)));
  });

  it('keeps a small queue in one batch, and does not split while a batch is being written', async () => {
    const { batcher, batches, finishAll } = recordingBatcher({ gatherTurn: true, splitIdle: true });
    const small = Array.from({ length: 10 }, (_, index) => batcher.submit([index]));
    await nextTurn();
    expect(batches.map((batch) => batch.length)).toEqual([10]);
    const large = Array.from({ length: 100 }, (_, index) => batcher.submit([index]));
    await nextTurn();
    expect(batches.map((batch) => batch.length)).toEqual([10, 100]);
    finishAll();
    await Promise.all([...small, ...large]);
  });

  it('drain waits for groups still queued for the end of the turn', async () => {
    const { batcher, batches, finishAll } = recordingBatcher({ gatherTurn: true });
    const answer = batcher.submit([5]);
    const drained = batcher.drain();
    expect(batches).toHaveLength(1);
    finishAll();
    await drained;
    expect(await answer).toBe(5);
  });
});
