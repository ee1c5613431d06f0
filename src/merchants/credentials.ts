/**
 * Merchant API credentials: an API key (public, in every OPA-Auth header) and a secret (the HMAC key),
 * issued per merchant. The secret is returned once, at creation, and kept only sealed (secret-box.ts).
 * An optional IP allow-list restricts where a key may be used from.
 */
import type { RateLimit } from './opa/rate-limit.ts';
import { randomBytes } from 'node:crypto';
import { BlockList, isIP } from 'node:net';
import { assert } from '../platform/assert.ts';
import type { Database } from '../platform/db/database.ts';
import { KobanError } from '../platform/errors.ts';
import { uuidv7 } from '../platform/ids.ts';
import type { SecretBox } from './secret-box.ts';

export const IP_ALLOW_LIST_MAX = 64;
/** Verified keys are cached this long: a revocation takes at most this long to bite everywhere. */
export const CREDENTIAL_CACHE_TTL_MS = 5_000;
export const CREDENTIAL_CACHE_MAX = 10_000;

/** A key's mode: `live` (the default) or `test` (the merchant's test twin, test-twin.ts). */
export type ApiKeyMode = 'live' | 'test';

export interface IssuedCredential {
  readonly credentialId: string;
  readonly merchantId: string;
  readonly apiKey: string;
  /** Shown once; Koban keeps only the sealed form. */
  readonly apiSecret: string;
}

export interface ActiveCredential {
  readonly credentialId: string;
  readonly merchantId: string;
  readonly apiKey: string;
  readonly secret: string;
  readonly ipAllowList: readonly string[];
  /** The key's own rate limit; null: the listener's default (`opa/rate-limit.ts`). */
  readonly rateLimit: RateLimit | null;
  /** A test key's live merchant (its merchant is that merchant's test twin, test-twin.ts); null for a live key. */
  readonly liveMerchantId: string | null;
}

const secretContext = (apiKey: string): string => `merchant-api-secret:${apiKey}`;

export function newApiKey(): string {
  return `kbk_${randomBytes(16).toString('hex')}`;
}

export function newApiSecret(): string {
  return randomBytes(32).toString('base64url');
}

export async function createApiCredential(db: Database, box: SecretBox, input: {
  merchantId: string; ipAllowList?: readonly string[]; apiKey?: string; apiSecret?: string; credentialId?: string;
  /** `test` keys belong to the merchant's test twin (test-twin.ts): the caller passes the twin's id. */
  mode?: ApiKeyMode; name?: string | null;
}): Promise<IssuedCredential> {
  const ipAllowList = normaliseAllowList(input.ipAllowList ?? []);
  const apiKey = input.apiKey ?? newApiKey();
  const apiSecret = input.apiSecret ?? newApiSecret();
  assert(/^[A-Za-z0-9._~-]{1,128}$/.test(apiKey) && apiSecret.length >= 32, 'credential shape');
  const credentialId = input.credentialId ?? uuidv7();
  const merchant = await db.pool.query('select 1 from merchants where id = $1', [input.merchantId]);
  if (merchant.rowCount === 0) throw new KobanError('merchant_not_found', { detail: `no merchant ${input.merchantId}` });
  await db.pool.query(
    `insert into merchant_api_credentials (id, merchant_id, api_key, secret_sealed, ip_allow_list, mode, name)
     values ($1, $2, $3, $4, $5::cidr[], $6, $7) on conflict (id) do nothing`,
    [credentialId, input.merchantId, apiKey, box.seal(apiSecret, secretContext(apiKey)), ipAllowList, input.mode ?? 'live', input.name ?? null]);
  return { credentialId, merchantId: input.merchantId, apiKey, apiSecret };
}

export async function revokeApiCredential(db: Database, credentialId: string): Promise<void> {
  await db.pool.query(`update merchant_api_credentials set status = 'revoked', revoked_at = now() where id = $1 and status = 'active'`, [credentialId]);
}

