/**
 * Leases for background work (src/platform/leases.ts) on a real PostgreSQL, two pools standing in for two
 * nodes: one holder at a time, a takeover bumps the fencing token, a node that lost its lease can commit
 * nothing fenced (its check throws, or the takeover waits until its transaction has ended), and a job runs
 * on one node only until that node dies, then on the other.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/platform/db/database.ts';
import { acquireLease, checkFence, createBackgroundJobs, LeaseLost, releaseLease, renewLease } from '../../src/platform/leases.ts';
import { createTestDatabase, openAnotherConnection, type TestDatabase } from '../support/database.ts';

let db: TestDatabase;
let other: Database;

beforeAll(async () => {
  db = await createTestDatabase();
  other = await openAnotherConnection(db, 5);
});
afterAll(async () => {
  await other.close();
  await db.close();
});

/** Waits are on the event itself; this bound only stops a broken run. */
const BOUND = { timeout: 30_000, interval: 20 };
/** Long enough that a loaded machine's pauses never let a live holder's lease lapse. */
const TTL_MS = 3_000;

async function expired(name: string): Promise<boolean> {
  return (await db.pool.query<{ expired: boolean }>('select expires_at <= now() as expired from platform_leases where name = $1', [name])).rows[0]?.expired === true;
}

describe('lease statements', () => {
  it('one holder at a time; release hands over at once with a higher token; the old holder can neither renew nor pass its fence', async () => {
    const a = await acquireLease(db.pool, 'test.handover', 'node-a', 60_000);
    expect(a).toBe(1n);
    expect(await acquireLease(other.pool, 'test.handover', 'node-b', 60_000)).toBeNull();
    expect(await renewLease(db.pool, 'test.handover', 'node-a', 1n, 60_000)).toBe(true);
    // A renewal under someone else's name or an old token is refused.
    expect(await renewLease(other.pool, 'test.handover', 'node-b', 1n, 60_000)).toBe(false);
    await releaseLease(db.pool, 'test.handover', 'node-a', 1n);
    const b = await acquireLease(other.pool, 'test.handover', 'node-b', 60_000);
    expect(b).toBe(2n);
    expect(await renewLease(db.pool, 'test.handover', 'node-a', 1n, 60_000)).toBe(false);
    await expect(checkFence(db.pool, 'test.handover', 'node-a', 1n)).rejects.toBeInstanceOf(LeaseLost);
    await expect(checkFence(other.pool, 'test.handover', 'node-b', 2n)).resolves.toBeUndefined();
    // A late release by the old holder does not free the new holder's lease.
    await releaseLease(db.pool, 'test.handover', 'node-a', 1n);
    expect(await acquireLease(db.pool, 'test.handover', 'node-a', 60_000)).toBeNull();
  });

  it('an expired lease is taken over by the other node without any release', async () => {
    expect(await acquireLease(db.pool, 'test.expiry', 'node-a', 150)).toBe(1n);
    await expect.poll(() => expired('test.expiry'), BOUND).toBe(true);
    expect(await acquireLease(other.pool, 'test.expiry', 'node-b', 60_000)).toBe(2n);
    expect(await renewLease(db.pool, 'test.expiry', 'node-a', 1n, 60_000)).toBe(false);
  });

  it('a takeover waits for the old holder\'s fenced transaction to end: stale work is committed before it, never after', async () => {
    expect(await acquireLease(db.pool, 'test.fence', 'node-a', 150)).toBe(1n);
    const client = await db.pool.connect();
    try {
      await client.query('begin');
      await checkFence(client, 'test.fence', 'node-a', 1n);
      await expect.poll(() => expired('test.fence'), BOUND).toBe(true);
      let takenOver = false;
      const takeover = acquireLease(other.pool, 'test.fence', 'node-b', 60_000).then((token) => {
        takenOver = true;
        return token;
      });
      // The takeover is waiting on the row lock the fence holds (seen in pg_stat_activity, not timed).
      await expect.poll(async () => (await db.pool.query<{ waiting: number }>(
        `select count(*)::int as waiting from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock' and query like '%platform_leases%'`)).rows[0]?.waiting, BOUND).toBe(1);
      expect(takenOver).toBe(false);
      await client.query('commit');
      expect(await takeover).toBe(2n);
    } finally {
      client.release();
    }
    // After the takeover the old holder's next fenced transaction is refused.
    const late = await db.pool.connect();
    try {
      await late.query('begin');
      await expect(checkFence(late, 'test.fence', 'node-a', 1n)).rejects.toBeInstanceOf(LeaseLost);
      await late.query('rollback');
    } finally {
      late.release();
    }
  });
});

describe('background jobs on two nodes', () => {
  it('runs a job on one node only, keeps it there past the lease length, and moves it when the holder dies', async () => {
    const third = await openAnotherConnection(db, 3);
    const nodes = [
      { name: 'node-a', db: other, runs: 0 },
      { name: 'node-b', db: third, runs: 0 },
    ];
    const jobs = nodes.map((node) => {
      const jobsOfNode = createBackgroundJobs(node.db, { holder: node.name, ttlMs: TTL_MS, onError: () => undefined });
      jobsOfNode.run('test.once', 25, async (fence) => {
        // Each run is fenced like work that matters: it commits only while this node still holds the lease.
        const client = await node.db.pool.connect();
        try {
          await client.query('begin');
          await fence.check(client);
          await client.query('commit');
          node.runs += 1;
        } catch (error) {
          await client.query('rollback');
          throw error;
        } finally {
          client.release();
        }
      });
      return jobsOfNode;
    });
    // Until the holder has kept the lease past its first expiry by renewing it: the other node never runs it.
    await expect.poll(async () => (await db.pool.query<{ kept: boolean }>(
      `select renewed_at > acquired_at + $2 * interval '1 millisecond' as kept from platform_leases where name = $1`, ['test.once', TTL_MS])).rows[0]?.kept, BOUND).toBe(true);
    const holder = nodes[0]!.runs > 0 ? 0 : 1;
    const survivor = 1 - holder;
    expect(nodes[survivor]!.runs).toBe(0);
    expect(jobs[holder]!.held()).toEqual(['test.once']);
    expect(jobs[survivor]!.held()).toEqual([]);
    // The holder dies: its connections go and it never releases anything.
    await nodes[holder]!.db.close();
    await expect.poll(() => nodes[survivor]!.runs, BOUND).toBeGreaterThan(5);
    expect(jobs[survivor]!.held()).toEqual(['test.once']);
    const row = (await db.pool.query<{ holder: string; token: bigint }>('select holder, token from platform_leases where name = $1', ['test.once'])).rows[0];
    expect(row).toEqual({ holder: nodes[survivor]!.name, token: 2n });
    await jobs[holder]!.stop();
    await jobs[survivor]!.stop();
    // Stopping releases: the lease is free at once.
    expect(await expired('test.once')).toBe(true);
  });
});
