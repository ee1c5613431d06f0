/** Step 1: merchant API credentials sealed at rest, IP allow-lists, webhook endpoints, the PostgreSQL nonce store. */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLedger, type Ledger } from '../../src/ledger/ledger.ts';
import { createApiCredential, createCredentialDirectory, ipAllowed, revokeApiCredential } from '../../src/merchants/credentials.ts';
import { PgNonceStore } from '../../src/merchants/opa/pg-nonce-store.ts';
import { createSecretBox, SecretBoxError } from '../../src/merchants/secret-box.ts';
import { parseSecretKey } from '../../src/merchants/secret-key.ts';
import { createWebhookEndpoint, readWebhookEndpoint } from '../../src/merchants/webhook-endpoints.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { expectLedgerConsistent } from '../ledger/fixtures.ts';
import { createTestMerchant, type TestMerchant } from './merchant-fixtures.ts';

let db: TestDatabase;
let ledger: Ledger;
let merchant: TestMerchant;
const box = createSecretBox(randomBytes(32));

beforeAll(async () => {
  db = await createTestDatabase();
  ledger = createLedger(db, { maxAmountMinor: 100_000_000_000n });
  merchant = await createTestMerchant(db, ledger);
});
afterAll(async () => {
  await expectLedgerConsistent(db);
  await db.close();
});

describe('secret box', () => {
  it('opens what it sealed, for the same context only', () => {
    const sealed = box.seal('s3cret', 'ctx:a');
    expect(box.open(sealed, 'ctx:a')).toBe('s3cret');
    expect(() => box.open(sealed, 'ctx:b')).toThrow(SecretBoxError);
  });

  it('rejects a sealed value altered by one bit (tampering at rest)', () => {
    const sealed = box.seal('s3cret', 'ctx:a');
    sealed[sealed.length - 20] = (sealed[sealed.length - 20] ?? 0) ^ 1;
    expect(() => box.open(sealed, 'ctx:a')).toThrow(SecretBoxError);
  });

  it('says so when a value was sealed under another key-encryption key', () => {
    const other = createSecretBox(randomBytes(32));
    expect(() => other.open(box.seal('x', 'c'), 'c')).toThrow(/another key/);
  });

  it('accepts a KOBAN_SECRET_KEY as 64 hex digits or base64 of 32 bytes, nothing shorter', () => {
    expect(parseSecretKey('ab'.repeat(32))?.length).toBe(32);
    expect(parseSecretKey(randomBytes(32).toString('base64'))?.length).toBe(32);
    expect(parseSecretKey('short')).toBeNull();
  });
});

