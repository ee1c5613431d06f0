/**
 * Per-API-key rate limits on the merchant API: PayPay's `429 RATE_LIMIT` with `Retry-After`. The listener's default is
 * each node's share in memory (MemoryRateLimiter); KOBAN_OPA_RATE_SHARED=true takes from one bucket in PostgreSQL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiCredential, setApiCredentialRateLimit, type IssuedCredential } from '../../src/merchants/credentials.ts';
import { MemoryRateLimiter, PgRateLimiter } from '../../src/merchants/opa/rate-limit.ts';
import { opa, resultCode, startHarness, type Harness } from './support.ts';

let h: Harness;
let other: IssuedCredential;

beforeAll(async () => {
  h = await startHarness();
  other = await createApiCredential(h.db, h.module.box, { merchantId: h.merchant.merchantId });
});
afterAll(async () => h.close());

const lookUpUnknownCode = (credential?: { apiKey: string; apiSecret: string }) =>
  opa(h, { method: 'GET', url: '/v2/codes/payments/no-such-payment', ...(credential === undefined ? {} : { credential }) });

describe('rate limit per API key on the OPA listener', () => {
  it('answers a burst beyond one key\'s limit with 429 RATE_LIMIT and Retry-After, while another key of the same merchant is unaffected', async () => {
    const limited = await createApiCredential(h.db, h.module.box, { merchantId: h.merchant.merchantId });
    await setApiCredentialRateLimit(h.db, limited.credentialId, { perSecond: 1, burst: 3 });
    const answers = await Promise.all(Array.from({ length: 12 }, () => lookUpUnknownCode(limited)));
    const refused = answers.filter((a) => a.statusCode === 429);
    // Three from the burst, plus at most what refilled while the twelve ran: most are refused.
    expect(refused.length).toBeGreaterThanOrEqual(6);
    for (const answer of refused) {
      expect(resultCode(answer)).toBe('RATE_LIMIT');
      expect(answer.headers['retry-after']).toBe('1');
      expect(answer.headers['x-request-id']).toBeDefined();
    }
    const allowed = answers.filter((a) => a.statusCode !== 429);
    expect(allowed.length).toBeGreaterThanOrEqual(3);
    for (const answer of allowed) expect(resultCode(answer)).not.toBe('RATE_LIMIT');
    const unaffected = await lookUpUnknownCode(other);
    expect(unaffected.statusCode).not.toBe(429);
    expect(resultCode(unaffected)).not.toBe('RATE_LIMIT');
  });

  it('does not let a forger spend a merchant\'s allowance: unsigned or badly signed requests take no token', async () => {
    const victim = await createApiCredential(h.db, h.module.box, { merchantId: h.merchant.merchantId });
    await setApiCredentialRateLimit(h.db, victim.credentialId, { perSecond: 1, burst: 2 });
    const forged = await Promise.all(Array.from({ length: 8 }, () => lookUpUnknownCode({ apiKey: victim.apiKey, apiSecret: 'not-the-secret' })));
    expect(forged.every((a) => resultCode(a) === 'UNAUTHORIZED')).toBe(true);
    const genuine = await lookUpUnknownCode(victim);
    expect(resultCode(genuine)).not.toBe('RATE_LIMIT');
  });

  it('refuses an out-of-range limit and changes nothing', async () => {
    await expect(setApiCredentialRateLimit(h.db, other.credentialId, { perSecond: 0, burst: 5 })).rejects.toThrow(/perSecond/);
    const row = await h.db.pool.query('select rate_limit_per_second from merchant_api_credentials where id = $1', [other.credentialId]);
    expect(row.rows[0]?.rate_limit_per_second).toBeNull();
  });
});

describe('the PostgreSQL token bucket', () => {
  it('is one bucket for every process: two limiters on one database share a key\'s burst, and it refills with time', async () => {
    const credential = await createApiCredential(h.db, h.module.box, { merchantId: h.merchant.merchantId });
    let nowMs = Date.UTC(2026, 0, 1);
    const processA = new PgRateLimiter(h.db, { perSecond: 100, burst: 100 }, () => nowMs);
    const processB = new PgRateLimiter(h.db, { perSecond: 100, burst: 100 }, () => nowMs);
    const limit = { perSecond: 2, burst: 5 };
    const decisions = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? processA : processB).take(credential.credentialId, limit)));
    expect(decisions.filter((d) => d.allowed)).toHaveLength(5);
    expect(decisions.find((d) => !d.allowed)).toEqual({ allowed: false, retryAfterSec: 1 });
    nowMs += 500; // half a second at two a second: one token back
    expect((await processB.take(credential.credentialId, limit)).allowed).toBe(true);
    expect((await processA.take(credential.credentialId, limit)).allowed).toBe(false);
  });

  it('uses the default limit for a key without its own', async () => {
    const credential = await createApiCredential(h.db, h.module.box, { merchantId: h.merchant.merchantId });
    const limiter = new PgRateLimiter(h.db, { perSecond: 1, burst: 2 }, () => Date.UTC(2026, 0, 1));
    const decisions = [];
    for (let i = 0; i < 3; i++) decisions.push((await limiter.take(credential.credentialId, null)).allowed);
    expect(decisions).toEqual([true, true, false]);
  });
});

describe('the in-memory token bucket (a node\'s share)', () => {
  it('gives one node the whole limit: the burst, then refusals with Retry-After, then a token back per 1/perSecond', async () => {
    let nowMs = Date.UTC(2026, 0, 1);
    const limiter = new MemoryRateLimiter({ perSecond: 100, burst: 100 }, 1, () => nowMs);
    const limit = { perSecond: 2, burst: 5 };
    const decisions = await Promise.all(Array.from({ length: 8 }, () => limiter.take('key-a', limit)));
    expect(decisions.filter((d) => d.allowed)).toHaveLength(5);
    expect(decisions.at(-1)).toEqual({ allowed: false, retryAfterSec: 1 });
    expect((await limiter.take('key-b', limit)).allowed).toBe(true);
    nowMs += 500; // half a second at two a second: one token back
    expect((await limiter.take('key-a', limit)).allowed).toBe(true);
    expect((await limiter.take('key-a', limit)).allowed).toBe(false);
  });

  it('gives each of several nodes its share: together they allow the key\'s limit, not a multiple of it', async () => {
    let nowMs = Date.UTC(2026, 0, 1);
    const nodes = [0, 1, 2].map(() => new MemoryRateLimiter({ perSecond: 100, burst: 100 }, 3, () => nowMs));
    const limit = { perSecond: 3, burst: 9 };
    const allowed = async (count: number) => (await Promise.all(Array.from({ length: count }, (_, i) => nodes[i % 3]?.take('key', limit)))).filter((d) => d?.allowed).length;
    expect(await allowed(30)).toBe(9);
    nowMs += 1000; // one second at three a second, one a second per node
    expect(await allowed(30)).toBe(3);
    // A node's share refills at its own pace: a second later one token, Retry-After says so.
    expect(await nodes[0]?.take('key', limit)).toEqual({ allowed: false, retryAfterSec: 1 });
  });

  it('uses the default limit for a key without its own, and never holds more than a lowered limit\'s burst', async () => {
    let nowMs = Date.UTC(2026, 0, 1);
    const limiter = new MemoryRateLimiter({ perSecond: 1, burst: 2 }, 1, () => nowMs);
    const decisions = [];
    for (let i = 0; i < 3; i++) decisions.push((await limiter.take('key', null)).allowed);
    expect(decisions).toEqual([true, true, false]);
    nowMs += 60_000;
    const lowered = { perSecond: 1, burst: 1 };
    expect((await limiter.take('key', lowered)).allowed).toBe(true);
    expect((await limiter.take('key', lowered)).allowed).toBe(false);
  });
});
