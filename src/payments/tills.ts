/**
 * Terminal → store → merchant → receivable account, and the names and category that go with them, in
 * one query and then from a bounded per-process cache. Every payment needs them; they change rarely.
 *
 * Why caching is safe: a merchant's receivable account is written once when the merchant is created
 * and never changed, so money can never be routed to a stale account. What can change — a store
 * closing, a terminal being disabled, a renamed merchant or a new category code — is seen by this
 * process at most `TILL_CACHE_TTL_MS` late (the same bound as a revoked API key, merchants/credentials.ts),
 * or at once after `invalidate()`. Only positive answers are cached: a store or terminal that was refused
 * is read again on every request, so a newly opened one works immediately.
 */
import type pg from 'pg';
import { KobanError } from '../platform/errors.ts';

export const TILL_CACHE_TTL_MS = 5_000;
export const TILL_CACHE_MAX = 10_000;

export interface MerchantFacts {
  readonly merchantId: string;
  readonly merchantName: string;
  readonly categoryCode: string;
  readonly receivableAccountId: string;
  /**
   * The ledger the receivable is on, so the ledger every payment transfer of this merchant is on: Ledgers.JPY, or
   * Ledgers.TEST_JPY for a test twin (merchants/test-twin.ts). Safe to cache: an account's ledger never changes.
   */
  readonly ledger: number;
}

export interface TillFacts extends MerchantFacts {
  readonly storeId: string;
  readonly storeName: string;
  readonly terminalId: string | null;
}

export interface Tills {
  /** The store must be the merchant's and open; the terminal, when given, in that store and enabled. */
  require(merchantId: string, storeId: string, terminalId: string | null): Promise<TillFacts>;
  /** A merchant's receivable account, name and category (the merchant exists: a payment names it). */
  merchant(merchantId: string): Promise<MerchantFacts>;
  /** Forgets every cached answer (after a change to merchants, stores or terminals made in this process). */
  invalidate(): void;
}

interface TillRow { store_status: string; store_name: string; merchant_name: string; category_code: string; receivable_account_id: string; ledger: number; terminal_status: string | null }
interface MerchantRow { name: string; category_code: string; receivable_account_id: string; ledger: number }

export function createTills(pool: pg.Pool, now: () => Date): Tills {
  const cache = new Map<string, { facts: TillFacts | MerchantFacts; expiresAtMs: number }>();
  const cached = (key: string): TillFacts | MerchantFacts | null => {
    const entry = cache.get(key);
    if (entry === undefined) return null;
    if (entry.expiresAtMs > now().getTime()) return entry.facts;
    cache.delete(key);
    return null;
  };
  const remember = (key: string, facts: TillFacts | MerchantFacts): void => {
    // Bounded: the oldest entry (Map keeps insertion order) makes room.
    if (cache.size >= TILL_CACHE_MAX) cache.delete(cache.keys().next().value as string);
    cache.set(key, { facts, expiresAtMs: now().getTime() + TILL_CACHE_TTL_MS });
  };

  return {
    async require(merchantId, storeId, terminalId) {
      const key = `t|${merchantId}|${storeId}|${terminalId ?? ''}`;
      const hit = cached(key);
      if (hit !== null) return hit as TillFacts;
      const result = await pool.query<TillRow>({
        name: 'payments_till_facts',
        text: `select s.status as store_status, s.name as store_name, m.name as merchant_name, m.category_code, m.receivable_account_id, ra.ledger, t.status as terminal_status
               from stores s join merchants m on m.id = s.merchant_id join accounts ra on ra.id = m.receivable_account_id left join terminals t on t.id = $3::uuid and t.store_id = s.id
               where s.id = $1 and s.merchant_id = $2`,
        values: [storeId, merchantId, terminalId],
      });
      const row = result.rows[0];
      if (row?.store_status !== 'active') throw new KobanError('store_not_found', { errors: [{ pointer: '/body/storeId', message: 'is not an open store of this merchant' }] });
      if (terminalId !== null && row.terminal_status !== 'active') {
        throw new KobanError('terminal_not_found', { errors: [{ pointer: '/body/terminalId', message: 'is not an enabled terminal of this store' }] });
      }
      const facts: TillFacts = {
        merchantId, merchantName: row.merchant_name, categoryCode: row.category_code, receivableAccountId: row.receivable_account_id, ledger: row.ledger,
        storeId, storeName: row.store_name, terminalId,
      };
      remember(key, facts);
      return facts;
    },
    async merchant(merchantId) {
      const key = `m|${merchantId}`;
      const hit = cached(key);
      if (hit !== null) return hit;
      const result = await pool.query<MerchantRow>({
        name: 'payments_merchant_facts',
        text: 'select m.name, m.category_code, m.receivable_account_id, ra.ledger from merchants m join accounts ra on ra.id = m.receivable_account_id where m.id = $1',
        values: [merchantId],
      });
      const row = result.rows[0];
      if (row === undefined) throw new KobanError('merchant_not_found');
      const facts: MerchantFacts = { merchantId, merchantName: row.name, categoryCode: row.category_code, receivableAccountId: row.receivable_account_id, ledger: row.ledger };
      remember(key, facts);
      return facts;
    },
    invalidate() {
      cache.clear();
    },
  };
}
