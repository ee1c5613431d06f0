// The PostgreSQL NonceStore (design and reasoning: nonce-store.sql; table: migrations/0030_merchant_api.sql).
// Shared by every Koban process, so a request replayed to another node is refused too.
import type { Database } from '../../platform/db/database.ts';
import type { NonceStore } from './nonce-store.ts';

/** Rows removed per sweep statement: each transaction and its locks stay short. */
export const NONCE_SWEEP_BATCH = 5000;
/** Sweep statements per run: a long backlog is worked off over several runs, never in one unbounded loop. */
const NONCE_SWEEP_STATEMENTS_MAX = 20;

export class PgNonceStore implements NonceStore {
  readonly #db: Database;
  /**
   * The clock the OPA server checks a request's timestamp with (server.ts; both default to the system
   * clock): a nonce's expiry comes from that timestamp, so it is judged by the same clock, not the database's now().
   */
  readonly #nowSec: () => number;

  constructor(db: Database, nowSec: () => number = () => Math.floor(Date.now() / 1000)) {
    this.#db = db;
    this.#nowSec = nowSec;
  }

  async claim(apiKey: string, nonce: string, expiresAtSec: number): Promise<boolean> {
    // An expired row with the same key is taken over in the same statement, so a slow sweeper never
    // blocks a fresh request; RETURNING gives a row only to the first of two concurrent claims.
    const result = await this.#db.pool.query({
      name: 'opa_nonce_claim',
      text: `insert into opa_nonces (api_key, nonce, expires_at) values ($1, $2, to_timestamp($3))
             on conflict (api_key, nonce) do update set expires_at = excluded.expires_at
               where opa_nonces.expires_at <= to_timestamp($4)
             returning 1`,
      values: [apiKey, nonce, expiresAtSec, this.#nowSec()],
    });
    return result.rowCount === 1;
  }

  /** Deletes expired nonces; returns how many. */
  async sweep(): Promise<number> {
    let removed = 0;
    for (let i = 0; i < NONCE_SWEEP_STATEMENTS_MAX; i++) {
      const result = await this.#db.pool.query(
        `delete from opa_nonces where ctid = any (array(
           select ctid from opa_nonces where expires_at <= to_timestamp($2) order by expires_at limit $1))`, [NONCE_SWEEP_BATCH, this.#nowSec()]);
      removed += result.rowCount ?? 0;
      if ((result.rowCount ?? 0) < NONCE_SWEEP_BATCH) break;
    }
    return removed;
  }
}
