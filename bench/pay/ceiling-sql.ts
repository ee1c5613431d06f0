/**
 * Ceiling (a) of `npm run bench:pay`: PostgreSQL doing only a payment's essential writes, 100 payments per
 * transaction, on a file copy of the bench database (Koban's schema, indexes, foreign keys and triggers,
 * the same wallets). One statement per batch: claim the codes, insert the payments already COMPLETED, the
 * two ledger legs each, debit the wallets, credit the hot receivable and the fee account, insert the
 * merchant's webhook events. Run with pgbench -M prepared from the PostgreSQL binaries (1 and 2 clients,
 * each its own process) or, without pgbench, by a forked prepared-statement client of the same SQL.
 */
import { execFile, fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { AccountCodes, Ledgers, TransferCodes } from '../../src/ledger/types.ts';
import { uuidv7 } from '../../src/platform/ids.ts';

export const BATCH = 100;
const AMOUNT = 480;
const FEE = 9;

export interface CeilingTargets { readonly merchantId: string; readonly storeId: string; readonly terminalId: string; readonly receivableId: string; readonly feeAccountId: string }

/** The batch statement; `$1` is the batch number (codes $1*100+1 … $1*100+100). */
export function batchSql(t: CeilingTargets): string {
  return `with claimed as (
  update payment_codes c set status = 'used', used_at = now(), payment_id = md5('p' || c.id::text)::uuid
  where c.code_hash = any (array(select sha256(int8send(g)) from generate_series($1::bigint * ${BATCH} + 1, $1::bigint * ${BATCH} + ${BATCH}) g)) and c.status = 'live'
  returning c.id, c.customer_id, c.wallet_account_id, c.device_id, c.payment_id),
paid as (
  insert into payments (id, merchant_id, merchant_payment_id, kind, status, amount_minor, fee_minor, store_id, terminal_id, request_fingerprint,
    customer_id, wallet_account_id, device_id, code_id, payment_transfer_id, fee_transfer_id, requested_at, created_at, accepted_at, business_date)
  select payment_id, '${t.merchantId}'::uuid, 'ceiling-' || payment_id, 'customer_code', 'COMPLETED', ${AMOUNT}, ${FEE}, '${t.storeId}'::uuid, '${t.terminalId}'::uuid, 'bench',
    customer_id, wallet_account_id, device_id, id, md5('pt' || payment_id::text)::uuid, md5('ft' || payment_id::text)::uuid, now(), now(), now(), to_char(now(), 'YYYY-MM-DD')
  from claimed returning id, wallet_account_id, payment_transfer_id, fee_transfer_id),
legs as (
  insert into transfers (id, debit_account_id, credit_account_id, amount, ledger, code, flags, timeout_seconds, created_at)
  select payment_transfer_id, wallet_account_id, '${t.receivableId}'::uuid, ${AMOUNT}, ${Ledgers.JPY}, ${TransferCodes.payment}, 0, 0, now() from paid
  union all
  select fee_transfer_id, '${t.receivableId}'::uuid, '${t.feeAccountId}'::uuid, ${FEE}, ${Ledgers.JPY}, ${TransferCodes.fee}, 0, 0, now() from paid
  returning 1),
wallets as (update accounts a set debits_posted = a.debits_posted + ${AMOUNT} from paid where a.id = paid.wallet_account_id returning 1),
hot as (update accounts set credits_posted = credits_posted + ${AMOUNT} * (select count(*) from paid), debits_posted = debits_posted + ${FEE} * (select count(*) from paid)
  where id = '${t.receivableId}'::uuid returning 1),
fee as (update accounts set credits_posted = credits_posted + ${FEE} * (select count(*) from paid) where id = '${t.feeAccountId}'::uuid returning 1),
events as (insert into webhook_events (id, merchant_id, type, body, created_at)
  select md5('e' || id::text)::uuid, '${t.merchantId}'::uuid, 'payment.completed', '{"paymentId":"' || id || '"}', now() from paid returning 1)
select (select count(*) from paid) as payments, (select count(*) from legs) as legs, (select count(*) from wallets) as wallets,
  (select count(*) from hot) + (select count(*) from fee) as hot, (select count(*) from events) as events`;
}

/** Live codes 1..count on the copy (spread over the wallets), a fee account and the batch counter. */
export async function prepareCeiling(client: pg.Client, wallets: number, codes: number, merchantId: string): Promise<CeilingTargets> {
  const merchant = await client.query<{ receivable_account_id: string; store_id: string; terminal_id: string }>(
    `select m.receivable_account_id, s.id as store_id, t.id as terminal_id from merchants m join stores s on s.merchant_id = m.id join terminals t on t.store_id = s.id where m.id = $1 limit 1`, [merchantId]);
  const row = merchant.rows[0];
  if (row === undefined) throw new Error('ceiling: the hot merchant is missing from the copy');
  const feeAccountId = uuidv7();
  await client.query(`insert into accounts (id, ledger, code, flags, reference) values ($1, $2, $3, 0, 'bench ceiling fees')`, [feeAccountId, Ledgers.JPY, AccountCodes.feeRevenue]);
  await client.query('create sequence bench_ceiling_batch');
  await client.query('set synchronous_commit = off');
  await client.query(
    `insert into payment_codes (id, code_hash, customer_id, wallet_account_id, device_id, status, expires_at, created_at)
     select md5('code' || g)::uuid, sha256(int8send(g)), md5('c' || w)::uuid, md5('w' || w)::uuid, 'bench-ceiling', 'live', now() + interval '1 day', now()
     from generate_series(1, $1::bigint) g, lateral (select 1 + (g % $2::bigint) as w) x`, [codes, wallets]);
  await client.query('analyze payment_codes');
  return { merchantId, storeId: row.store_id, terminalId: row.terminal_id, receivableId: row.receivable_account_id, feeAccountId };
}

export interface CeilingRun { readonly clients: number; readonly batches: number; readonly seconds: number; readonly tool: string }

/** pgbench -M prepared; each batch first takes its number from the sequence (one more short statement). */
export async function runPgbench(binDir: string, url: string, targets: CeilingTargets, clients: number, seconds: number): Promise<CeilingRun> {
  const dir = await mkdtemp(path.join(tmpdir(), 'koban-bench-ceiling-'));
  try {
    const script = path.join(dir, 'pay100.sql');
    await writeFile(script, `select nextval('bench_ceiling_batch') - 1 as b \\gset\n${batchSql(targets).replaceAll('$1::bigint', ':b::bigint').replaceAll('\n', ' ')};\n`);
    const parsed = new URL(url);
    const args = ['-n', '-M', 'prepared', '-f', script, '-c', String(clients), '-j', String(clients), '-T', String(seconds),
      '-h', parsed.hostname, '-p', parsed.port, '-U', decodeURIComponent(parsed.username), parsed.pathname.slice(1)];
    const output = await new Promise<string>((resolve, reject) => {
      execFile(path.join(binDir, 'pgbench'), args, { timeout: (seconds + 120) * 1000, maxBuffer: 4 * 1024 * 1024 }, (error, stdout, stderr) => {
        if (error !== null) reject(new Error(`pgbench failed: ${error.message}\n${stderr}`));
        else resolve(stdout + stderr);
      });
    });
    const batches = Number(/number of transactions actually processed: (\d+)/.exec(output)?.[1] ?? Number.NaN);
    const failed = Number(/number of failed transactions: (\d+)/.exec(output)?.[1] ?? 0);
    if (failed > 0) throw new Error(`pgbench: ${failed} failed batches\n${output}`);
    return { clients, batches, seconds, tool: 'pgbench -M prepared' };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export function pgbenchAvailable(binDir: string): boolean {
  return existsSync(path.join(binDir, 'pgbench'));
}

const WRITER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'ceiling-writer.ts');

/** Without pgbench: `clients` forked writers, each one connection looping the same prepared statement. */
export async function runOwnWriters(url: string, targets: CeilingTargets, clients: number, seconds: number): Promise<CeilingRun> {
  const counts = await Promise.all(Array.from({ length: clients }, () => new Promise<number>((resolve, reject) => {
    const child = fork(WRITER, [url, JSON.stringify(targets), String(seconds)], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
    child.on('message', (message) => resolve(Number(message)));
    child.on('exit', (code) => { if (code !== 0) reject(new Error(`ceiling writer exited ${code}`)); });
  })));
  return { clients, batches: counts.reduce((a, b) => a + b, 0), seconds, tool: 'own prepared-statement writers' };
}