function normaliseAllowList(entries: readonly string[]): string[] {
  if (entries.length > IP_ALLOW_LIST_MAX) throw new KobanError('validation_failed', { detail: `at most ${IP_ALLOW_LIST_MAX} allow-list entries` });
  return entries.map((entry, index) => {
    const [address = '', prefix] = entry.split('/');
    const family = isIP(address);
    const bits = prefix === undefined ? (family === 6 ? 128 : 32) : Number(prefix);
    const valid = family !== 0 && Number.isInteger(bits) && bits >= 0 && bits <= (family === 6 ? 128 : 32) && (prefix === undefined || /^[0-9]{1,3}$/.test(prefix));
    if (!valid) throw new KobanError('validation_failed', { detail: `ipAllowList/${index} is not an IP address or CIDR`, errors: [{ pointer: `/ipAllowList/${index}`, message: 'must be an IP address or CIDR' }] });
    return `${address}/${bits}`;
  });
}

/** True when the list is empty or the address is inside one of its networks. */
export function ipAllowed(allowList: readonly string[], address: string): boolean {
  if (allowList.length === 0) return true;
  const plain = address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
  const family = isIP(plain);
  if (family === 0) return false;
  const list = new BlockList();
  for (const entry of allowList) {
    const [network = '', prefix = ''] = entry.split('/');
    list.addSubnet(network, Number(prefix), isIP(network) === 6 ? 'ipv6' : 'ipv4');
  }
  return list.check(plain, family === 6 ? 'ipv6' : 'ipv4');
}

/**
 * Sets one key's rate limit (null restores the default). Takes effect when the directory's short cache
 * expires; the bucket itself is shared by every process.
 */
export async function setApiCredentialRateLimit(db: Database, credentialId: string, limit: RateLimit | null): Promise<void> {
  if (limit !== null && (!Number.isInteger(limit.perSecond) || limit.perSecond < 1 || limit.perSecond > 10_000 || !Number.isInteger(limit.burst) || limit.burst < 1 || limit.burst > 100_000)) {
    throw new KobanError('validation_failed', { detail: 'perSecond must be 1–10000 and burst 1–100000 (integers)', errors: [{ pointer: '/rateLimit', message: 'is out of range' }] });
  }
  const result = await db.pool.query('update merchant_api_credentials set rate_limit_per_second = $2, rate_limit_burst = $3 where id = $1',
    [credentialId, limit?.perSecond ?? null, limit?.burst ?? null]);
  if (result.rowCount !== 1) throw new KobanError('not_found');
}

export interface CredentialDirectory {
  lookup(apiKey: string): Promise<ActiveCredential | null>;
}

/** Reads active credentials by API key, opening the sealed secret; a short bounded cache spares the hot path. */
export function createCredentialDirectory(db: Database, box: SecretBox, nowMs: () => number = Date.now): CredentialDirectory {
  const cache = new Map<string, { credential: ActiveCredential; expiresAtMs: number }>();
  return {
    async lookup(apiKey) {
      const cached = cache.get(apiKey);
      if (cached !== undefined && cached.expiresAtMs > nowMs()) return cached.credential;
      const result = await db.pool.query<{
        id: string; merchant_id: string; secret_sealed: Buffer; ip_allow_list: string[] | string; rate_limit_per_second: number | null; rate_limit_burst: number | null;
        test_twin_of: string | null;
      }>(
        `select c.id, c.merchant_id, c.secret_sealed, c.ip_allow_list::text[] as ip_allow_list, c.rate_limit_per_second, c.rate_limit_burst, m.test_twin_of
         from merchant_api_credentials c join merchants m on m.id = c.merchant_id
         where c.api_key = $1 and c.status = 'active' and m.status = 'active'`, [apiKey]);
      const row = result.rows[0];
      if (row === undefined) {
        cache.delete(apiKey);
        return null;
      }
      const credential: ActiveCredential = {
        credentialId: row.id, merchantId: row.merchant_id, apiKey,
        secret: box.open(row.secret_sealed, secretContext(apiKey)),
        ipAllowList: Array.isArray(row.ip_allow_list) ? row.ip_allow_list : [],
        rateLimit: row.rate_limit_per_second === null || row.rate_limit_burst === null ? null : { perSecond: row.rate_limit_per_second, burst: row.rate_limit_burst },
        liveMerchantId: row.test_twin_of,
      };
      if (cache.size >= CREDENTIAL_CACHE_MAX) cache.clear();
      cache.set(apiKey, { credential, expiresAtMs: nowMs() + CREDENTIAL_CACHE_TTL_MS });
      return credential;
    },
  };
}
