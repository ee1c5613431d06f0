// Per-API-key rate limits on the merchant API (PayPay answers `429` with resultInfo `RATE_LIMIT`).
// A token bucket per credential in PostgreSQL (table opa_rate_buckets, migration 0191): every Koban process
// takes from the same bucket, so the limit holds across processes. One statement refills the bucket for the
// time elapsed and takes a token only when one is there; a refused request takes nothing.
import type { Database } from '../../platform/db/database.ts';

export interface RateLimit {
  readonly perSecond: number;
  readonly burst: number;
}

export type RateDecision = { readonly allowed: true } | { readonly allowed: false; readonly retryAfterSec: number };

export interface RateLimiter {
  /** `limit` null: the default (KOBAN_OPA_RATE_PER_SECOND, KOBAN_OPA_RATE_BURST). */
  take(credentialId: string, limit: RateLimit | null): Promise<RateDecision>;
}

export class PgRateLimiter implements RateLimiter {
  readonly #db: Database;
  readonly #defaultLimit: RateLimit;
  readonly #nowMs: () => number;

  constructor(db: Database, defaultLimit: RateLimit, nowMs: () => number = Date.now) {
    this.#db = db;
    this.#defaultLimit = defaultLimit;
    this.#nowMs = nowMs;
  }

  async take(credentialId: string, ownLimit: RateLimit | null): Promise<RateDecision> {
    const limit = ownLimit ?? this.#defaultLimit;
    // The row lock of the upsert serialises concurrent takes on one key; other keys never wait. The take is
    // commit-asynchronous (synchronous_commit off for this statement's transaction): the lock is held until
    // the commit, and a WAL flush per request on one hot row made every request of a busy merchant wait for
    // the fsyncs of all those before it (3–13 ms per request at 16–64 callers, issue 11's profile). A crash
    // forgets at most the last fraction of a second of takes, which only hands back a few tokens.
    const result = await this.#db.pool.query({
      name: 'opa_rate_take',
      text: `insert into opa_rate_buckets as b (credential_id, tokens, refilled_at)
             select $1, $2::float8 - 1, to_timestamp($4::float8 / 1000) from (select set_config('synchronous_commit', 'off', true)) as quiet
             on conflict (credential_id) do update
               set tokens = least($2::float8, b.tokens + greatest(0, $4::float8 / 1000 - extract(epoch from b.refilled_at)) * $3::float8) - 1,
                   refilled_at = greatest(b.refilled_at, to_timestamp($4::float8 / 1000))
               where least($2::float8, b.tokens + greatest(0, $4::float8 / 1000 - extract(epoch from b.refilled_at)) * $3::float8) >= 1
             returning 1`,
      values: [credentialId, limit.burst, limit.perSecond, this.#nowMs()],
    });
    if (result.rowCount === 1) return { allowed: true };
    // Fewer than one token is left, so one is back within 1/perSecond seconds: an honest upper bound.
    return { allowed: false, retryAfterSec: Math.max(1, Math.ceil(1 / limit.perSecond)) };
  }
}