describe('merchant API credentials', () => {
  it('shows the secret once and stores it only sealed (a database read does not reveal it)', async () => {
    const issued = await createApiCredential(db, box, { merchantId: merchant.merchantId });
    const rows = await db.pool.query<{ row: string }>(`select row_to_json(c)::text as row from merchant_api_credentials c where api_key = $1`, [issued.apiKey]);
    expect(rows.rows[0]?.row).not.toContain(issued.apiSecret);
    expect(rows.rows[0]?.row).not.toContain(Buffer.from(issued.apiSecret).toString('hex'));
    const found = await createCredentialDirectory(db, box).lookup(issued.apiKey);
    expect(found).toMatchObject({ merchantId: merchant.merchantId, secret: issued.apiSecret, ipAllowList: [] });
  });

  it('does not find a revoked key', async () => {
    const issued = await createApiCredential(db, box, { merchantId: merchant.merchantId });
    await revokeApiCredential(db, issued.credentialId);
    expect(await createCredentialDirectory(db, box).lookup(issued.apiKey)).toBeNull();
  });

  it('refuses a sealed secret moved onto another key row (swapped ciphertexts)', async () => {
    const a = await createApiCredential(db, box, { merchantId: merchant.merchantId });
    const b = await createApiCredential(db, box, { merchantId: merchant.merchantId });
    await db.pool.query(`update merchant_api_credentials set secret_sealed = (select secret_sealed from merchant_api_credentials where api_key = $1) where api_key = $2`, [a.apiKey, b.apiKey]);
    await expect(createCredentialDirectory(db, box).lookup(b.apiKey)).rejects.toThrow(SecretBoxError);
  });

  it('keeps an IP allow-list and checks addresses against it (IPv4, IPv6, v4-mapped)', async () => {
    const issued = await createApiCredential(db, box, { merchantId: merchant.merchantId, ipAllowList: ['203.0.113.0/24', '2001:db8::1'] });
    const found = await createCredentialDirectory(db, box).lookup(issued.apiKey);
    expect(found?.ipAllowList).toEqual(['203.0.113.0/24', '2001:db8::1/128']);
    const list = found?.ipAllowList ?? [];
    expect(ipAllowed(list, '203.0.113.7')).toBe(true);
    expect(ipAllowed(list, '::ffff:203.0.113.7')).toBe(true);
    expect(ipAllowed(list, '198.51.100.1')).toBe(false);
    expect(ipAllowed(list, '2001:db8::1')).toBe(true);
    expect(ipAllowed(list, 'not-an-ip')).toBe(false);
    expect(ipAllowed([], '198.51.100.1')).toBe(true);
  });

  it('refuses a malformed allow-list entry and an unknown merchant, creating nothing', async () => {
    const before = await db.pool.query('select count(*) from merchant_api_credentials');
    await expect(createApiCredential(db, box, { merchantId: merchant.merchantId, ipAllowList: ['10.0.0.0/33'] })).rejects.toMatchObject({ code: 'validation_failed' });
    await expect(createApiCredential(db, box, { merchantId: '00000000-0000-7000-8000-00000000dead' })).rejects.toMatchObject({ code: 'merchant_not_found' });
    expect((await db.pool.query('select count(*) from merchant_api_credentials')).rows).toEqual(before.rows);
  });
});

describe('webhook endpoints', () => {
  it('keeps the signing secret sealed and opens it for delivery', async () => {
    const issued = await createWebhookEndpoint(db, box, { merchantId: merchant.merchantId, url: 'https://shop.example/hooks', allowHttp: false });
    const read = await readWebhookEndpoint(db, box, issued.endpointId);
    expect(read).toEqual({ endpointId: issued.endpointId, merchantId: merchant.merchantId, url: 'https://shop.example/hooks', signingSecret: issued.signingSecret, previousSigningSecret: null, format: 'koban' });
  });

  it('refuses http in production, credentials in the URL and non-URLs', async () => {
    for (const url of ['http://shop.example/hooks', 'https://user:pw@shop.example/', 'javascript:alert(1)', 'not a url']) {
      await expect(createWebhookEndpoint(db, box, { merchantId: merchant.merchantId, url, allowHttp: false })).rejects.toMatchObject({ code: 'webhook_endpoint_invalid' });
    }
  });
});

describe('PostgreSQL nonce store', () => {
  it('grants a nonce once even to concurrent claims from two pools (replay across nodes)', async () => {
    const store = new PgNonceStore(db);
    const nowSec = Math.floor(Date.now() / 1000);
    const results = await Promise.all(Array.from({ length: 8 }, () => store.claim('key-a', 'nonce-0001', nowSec + 120)));
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await store.claim('key-b', 'nonce-0001', nowSec + 120)).toBe(true);
  });

  it('lets an expired nonce be taken over and sweeps expired rows only', async () => {
    const store = new PgNonceStore(db);
    const nowSec = Math.floor(Date.now() / 1000);
    expect(await store.claim('key-c', 'old-nonce', nowSec - 10)).toBe(true);
    expect(await store.claim('key-c', 'old-nonce', nowSec + 120)).toBe(true);
    expect(await store.claim('key-c', 'stale-one', nowSec - 5)).toBe(true);
    expect(await store.claim('key-c', 'live-nonce', nowSec + 120)).toBe(true);
    expect(await store.sweep()).toBe(1);
    const left = await db.pool.query<{ nonce: string }>(`select nonce from opa_nonces where api_key = 'key-c' order by nonce`);
    expect(left.rows.map((r) => r.nonce)).toEqual(['live-nonce', 'old-nonce']);
  });
});
