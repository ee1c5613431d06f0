// Per-API-key rate limits on the merchant API (PayPay answers `429` with resultInfo `RATE_LIMIT`), as token buckets.
// Two kinds (src/merchants/README.md "Rate limits per API key"):
// - MemoryRateLimiter (the default): a bucket per credential in this process's memory, holding this node's share
//   of the key's limit (perSecond and burst divided by KOBAN_OPA_RATE_NODES, the Koban processes the balancer
//   spreads a merchant over). No database statement per request (issue 11: the take was a statement and a commit
//   per request on one hot row per merchant).
// - PgRateLimiter (KOBAN_OPA_RATE_SHARED=true): one bucket per credential in PostgreSQL (table opa_rate_buckets,
//   migration 0191) that every process takes from, exact across processes however the balancer spreads the load,
//   at a statement per request.
// Either refills for the time elapsed and takes a token only when one is there; a refused request takes nothing.
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

/**
 * This node's share of each key's limit, in memory. With `nodes` processes behind a balancer that spreads a
 * merchant's requests evenly (round robin, least connections), the sum of the shares is the key's limit; a
 * merchant whose requests all land on one node gets that node's share only. A share's burst is at least one
 * token, so a burst smaller than the number of nodes can be exceeded by up to nodes − burst requests.
 */
export class MemoryRateLimiter implements RateLimiter {
  readonly #defaultLimit: RateLimit;
  readonly #nodes: number;
  readonly #nowMs: () => number;
  readonly #buckets = new Map<string, { tokens: number; refilledAtMs: number }>();

  constructor(defaultLimit: RateLimit, nodes: number, nowMs: () => number = Date.now) {
    if (!Number.isInteger(nodes) || nodes < 1) throw new Error('a rate limit is shared by a whole number of nodes, at least one');
    this.#defaultLimit = defaultLimit;
    this.#nodes = nodes;
    this.#nowMs = nowMs;
  }

  take(credentialId: string, ownLimit: RateLimit | null): Promise<RateDecision> {
    const limit = ownLimit ?? this.#defaultLimit;
    const perSecond = limit.perSecond / this.#nodes;
    const burst = Math.max(1, limit.burst / this.#nodes);
    const nowMs = this.#nowMs();
    const bucket = this.#buckets.get(credentialId) ?? { tokens: burst, refilledAtMs: nowMs };
    // A key's limit may have changed since the bucket was made: never hold more than the current burst.
    const tokens = Math.min(burst, bucket.tokens + Math.max(0, nowMs - bucket.refilledAtMs) / 1000 * perSecond);
    const refilledAtMs = Math.max(bucket.refilledAtMs, nowMs);
    if (tokens < 1) {
      this.#buckets.set(credentialId, { tokens, refilledAtMs });
      // Fewer than one token is left, so one is back within 1/perSecond (this node's share) seconds.
      return Promise.resolve({ allowed: false, retryAfterSec: Math.max(1, Math.ceil(1 / perSecond)) });
    }
    this.#buckets.set(credentialId, { tokens: tokens - 1, refilledAtMs });
    return Promise.resolve({ allowed: true });
  }
}
