/**
 * A merchant's own view of its API keys (the portal's Developers page): list, create, rotate, revoke —
 * every call scoped to the merchant, so another merchant's key id is "not found". The secret is shown
 * once, at creation (credentials.ts keeps it only sealed). Rotation makes a new key and leaves the old one
 * working (the overlap) until the merchant revokes it; a revocation bites everywhere within the credential
 * cache's TTL (credentials.ts, 5 s).
 */
import type { Database } from '../platform/db/database.ts';
import { KobanError } from '../platform/errors.ts';
import { isUuid } from '../platform/ids.ts';
import { createApiCredential, revokeApiCredential, type IssuedCredential } from './credentials.ts';
import type { SecretBox } from './secret-box.ts';

export const API_KEYS_PER_MERCHANT_MAX = 20;

export interface ApiKeySummary { readonly credentialId: string; readonly apiKey: string; readonly status: 'active' | 'revoked'; readonly createdAt: Date; readonly revokedAt: Date | null }

export async function listApiKeys(db: Database, merchantId: string): Promise<ApiKeySummary[]> {
  const result = await db.pool.query<{ id: string; api_key: string; status: 'active' | 'revoked'; created_at: Date; revoked_at: Date | null }>(
    'select id, api_key, status, created_at, revoked_at from merchant_api_credentials where merchant_id = $1 order by created_at desc limit 200', [merchantId]);
  return result.rows.map((row) => ({ credentialId: row.id, apiKey: row.api_key, status: row.status, createdAt: row.created_at, revokedAt: row.revoked_at }));
}

export async function createApiKey(db: Database, box: SecretBox, merchantId: string): Promise<IssuedCredential> {
  const live = await db.pool.query<{ n: number }>(`select count(*)::int as n from merchant_api_credentials where merchant_id = $1 and status = 'active'`, [merchantId]);
  if ((live.rows[0]?.n ?? 0) >= API_KEYS_PER_MERCHANT_MAX) throw new KobanError('validation_failed', { detail: `at most ${API_KEYS_PER_MERCHANT_MAX} active keys: revoke one first` });
  return createApiCredential(db, box, { merchantId });
}

export async function revokeApiKey(db: Database, merchantId: string, credentialId: string): Promise<void> {
  if (!isUuid(credentialId)) throw new KobanError('not_found', { detail: 'no such API key' });
  const owned = await db.pool.query('select 1 from merchant_api_credentials where id = $1 and merchant_id = $2', [credentialId, merchantId]);
  if (owned.rowCount !== 1) throw new KobanError('not_found', { detail: 'no such API key' });
  await revokeApiCredential(db, credentialId);
}
