/**
 * The bench-only fixture of `npm run bench:pay`, written straight into Koban's tables before Koban starts:
 * funded wallets (customers, ledger accounts with their top-up transfers, so `ledger verify` balances),
 * signed-in customers on a remembered device (their session tokens go to the load generator, which mints
 * codes through the wallet API like the app does), and one merchant with a store, a till and an API key.
 * Wallets are made with generate_series in chunks, so 10 million take minutes rather than hours.
 * Nothing here is Koban's code path: it only puts rows where Koban's own flows would have put them.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { createApiCredential } from '../../src/merchants/credentials.ts';
import { createSecretBox } from '../../src/merchants/secret-box.ts';
import { createSecrets, sha256 } from '../../src/identity/secrets.ts';
import { AccountCodes, AccountFlags, Ledgers, TransferCodes } from '../../src/ledger/types.ts';
import { storeVelocity } from '../../src/risk/rules/store-velocity.ts';
import type { Database } from '../../src/platform/db/database.ts';
import { uuidv7 } from '../../src/platform/ids.ts';
import type { Credential } from './protocol.ts';

/** Each wallet starts with ¥1,000,000: thousands of bench payments before any runs dry. */
export const OPENING_BALANCE_MINOR = 1_000_000n;
const WALLET_CHUNK = 500_000;
const SESSION_CHUNK = 5_000;
export const FUNDING_ACCOUNT_ID = '00000000-0000-4000-8000-0000000bec00';

export interface SignedInCustomer { readonly token: string; readonly csrf: string }

