// The OPA nonce store Koban runs (issue 11): every nonce is checked in this process's memory first; a money
// endpoint's nonce is then only remembered in memory and written to `opa_nonces` later — by the till payment
// batch's own transaction (the group commit, `writeWithin`), or by a flush at most a second later — while every
// other endpoint keeps today's durable claim (PgNonceStore: one statement and one commit per request).
//
// Why deferring is safe for the money endpoints (POST /v2/till/payments and the other payment, refund and
// cancel calls): a replay inside the clock window is refused by this node at once (memory), and by another node
// as soon as the nonce is written (one batch, or the next flush). A replay that lands on another node before
// that, or on this node after a crash lost its memory, gets what a retry gets: each money endpoint is idempotent
// by merchantPaymentId / merchantRefundId and a customer's code pays once, so it answers the original outcome
// (or "code used") and never moves money twice. That is not so for a non-money endpoint (an order created, a
// webhook endpoint registered), which is why those stay durable.
import type { Database, Queryable } from '../../platform/db/database.ts';
import { MemoryNonceStore, NonceStoreFullError, type NonceStore } from './nonce-store.ts';
import { PgNonceStore } from './pg-nonce-store.ts';

export interface PendingNonce {
  readonly apiKey: string;
  readonly nonce: string;
  readonly expiresAtSec: number;
}

/** Live nonces kept in memory: ~2,500 requests/s over the default 120 s window. Past it, claims go to the database. */
export const MEMORY_NONCES_MAX = 300_000;
/** Nonces waiting for a batch or a flush; past this, the claim flushes them itself (bounded memory). */
const PENDING_MAX = 20_000;

export class DeferringNonceStore implements NonceStore {
  readonly #db: Database;
  readonly #memory: MemoryNonceStore;
  readonly #durable: PgNonceStore;
  #pending: PendingNonce[] = [];

  constructor(db: Database, nowSec?: () => number, memoryMax = MEMORY_NONCES_MAX) {
    this.#db = db;
    this.#durable = new PgNonceStore(db, nowSec);
    this.#memory = new MemoryNonceStore({ maxEntries: memoryMax, ...(nowSec === undefined ? {} : { nowSec }) });
  }

  /** Nonces claimed in memory and not written yet. */
  get pendingCount(): number {
    return this.#pending.length;
  }

  async claim(apiKey: string, nonce: string, expiresAtSec: number, deferrable = false): Promise<boolean> {
    let inMemory: boolean;
    try {
      inMemory = await this.#memory.claim(apiKey, nonce, expiresAtSec);
    } catch (error) {
      // Memory full of live nonces: the database alone decides (never forget one: that would reopen a replay window).
      if (error instanceof NonceStoreFullError) return this.#durable.claim(apiKey, nonce, expiresAtSec);
      throw error;
    }
    if (!inMemory) return false;
    if (!deferrable) return this.#durable.claim(apiKey, nonce, expiresAtSec);
    this.#pending.push({ apiKey, nonce, expiresAtSec });
    if (this.#pending.length >= PENDING_MAX) await this.flush();
    return true;
  }

  /** Takes every nonce waiting to be written, for a caller that writes them in its transaction (`writeWithin`). */
  takePending(): PendingNonce[] {
    const taken = this.#pending;
    this.#pending = [];
    return taken;
  }

  /** Gives back nonces a rolled-back transaction did not write: the next batch or flush writes them. */
  giveBack(nonces: readonly PendingNonce[]): void {
    this.#pending.push(...nonces);
  }

  /**
   * Writes nonces in one statement on `client` (a payment batch's transaction). A row already there (another node
   * saw the same nonce: a replay, answered there like a retry) is kept, with the later expiry.
   */
  async writeWithin(client: Queryable, nonces: readonly PendingNonce[]): Promise<void> {
    if (nonces.length === 0) return;
    // One row per nonce (an upsert may not touch a row twice), the later expiry kept.
    const unique = new Map<string, PendingNonce>();
    for (const n of nonces) {
      const key = `${n.apiKey.length}:${n.apiKey}${n.nonce}`;
      if ((unique.get(key)?.expiresAtSec ?? -Infinity) < n.expiresAtSec) unique.set(key, n);
    }
    const rows = [...unique.values()];
    await client.query({
      name: 'opa_nonces_write_deferred',
      text: `insert into opa_nonces (api_key, nonce, expires_at)
             select k, n, to_timestamp(e) from unnest($1::text[], $2::text[], $3::bigint[]) as t(k, n, e)
             on conflict (api_key, nonce) do update set expires_at = greatest(opa_nonces.expires_at, excluded.expires_at)`,
      values: [rows.map((n) => n.apiKey), rows.map((n) => n.nonce), rows.map((n) => n.expiresAtSec)],
    });
  }

  /** Writes the nonces no batch took (the maintenance loop calls it every second); answers how many. */
  async flush(): Promise<number> {
    const nonces = this.takePending();
    try {
      await this.writeWithin(this.#db.pool, nonces);
    } catch (error) {
      this.giveBack(nonces);
      throw error;
    }
    return nonces.length;
  }

  sweep(): Promise<number> {
    return this.#durable.sweep();
  }
}
