/**
 * A merchant's own view of its API keys (the portal's Developers page): list, create, rotate, revoke —
 * every call scoped to the merchant, so another merchant's key id is "not found". The secret is shown
 * once, at creation (credentials.ts keeps it only sealed). Rotation makes a new key and leaves the old one
 * working (the overlap) until the merchant revokes it; a revocation bites everywhere within the credential
 * cache's TTL (credentials.ts, 5 s). A key has a name and a mode: `live`, or `test` — then it belongs to the
 * merchant's test twin and reaches only test data (test-twin.ts).
 */
import type { Database } from '../platform/db/database.ts';
import { KobanError } from '../platform/errors.ts';
import { isUuid } from '../platform/ids.ts';
import type { Ledger } from '../ledger/ledger.ts';
import { createApiCredential, revokeApiCredential, type ApiKeyMode, type IssuedCredential } from './credentials.ts';
import { ensureTestTwin, merchantAndTwin } from './test-twin.ts';
import type { SecretBox } from './secret-box.ts';

export const API_KEYS_PER_MERCHANT_MAX = 20;
export const API_KEY_NAME_MAX = 64;

export interface ApiKeySummary {
  readonly credentialId: string; readonly apiKey: string; readonly status: 'active' | 'revoked'; readonly createdAt: Date; readonly revokedAt: Date | null;
  readonly mode: ApiKeyMode; readonly name: string | null;
}

/** The merchant's keys, live and test (its test twin's), newest first. */
export async function listApiKeys(db: Database, merchantId: string): Promise<ApiKeySummary[]> {
  const result = await db.pool.query<{ id: string; api_key: string; status: 'active' | 'revoked'; created_at: Date; revoked_at: Date | null; mode: ApiKeyMode; name: string | null }>(
    `select id, api_key, status, created_at, revoked_at, mode, name from merchant_api_credentials where merchant_id = any($1::uuid[])
     order by created_at desc limit 200`, [await merchantAndTwin(db, merchantId)]);
  return result.rows.map((row) => ({ credentialId: row.id, apiKey: row.api_key, status: row.status, createdAt: row.created_at, revokedAt: row.revoked_at, mode: row.mode, name: row.name }));
}

export interface NewApiKey { readonly mode?: ApiKeyMode; readonly name?: string | null }

/** A live key of the merchant, or a test key of its test twin (made on the first one). */
export async function createApiKey(db: Database, box: SecretBox, ledger: Ledger, merchantId: string, key: NewApiKey = {}): Promise<IssuedCredential & { mode: ApiKeyMode; name: string | null }> {
  const name = key.name?.trim() ?? null;
  if (name !== null && (name.length === 0 || name.length > API_KEY_NAME_MAX)) {
    throw new KobanError('validation_failed', { errors: [{ pointer: '/body/name', message: `must be 1 to ${API_KEY_NAME_MAX} characters` }] });
  }
  const owners = await merchantAndTwin(db, merchantId);
  const live = await db.pool.query<{ n: number }>(`select count(*)::int as n from merchant_api_credentials where merchant_id = any($1::uuid[]) and status = 'active'`, [owners]);
  if ((live.rows[0]?.n ?? 0) >= API_KEYS_PER_MERCHANT_MAX) throw new KobanError('validation_failed', { detail: `at most ${API_KEYS_PER_MERCHANT_MAX} active keys: revoke one first` });
  const mode = key.mode ?? 'live';
  const owner = mode === 'test' ? await ensureTestTwin(db, ledger, merchantId) : merchantId;
  return { ...(await createApiCredential(db, box, { merchantId: owner, mode, name })), mode, name };
}

export async function revokeApiKey(db: Database, merchantId: string, credentialId: string): Promise<void> {
  if (!isUuid(credentialId)) throw new KobanError('not_found', { detail: 'no such API key' });
  const owned = await db.pool.query('select 1 from merchant_api_credentials where id = $1 and merchant_id = any($2::uuid[])', [credentialId, await merchantAndTwin(db, merchantId)]);
  if (owned.rowCount !== 1) throw new KobanError('not_found', { detail: 'no such API key' });
  await revokeApiCredential(db, credentialId);
}