/** Wallets number 1..n; ids are md5-derived uuids, so they spread over the key space as random ids do. */
export async function seedWallets(client: pg.Client, fromIndex: number, toIndex: number, log: (line: string) => void): Promise<void> {
  await client.query('set synchronous_commit = off');
  await client.query(
    `insert into accounts (id, ledger, code, flags, reference) values ($1, $2, $3, 0, 'bench-funding') on conflict (id) do nothing`,
    [FUNDING_ACCOUNT_ID, Ledgers.JPY, AccountCodes.fundingClearingCard]);
  for (let lo = fromIndex; lo <= toIndex; lo += WALLET_CHUNK) {
    const hi = Math.min(toIndex, lo + WALLET_CHUNK - 1);
    const started = performance.now();
    await client.query('begin');
    // Bulk load: foreign-key triggers off for this transaction (the bench's superuser session). Every row
    // that customer_wallets references is inserted just above it in the same chunk, and `ledger verify`
    // checks the ledger after the run; the per-row key checks each locked and dirtied its account row again.
    await client.query('set local session_replication_role = replica');
    await client.query(
      `insert into customers (id, webauthn_user_id)
       select md5('c' || i)::uuid, translate(encode(sha256(('u' || i)::bytea), 'base64'), '+/=', '-_') from generate_series($1::int, $2::int) i`, [lo, hi]);
    await client.query(
      `insert into accounts (id, ledger, code, flags, credits_posted)
       select md5('w' || i)::uuid, $3, $4, $5, $6 from generate_series($1::int, $2::int) i`,
      [lo, hi, Ledgers.JPY, AccountCodes.customerWallet, AccountFlags.debitsMustNotExceedCredits, OPENING_BALANCE_MINOR]);
    await client.query(
      `insert into customer_wallets (customer_id, account_id) select md5('c' || i)::uuid, md5('w' || i)::uuid from generate_series($1::int, $2::int) i`, [lo, hi]);
    await client.query(
      `insert into transfers (id, debit_account_id, credit_account_id, amount, ledger, code, flags, timeout_seconds, reference, created_at)
       select md5('t' || i)::uuid, $3, md5('w' || i)::uuid, $4, $5, $6, 0, 0, 'bench top-up', now() from generate_series($1::int, $2::int) i`,
      [lo, hi, FUNDING_ACCOUNT_ID, OPENING_BALANCE_MINOR, Ledgers.JPY, TransferCodes.topUp]);
    await client.query('update accounts set debits_posted = debits_posted + $2 where id = $1', [FUNDING_ACCOUNT_ID, BigInt(hi - lo + 1) * OPENING_BALANCE_MINOR]);
    await client.query('commit');
    log(`  wallets ${lo.toLocaleString('en-US')}–${hi.toLocaleString('en-US')} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }
  // Vacuumed now, so autovacuum's pass over the fresh rows does not land in a measured window.
  await client.query('vacuum (analyze)');
}

/**
 * `count` customers among wallets 1..walletCount, evenly spread, each with one remembered device and a
 * live session on it (as after a password + SMS sign-in). Returns the cookie tokens with their CSRF tokens.
 */
export async function signInCustomers(client: pg.Client, walletCount: number, count: number, identitySecret: string): Promise<SignedInCustomer[]> {
  const secrets = createSecrets(identitySecret);
  const stride = Math.max(1, Math.floor(walletCount / count));
  const signedIn: SignedInCustomer[] = [];
  for (let first = 0; first < count; first += SESSION_CHUNK) {
    const indexes = Array.from({ length: Math.min(SESSION_CHUNK, count - first) }, (_, k) => 1 + (first + k) * stride);
    const tokens = indexes.map(() => randomBytes(32).toString('base64url'));
    await client.query(
      `insert into devices (id, customer_id, device_hash, label)
       select md5('d' || i)::uuid, md5('c' || i)::uuid, sha256(('bench-device-' || i)::bytea), 'bench phone' from unnest($1::int[]) i
       on conflict do nothing`, [indexes]);
    await client.query(
      `insert into sessions (id, customer_id, token_hash, device_id, auth_methods, ip, user_agent)
       select gen_random_uuid(), md5('c' || i)::uuid, h, md5('d' || i)::uuid, '{password,sms}', '127.0.0.1', 'koban-bench'
       from unnest($1::int[], $2::bytea[]) as s(i, h)`, [indexes, tokens.map((token) => sha256(token))]);
    for (const token of tokens) signedIn.push({ token, csrf: secrets.mac('csrf', token).toString('base64url') });
  }
  await client.query('vacuum (analyze) devices, sessions');
  return signedIn;
}

/** One merchant, one store, one till, one API key: every payment goes to this hot merchant. */
export async function createHotMerchant(db: Database, secretKey: Buffer): Promise<Credential & { merchantId: string }> {
  const merchantId = uuidv7();
  const receivable = uuidv7();
  const storeId = uuidv7();
  const terminalId = uuidv7();
  await db.pool.query(`insert into accounts (id, ledger, code, flags, reference) values ($1, $2, $3, 0, $4)`, [receivable, Ledgers.JPY, AccountCodes.merchantReceivable, `merchant:${merchantId}`]);
  await db.pool.query(`insert into merchants (id, name, category_code, receivable_account_id) values ($1, 'Bench shop', '5411', $2)`, [merchantId, receivable]);
  await db.pool.query(`insert into stores (id, merchant_id, name) values ($1, $2, 'Store')`, [storeId, merchantId]);
  await db.pool.query(`insert into terminals (id, store_id, name) values ($1, $2, 'Till')`, [terminalId, storeId]);
  const credential = await createApiCredential(db, createSecretBox(secretKey), { merchantId });
  return { merchantId, apiKey: credential.apiKey, apiSecret: credential.apiSecret, storeId, terminalId };
}

/**
 * The hot store takes hundreds of payments a second, far above the default store velocity threshold
 * (600 a minute) meant for real shops: raised as an operator would for such a store, as a new version of
 * the rule's settings. Every rule still runs on every payment.
 */
export async function raiseStoreVelocity(client: pg.Client): Promise<void> {
  const params = storeVelocity.serialize(storeVelocity.parse({
    ...(storeVelocity.serialize(storeVelocity.defaults.params) as object), paymentsPerMinuteMax: 1_000_000, amountPer10MinMaxMinor: '100000000000',
  }));
  await client.query(
    `insert into risk_rule_settings (rule_id, version, enabled, action, params, reason, changed_by)
     values ($1, coalesce((select max(version) from risk_rule_settings where rule_id = $1), 0) + 1, true, $2, $3, $4, 'operator:bench')`,
    [storeVelocity.id, storeVelocity.defaults.action, JSON.stringify(params), 'bench: one synthetic store at hundreds of payments a second']);
  await client.query('update risk_ruleset set version = version + 1');
}
