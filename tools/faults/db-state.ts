/**
 * Reads what the checker compares the log with, straight from PostgreSQL (never through the proxy or Koban):
 * a baseline after set-up, and the final state after the run has settled.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import { DEMO } from '../../src/demo/seed.ts';
import { PLATFORM_ACCOUNTS } from '../../src/ledger/platform-accounts.ts';
import type { DbState } from './checker.ts';

const execFileAsync = promisify(execFile);
const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const VERIFY_TIMEOUT_MS = 120_000;
/** The merchant's receivable and the fee revenue: fees only ever move between these two. */
const MERCHANT_ACCOUNTS = [DEMO.merchant.receivable, PLATFORM_ACCOUNTS.feeRevenue];

export interface Baseline {
  readonly atIso: string;
  readonly wallets: Record<string, number>;
  readonly merchantNetMinor: number;
  /** Transfers on the tracked wallets before the load (the seed and the set-up top-up). */
  readonly transferIds: readonly string[];
}

async function withClient<T>(url: string, run: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end();
  }
}

async function balances(client: pg.Client, accountIds: readonly string[]): Promise<Map<string, { balance: number; pending: number }>> {
  const rows = await client.query<{ id: string; balance: string; pending: string }>(
    `select id, (credits_posted - debits_posted)::text as balance, (credits_pending + debits_pending)::text as pending from accounts where id = any($1::uuid[])`, [accountIds]);
  return new Map(rows.rows.map((r) => [r.id, { balance: Number(r.balance), pending: Number(r.pending) }]));
}

export async function readBaseline(url: string, walletIds: readonly string[]): Promise<Baseline> {
  return withClient(url, async (client) => {
    const now = await client.query<{ now: Date }>('select now()');
    const wallet = await balances(client, walletIds);
    const merchant = await balances(client, MERCHANT_ACCOUNTS);
    const transfers = await client.query<{ id: string }>('select id from transfers where debit_account_id = any($1::uuid[]) or credit_account_id = any($1::uuid[])', [walletIds]);
    return {
      atIso: (now.rows[0]?.now ?? new Date()).toISOString(),
      wallets: Object.fromEntries(walletIds.map((id) => [id, wallet.get(id)?.balance ?? 0])),
      merchantNetMinor: [...merchant.values()].reduce((sum, b) => sum + b.balance, 0),
      transferIds: transfers.rows.map((r) => r.id),
    };
  });
}

/** Work Koban has staged but not finished (its maintenance loop finishes it): the run is settled when none is left. */
export async function unfinishedWork(url: string, walletIds: readonly string[]): Promise<number> {
  return withClient(url, async (client) => {
    const result = await client.query<{ n: string }>(
      `select ((select count(*) from payments where (status = 'CREATED' and payment_transfer_id is not null) or reversal_pending)
        + (select count(*) from refunds where status = 'CREATED')
        + (select count(*) from top_ups where status in ('processing') and wallet_account_id = any($1::uuid[])))::text as n`, [walletIds]);
    return Number(result.rows[0]?.n ?? 0);
  });
}

export async function readFinalState(url: string, walletIds: readonly string[], baseline: Baseline): Promise<Omit<DbState, 'ledgerVerify'>> {
  return withClient(url, async (client) => {
    const payments = await client.query<{ merchant_payment_id: string; status: string; amount_minor: string; wallet_account_id: string | null; payment_transfer_id: string | null; cancel_transfer_id: string | null }>(
      `select merchant_payment_id, status, amount_minor::text, wallet_account_id, payment_transfer_id, cancel_transfer_id
         from payments where merchant_id = $1 and created_at >= $2`, [DEMO.merchant.id, baseline.atIso]);
    const refunds = await client.query<{ merchant_refund_id: string; merchant_payment_id: string; status: string; amount_minor: string; refund_transfer_id: string }>(
      `select r.merchant_refund_id, p.merchant_payment_id, r.status, r.amount_minor::text, r.refund_transfer_id
         from refunds r join payments p on p.id = r.payment_id where r.merchant_id = $1 and r.created_at >= $2`, [DEMO.merchant.id, baseline.atIso]);
    const topUps = await client.query<{ idempotency_key: string; wallet_account_id: string; status: string; amount_minor: string; ledger_transfer_id: string }>(
      `select idempotency_key, wallet_account_id, status, amount_minor::text, ledger_transfer_id from top_ups
        where wallet_account_id = any($1::uuid[]) and created_at >= $2`, [walletIds, baseline.atIso]);
    const transfers = await client.query<{ id: string; debit_account_id: string; credit_account_id: string; amount: string }>(
      `select id, debit_account_id, credit_account_id, amount::text from transfers
        where (debit_account_id = any($1::uuid[]) or credit_account_id = any($1::uuid[])) and not (id = any($2::uuid[]))`, [walletIds, baseline.transferIds]);
    const wallet = await balances(client, walletIds);
    const merchant = await balances(client, MERCHANT_ACCOUNTS);
    return {
      payments: payments.rows.map((r) => ({ merchantPaymentId: r.merchant_payment_id, status: r.status, amountMinor: Number(r.amount_minor), walletAccountId: r.wallet_account_id, paymentTransferId: r.payment_transfer_id, cancelTransferId: r.cancel_transfer_id })),
      refunds: refunds.rows.map((r) => ({ merchantRefundId: r.merchant_refund_id, merchantPaymentId: r.merchant_payment_id, status: r.status, amountMinor: Number(r.amount_minor), refundTransferId: r.refund_transfer_id })),
      topUps: topUps.rows.map((r) => ({ idempotencyKey: r.idempotency_key, walletAccountId: r.wallet_account_id, status: r.status, amountMinor: Number(r.amount_minor), ledgerTransferId: r.ledger_transfer_id })),
      walletTransfers: transfers.rows.map((r) => ({ id: r.id, debitAccountId: r.debit_account_id, creditAccountId: r.credit_account_id, amountMinor: Number(r.amount) })),
      wallets: walletIds.map((id) => ({ accountId: id, baselineMinor: baseline.wallets[id] ?? 0, finalMinor: wallet.get(id)?.balance ?? 0, pendingMinor: wallet.get(id)?.pending ?? 0 })),
      merchantNet: { baselineMinor: baseline.merchantNetMinor, finalMinor: [...merchant.values()].reduce((sum, b) => sum + b.balance, 0) },
    };
  });
}

/** `koban ledger verify` as an operator runs it: the CLI against DATABASE_URL; exit 0 or a report. */
export async function ledgerVerify(url: string): Promise<{ ok: boolean; summary: string }> {
  try {
    const { stdout } = await execFileAsync(process.execPath, [path.join(REPO_ROOT, 'src/cli/main.ts'), 'ledger', 'verify'],
      { cwd: REPO_ROOT, env: { ...process.env, DATABASE_URL: url, KOBAN_LOG_LEVEL: 'warn' }, timeout: VERIFY_TIMEOUT_MS, maxBuffer: 8 * 1024 * 1024 });
    return { ok: true, summary: stdout.trim() };
  } catch (error) {
    const failure = error as { stdout?: string; stderr?: string; message?: string };
    return { ok: false, summary: `${failure.stdout ?? ''}${failure.stderr ?? ''}`.trim() || (failure.message ?? 'ledger verify failed') };
  }
}
