/**
 * One rule for answering a copy of a top-up whose original is still running (issue 12): the copy
 * waits for the original's outcome, bounded, and otherwise answers `409 operation_in_progress` with
 * Retry-After — never a contradiction such as `step_up_required` (the original consumed the single-use
 * step-up grant both copies carry). The original claims its (customer, Idempotency-Key) in
 * `top_up_claims` for as long as it runs; the claim, not a lock on a held connection, is what the
 * copies see, so it works across processes and on PGlite's single connection.
 */
import type { Database } from '../platform/db/database.ts';
import { KobanError } from '../platform/errors.ts';

/** How long a copy waits for the original's outcome before answering operation_in_progress. */
export const IN_FLIGHT_WAIT_MS = 3_000;
const IN_FLIGHT_POLL_MS = 100;
/** A claim older than this belongs to a request whose process died: another copy may take it over. */
const CLAIM_STALE_SECONDS = 60;

export interface ClaimedRun<T> {
  /** The original's work; runs only in the copy that claimed the key. */
  readonly run: () => Promise<T>;
  /** The original's outcome if it is recorded by now (a replay), else null. */
  readonly outcome: () => Promise<T | null>;
}

export async function onceAtATime<T>(db: Database, customerId: string, idempotencyKey: string, work: ClaimedRun<T>): Promise<T> {
  if (!(await claim(db, customerId, idempotencyKey))) return waitForOriginal(work.outcome);
  try {
    return await work.run();
  } finally {
    // A failed release leaves a claim that goes stale after a minute; it never blocks a retry for longer.
    await db.pool.query('delete from top_up_claims where customer_id = $1 and idempotency_key = $2', [customerId, idempotencyKey]).catch(() => undefined);
  }
}

async function claim(db: Database, customerId: string, idempotencyKey: string): Promise<boolean> {
  const result = await db.pool.query(
    `insert into top_up_claims (customer_id, idempotency_key) values ($1, $2)
     on conflict (customer_id, idempotency_key) do update set claimed_at = now()
       where top_up_claims.claimed_at < now() - make_interval(secs => $3)
     returning 1`,
    [customerId, idempotencyKey, CLAIM_STALE_SECONDS]);
  return result.rowCount === 1;
}

async function waitForOriginal<T>(outcome: () => Promise<T | null>): Promise<T> {
  const deadline = Date.now() + IN_FLIGHT_WAIT_MS;
  for (;;) {
    const known = await outcome();
    if (known !== null) return known;
    if (Date.now() >= deadline) break;
    await new Promise((resolve) => setTimeout(resolve, IN_FLIGHT_POLL_MS));
  }
  throw new KobanError('operation_in_progress', { detail: 'a top-up with this Idempotency-Key is still being processed; retry it shortly for its outcome' });
}
