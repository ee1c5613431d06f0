/**
 * Leases (issue 18): background work that must run once across every Koban node — the hold sweeper, the
 * audit sealer, reconcilers, purges — runs on whichever node holds that job's lease in `platform_leases`.
 *
 * - **Expiry by the database's clock.** A lease lasts `ttlMs` from the statement that took or renewed it
 *   (`now()` on the server), so nodes whose clocks disagree still agree on who holds it. The holder keeps
 *   a local deadline measured from *before* it sent the statement, which can only be earlier than the
 *   server's: it stops working before another node may take over.
 * - **Renewal apart from the work.** Each job renews every `ttlMs / 3` on its own timer, whether or not the
 *   work is running, so a job whose period is longer than the lease (a purge every minute) is not taken
 *   over between two of its runs, and a long run keeps its lease. A node that is not the holder tries to
 *   take the lease on the same timer: a dead holder is replaced within `ttlMs + ttlMs / 3`, and the new
 *   holder runs the job at once (the dead one may have died before its run), then every period.
 * - **Fencing.** Every takeover increments `token`. Work that must not be committed by a node that lost its
 *   lease (a stalled process waking up after another took over) calls `fence.check(client)` inside its own
 *   transaction: it locks the lease row FOR SHARE and throws `LeaseLost` unless the row still names this
 *   node and token. A takeover updates that row, so it waits until the fenced transaction has ended —
 *   stale work either committed before the takeover or is refused.
 * - **Release on stop.** `stop()` waits for the running work and releases each lease, so another node takes
 *   over at its next try instead of after the expiry.
 *
 * Work that is safe on several nodes at once (claims with FOR UPDATE SKIP LOCKED, per-process listeners)
 * needs no lease; the lease avoids duplicated effort there and is required where it is not.
 */
import { performance } from 'node:perf_hooks';
import { assert } from './assert.ts';
import type { Database, Queryable } from './db/database.ts';

export class LeaseLost extends Error {
  readonly lease: string;
  readonly holder: string;
  constructor(lease: string, holder: string) {
    super(`lease ${lease} is no longer held by ${holder}: its work is not committed`);
    this.name = 'LeaseLost';
    this.lease = lease;
    this.holder = holder;
  }
}

const LEASE_NAME = /^[a-z][a-z0-9_.-]{0,63}$/;

/** Takes the lease if it is free or expired (a new token); null when another node holds it. */
export async function acquireLease(db: Queryable, name: string, holder: string, ttlMs: number): Promise<bigint | null> {
  assert(LEASE_NAME.test(name), 'lease name is a short lowercase identifier');
  assert(ttlMs >= 1, 'a lease lasts at least a millisecond');
  const result = await db.query<{ token: bigint }>(
    `insert into platform_leases (name, holder, token, acquired_at, renewed_at, expires_at)
     values ($1, $2, 1, now(), now(), now() + $3 * interval '1 millisecond')
     on conflict (name) do update set holder = excluded.holder, token = platform_leases.token + 1,
       acquired_at = now(), renewed_at = now(), expires_at = excluded.expires_at
     where platform_leases.expires_at <= now()
     returning token`, [name, holder, ttlMs]);
  return result.rows[0]?.token ?? null;
}

/** Extends a lease this holder still has under this token; false when it expired or was taken over. */
export async function renewLease(db: Queryable, name: string, holder: string, token: bigint, ttlMs: number): Promise<boolean> {
  const result = await db.query(
    `update platform_leases set renewed_at = now(), expires_at = now() + $4 * interval '1 millisecond'
     where name = $1 and holder = $2 and token = $3 and expires_at > now()`, [name, holder, token, ttlMs]);
  return result.rowCount === 1;
}

/** Gives the lease up at once (if still this holder's), so the next node need not wait for the expiry. */
export async function releaseLease(db: Queryable, name: string, holder: string, token: bigint): Promise<void> {
  await db.query(`update platform_leases set expires_at = least(expires_at, now()) where name = $1 and holder = $2 and token = $3`, [name, holder, token]);
}

/** What a leased job's work gets: the token it runs under, and the check that fences its commits. */
export interface LeaseFence {
  readonly lease: string;
  readonly token: bigint;
  /**
   * Inside the work's own transaction, before it commits what must not be committed twice: locks the
   * lease row until that transaction ends and throws `LeaseLost` unless this node still holds the lease
   * under this token.
   */
  check(client: Queryable): Promise<void>;
  /** This process's own view, for work that goes in several steps: false once the lease is lost or stopping. */
  stillHeld(): boolean;
}

export async function checkFence(client: Queryable, name: string, holder: string, token: bigint): Promise<void> {
  const row = (await client.query<{ holder: string; token: bigint }>('select holder, token from platform_leases where name = $1 for share', [name])).rows[0];
  if (row === undefined || row.holder !== holder || row.token !== token) throw new LeaseLost(name, holder);
}

