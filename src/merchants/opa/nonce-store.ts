// Remembers which (apiKey, nonce) pairs have been seen while their epoch is still acceptable, so a captured
// OPA request cannot be replayed inside the clock window. The PostgreSQL design is in nonce-store.sql.

export interface NonceStore {
  /**
   * True on first use of (apiKey, nonce); false if it was claimed before and has not expired. `deferrable`: the
   * request is a money endpoint's, idempotent on its own, whose nonce may be written later (deferring-nonce-store.ts).
   */
  claim(apiKey: string, nonce: string, expiresAtSec: number, deferrable?: boolean): Promise<boolean>;
}

/** Thrown rather than forgetting live nonces: evicting one early would reopen a replay window. */
export class NonceStoreFullError extends Error {
  override name = 'NonceStoreFullError';
}

export const NONCE_STORE_DEFAULT_MAX_ENTRIES = 100_000;
// Each claim looks at this many of the oldest entries, so expired ones leave at the pace new ones arrive.
const SWEEP_BATCH = 16;

export type MemoryNonceStoreOptions = {
  maxEntries?: number;
  nowSec?: () => number;
};

/** For one process (development, tests, a single node): not shared between instances. */
export class MemoryNonceStore implements NonceStore {
  readonly #entries = new Map<string, number>(); // key -> expiresAtSec, in insertion order
  readonly #maxEntries: number;
  readonly #nowSec: () => number;

  constructor(options: MemoryNonceStoreOptions = {}) {
    this.#maxEntries = options.maxEntries ?? NONCE_STORE_DEFAULT_MAX_ENTRIES;
    this.#nowSec = options.nowSec ?? (() => Math.floor(Date.now() / 1000));
    if (!Number.isSafeInteger(this.#maxEntries) || this.#maxEntries < 1) {
      throw new RangeError(`maxEntries must be a positive integer, got ${this.#maxEntries}`);
    }
  }

  get size(): number {
    return this.#entries.size;
  }

  async claim(apiKey: string, nonce: string, expiresAtSec: number): Promise<boolean> {
    const nowSec = this.#nowSec();
    // Length-prefixed, so no (apiKey, nonce) pair can spell another pair's key whatever characters they hold.
    const key = `${apiKey.length}:${apiKey}${nonce}`;
    const previousExpiresAtSec = this.#entries.get(key);
    if (previousExpiresAtSec !== undefined && previousExpiresAtSec > nowSec) return false;

    this.#sweep(nowSec, SWEEP_BATCH);
    if (previousExpiresAtSec === undefined && this.#entries.size >= this.#maxEntries) {
      this.#sweep(nowSec, this.#entries.size);
    }
    if (previousExpiresAtSec === undefined && this.#entries.size >= this.#maxEntries) {
      throw new NonceStoreFullError(`nonce store holds ${this.#maxEntries} live nonces`);
    }
    // Re-insert so the Map's order stays close to expiry order for the incremental sweep.
    this.#entries.delete(key);
    this.#entries.set(key, expiresAtSec);
    return true;
  }

  // Looks at up to `limit` entries from the oldest; bounded by the map size, which is bounded by maxEntries.
  #sweep(nowSec: number, limit: number): void {
    let looked = 0;
    for (const [key, expiresAtSec] of this.#entries) {
      if (looked >= limit) break;
      looked += 1;
      if (expiresAtSec <= nowSec) this.#entries.delete(key);
    }
  }
}
