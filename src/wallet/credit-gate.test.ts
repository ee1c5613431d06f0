import { describe, expect, it } from 'vitest';
import { createCreditGate } from './credit-gate.ts';

describe('credit gate', () => {
  it('runs at most `concurrency` at once, queues up to the bound and refuses beyond it', async () => {
    const gate = createCreditGate(2, 1);
    let running = 0;
    let peak = 0;
    const releases: Array<() => void> = [];
    const work = () => gate.run(async () => {
      running++;
      peak = Math.max(peak, running);
      await new Promise<void>((resolve) => releases.push(resolve));
      running--;
    });
    const started = [work(), work(), work()];
    await expect(work()).rejects.toMatchObject({ code: 'service_unavailable' });
    while (releases.length > 0 || running > 0) {
      releases.shift()?.();
      await new Promise((resolve) => setImmediate(resolve));
    }
    await Promise.all(started);
    expect(peak).toBe(2);
  });
});