export interface BackgroundJobs {
  /** Runs `work` every `intervalMs`, never twice at once, on the one node that holds the lease `name`. */
  run(name: string, intervalMs: number, work: (fence: LeaseFence) => Promise<unknown>): void;
  /** The jobs whose lease this node holds now. */
  held(): string[];
  /** Runs of each job on this node since start (for metrics and tests). */
  runs(): Record<string, number>;
  /** No new runs; waits for running work; releases the leases. */
  stop(): Promise<void>;
}

export interface BackgroundJobsOptions {
  /** This node's name (KOBAN_NODE_ID). Two live processes must never share it. */
  readonly holder: string;
  readonly ttlMs: number;
  readonly onError: (error: unknown, job: string) => void;
  /** Told when this node takes or loses a lease (a log line). */
  readonly onChange?: (job: string, change: 'acquired' | 'lost' | 'released', token: bigint) => void;
}

interface Job {
  readonly name: string;
  token: bigint | null;
  /** performance.now() before which this node may work under `token`. */
  validUntil: number;
  running: Promise<unknown> | null;
  /** The lease statement in flight; true when it took the lease. */
  leaseOp: Promise<boolean> | null;
  runs: number;
  readonly timers: NodeJS.Timeout[];
}

export function createBackgroundJobs(db: Database, options: BackgroundJobsOptions): BackgroundJobs {
  assert(options.ttlMs >= 30, 'a lease lasts long enough to be renewed');
  const jobs = new Map<string, Job>();
  let stopped = false;

  const holding = (job: Job): boolean => job.token !== null && performance.now() < job.validUntil && !stopped;

  /** Renews or takes the lease; one lease statement per job at a time. */
  const maintain = (job: Job): Promise<boolean> => {
    job.leaseOp ??= (async () => {
      if (stopped) return false;
      const sentAt = performance.now();
      if (job.token !== null) {
        if (await renewLease(db.pool, job.name, options.holder, job.token, options.ttlMs)) {
          job.validUntil = sentAt + options.ttlMs;
          return false;
        }
        options.onChange?.(job.name, 'lost', job.token);
        job.token = null;
      }
      const token = await acquireLease(db.pool, job.name, options.holder, options.ttlMs);
      if (token === null) return false;
      job.token = token;
      job.validUntil = sentAt + options.ttlMs;
      options.onChange?.(job.name, 'acquired', token);
      return true;
    })().catch((error: unknown) => {
      options.onError(error, `lease ${job.name}`);
      return false;
    }).finally(() => {
      job.leaseOp = null;
    });
    return job.leaseOp;
  };

  const fenceOf = (job: Job, token: bigint): LeaseFence => ({
    lease: job.name,
    token,
    check: (client) => checkFence(client, job.name, options.holder, token),
    stillHeld: () => holding(job) && job.token === token,
  });

  const tick = (job: Job, work: (fence: LeaseFence) => Promise<unknown>): void => {
    if (job.running !== null || !holding(job) || job.token === null) return;
    job.runs += 1;
    job.running = work(fenceOf(job, job.token)).catch((error: unknown) => options.onError(error, job.name)).finally(() => {
      job.running = null;
    });
  };

  return {
    run(name, intervalMs, work) {
      assert(!stopped, 'no job starts after stop');
      assert(!jobs.has(name), `one job per lease name (${name})`);
      const job: Job = { name, token: null, validUntil: 0, running: null, leaseOp: null, runs: 0, timers: [] };
      jobs.set(name, job);
      // A node that takes a lease over runs the job at once: the holder it replaces is gone, and may have died before its run.
      const keeper = setInterval(() => void maintain(job).then((acquired) => { if (acquired) tick(job, work); }), Math.max(10, Math.floor(options.ttlMs / 3)));
      const worker = setInterval(() => tick(job, work), intervalMs);
      keeper.unref();
      worker.unref();
      job.timers.push(keeper, worker);
      // A lone node starts working at once rather than a renewal period later.
      void maintain(job).then(() => tick(job, work));
    },
    held: () => [...jobs.values()].filter(holding).map((job) => job.name),
    runs: () => Object.fromEntries([...jobs.values()].map((job) => [job.name, job.runs])),
    async stop() {
      if (stopped) return;
      stopped = true;
      for (const job of jobs.values()) for (const timer of job.timers) clearInterval(timer);
      await Promise.all([...jobs.values()].map(async (job) => {
        await job.running;
        await job.leaseOp;
        const token = job.token;
        if (token === null) return;
        job.token = null;
        try {
          await releaseLease(db.pool, job.name, options.holder, token);
          options.onChange?.(job.name, 'released', token);
        } catch (error) {
          // The lease then expires by itself; another node takes over a little later.
          options.onError(error, `release of lease ${job.name}`);
        }
      }));
    },
  };
}
