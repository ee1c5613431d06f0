/**
 * `npm run bench:pay`: payments per second through the till API, end to end: HTTPS to Koban's OPA
 * listener (dev CA), OPA-Auth signed requests verified against sealed merchant secrets and the
 * PostgreSQL nonce store, a fresh customer-presented code per payment, the linked payment + fee chain in
 * the ledger and the outbox event — on a throwaway, durable PostgreSQL (fsync on).
 *
 * Scenarios: "hot" — every payment to one merchant (one receivable account); "many" — spread over
 * KOBAN_BENCH_MERCHANTS merchants. Each caller loops "take the next code, POST /v2/till/payments, await".
 * Besides payments/s and latency, each row reports the SQL statements the process sent per payment
 * (every pg query: round trips are what a payment costs on a small box) and the risk engine's share:
 * the time spent in `risk.assess`, as a mean and as a share of the summed request latencies.
 * Figures only, no thresholds. Environment: KOBAN_BENCH_PAYMENTS (per cell, default 4000),
 * KOBAN_BENCH_CALLERS (default 16,64), KOBAN_BENCH_MERCHANTS (default 50), KOBAN_BENCH_PG_URL (use this server).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import https from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { adminQuery as admin } from '../tools/postgres/admin.ts';
import { createKoban, type Koban } from '../src/koban.ts';
import { requireTransferCreated } from '../src/ledger/ledger.ts';
import { AccountCodes, AccountFlags, Ledgers, TransferCodes } from '../src/ledger/types.ts';
import { formatReport, verifyLedger } from '../src/ledger/verify.ts';
import { createApiCredential, type IssuedCredential } from '../src/merchants/credentials.ts';
import { computeOpaAuthHeader } from '../src/merchants/opa/signature.ts';
import type { CustomerContext } from '../src/payments/context.ts';
import { loadConfig } from '../src/platform/config.ts';
import { migrate } from '../src/platform/db/migrate.ts';
import { openPostgres } from '../src/platform/db/postgres.ts';
import type { Database } from '../src/platform/db/database.ts';
import { uuidv7 } from '../src/platform/ids.ts';
import { devTlsPaths } from '../src/platform/tls/dev-ca.ts';
import { startThrowawayPostgres } from '../tools/postgres/throwaway.ts';
import { LatencyRecorder } from './report.ts';

const PAYMENTS = Number(process.env.KOBAN_BENCH_PAYMENTS ?? 4000);
const CALLERS = (process.env.KOBAN_BENCH_CALLERS ?? '16,64').split(',').map(Number);
const MERCHANTS = Number(process.env.KOBAN_BENCH_MERCHANTS ?? 50);
const CUSTOMERS = 2000;
const MINT_CONCURRENCY = 32;
const AMOUNT = 480;

interface BenchMerchant { merchantId: string; storeId: string; terminalId: string; credential: IssuedCredential }

/** Every statement any pg client of this process sends (pool queries go through Client#query). */
let statements = 0;
const clientQuery = pg.Client.prototype.query;
pg.Client.prototype.query = function countedQuery(this: pg.Client, ...args: unknown[]) {
  statements++;
  return (clientQuery as (...a: unknown[]) => unknown).apply(this, args);
} as typeof clientQuery;

/** Time inside the risk engine's `assess`, summed over a cell. */
const riskTime = { calls: 0, totalMs: 0 };

function timeRiskAssess(koban: Koban): void {
  const assess = koban.risk.assess.bind(koban.risk);
  koban.risk.assess = async (event) => {
    const t0 = performance.now();
    try {
      return await assess(event);
    } finally {
      riskTime.calls++;
      riskTime.totalMs += performance.now() - t0;
    }
  };
}

async function main(): Promise<void> {
  const server = process.env.KOBAN_BENCH_PG_URL === undefined ? await startThrowawayPostgres({ label: 'benchpay' }) : null;
  const adminUrl = server?.adminUrl ?? process.env.KOBAN_BENCH_PG_URL ?? '';
  const tlsDir = await mkdtemp(path.join(tmpdir(), 'koban-benchpay-tls-'));
  try {
    await run(adminUrl, tlsDir);
  } finally {
    await rm(tlsDir, { recursive: true, force: true });
    await server?.stop();
  }
}

async function run(adminUrl: string, tlsDir: string): Promise<void> {
  await admin(adminUrl, 'drop database if exists koban_bench_pay with (force)');
  await admin(adminUrl, 'create database koban_bench_pay');
  const url = new URL(adminUrl);
  url.pathname = '/koban_bench_pay';
  const config = loadConfig({ ...process.env, NODE_ENV: 'development', KOBAN_LOG_LEVEL: 'warn', DATABASE_URL: url.toString(), KOBAN_DATABASE_POOL_SIZE: '40',
    KOBAN_OPA_PORT: '0', KOBAN_PORT: '0', KOBAN_TLS_DIR: tlsDir, KOBAN_OPA_TLS: 'true', KOBAN_SECRET_KEY: randomBytes(32).toString('hex') });
  const db = await openPostgres(config.databaseUrl ?? '', config.databasePoolSize);
  await migrate(db);
  const koban = await createKoban(config, db);
  timeRiskAssess(koban);
  // The hot merchant's one store takes hundreds of payments a second, far above the default store
  // velocity threshold (600 a minute) meant for real shops: raised as an operator would for such a store.
  // Every rule still runs on every payment.
  await koban.risk.settings.updateRule('store_velocity', { params: { paymentsPerMinuteMax: 1_000_000, amountPer10MinMaxMinor: '100000000000' } },
    { kind: 'operator', id: 'bench' }, 'bench: one synthetic store at hundreds of payments a second');
  const base = await koban.payments.listenOpa();
  try {
    const merchants = await loadMerchants(koban, db);
    const customers = await loadCustomers(koban, db);
    process.stdout.write(`Koban OPA listener ${base}; ${merchants.length} merchants, ${customers.length} customers; ${PAYMENTS} payments per cell\n\n`);
    const agent = new https.Agent({ keepAlive: true, maxSockets: Math.max(...CALLERS), ca: readFileSync(devTlsPaths(tlsDir).caCertPath) });
    const rows: string[] = [];
    for (const scenario of ['hot', 'many'] as const) {
      for (const callers of CALLERS) {
        const codes = await mintCodes(koban, customers, PAYMENTS);
        const targets = scenario === 'hot' ? [merchants[0] as BenchMerchant] : merchants;
        rows.push(await cell(scenario, callers, base, agent, codes, targets));
        process.stdout.write(`${rows.at(-1)}\n`);
      }
    }
    agent.destroy();
    const report = await verifyLedger(db);
    process.stdout.write(`\n${report.ok ? 'OK' : 'FAILED'} — ${formatReport(report)}\n`);
  } finally {
    await koban.close();
    await db.close();
  }
}

async function loadMerchants(koban: Koban, db: Database): Promise<BenchMerchant[]> {
  const merchants: BenchMerchant[] = [];
  for (let i = 0; i < MERCHANTS; i++) {
    const merchantId = uuidv7();
    const receivable = uuidv7();
    await koban.ledger.createAccounts([{ id: receivable, ledger: Ledgers.JPY, code: AccountCodes.merchantReceivable, flags: AccountFlags.none, reference: `merchant:${merchantId}` }]);
    await db.pool.query(`insert into merchants (id, name, category_code, receivable_account_id) values ($1, $2, '5411', $3)`, [merchantId, `Bench shop ${i}`, receivable]);
    const storeId = uuidv7();
    const terminalId = uuidv7();
    await db.pool.query(`insert into stores (id, merchant_id, name) values ($1, $2, 'Store')`, [storeId, merchantId]);
    await db.pool.query(`insert into terminals (id, store_id, name) values ($1, $2, 'Till')`, [terminalId, storeId]);
    merchants.push({ merchantId, storeId, terminalId, credential: await createApiCredential(db, koban.payments.box, { merchantId }) });
  }
  return merchants;
}

async function loadCustomers(koban: Koban, db: Database): Promise<Array<Omit<CustomerContext, 'deviceId'>>> {
  const funding = uuidv7();
  await koban.ledger.createAccounts([{ id: funding, ledger: Ledgers.JPY, code: AccountCodes.fundingClearingCard, flags: AccountFlags.none, reference: 'bench-funding' }]);
  const customers = Array.from({ length: CUSTOMERS }, () => ({ customerId: randomUUID(), walletAccountId: uuidv7() }));
  for (let i = 0; i < customers.length; i += 500) {
    const chunk = customers.slice(i, i + 500);
    // Real customer rows: the payment notification writes the customer's feed, which references them.
    await db.pool.query(`insert into customers (id, webauthn_user_id) select * from unnest($1::uuid[], $2::text[])`,
      [chunk.map((c) => c.customerId), chunk.map(() => randomBytes(32).toString('base64url'))]);
    await koban.ledger.createAccounts(chunk.map((c) => ({ id: c.walletAccountId, ledger: Ledgers.JPY, code: AccountCodes.customerWallet, flags: AccountFlags.debitsMustNotExceedCredits, reference: null })));
    await db.pool.query(`insert into customer_wallets (customer_id, account_id) select * from unnest($1::uuid[], $2::uuid[])`, [chunk.map((c) => c.customerId), chunk.map((c) => c.walletAccountId)]);
    for (let j = 0; j < chunk.length; j += 100) {
      requireTransferCreated(await koban.ledger.createTransfers(chunk.slice(j, j + 100).map((c) => ({
        id: uuidv7(), debitAccountId: funding, creditAccountId: c.walletAccountId, amount: 10_000_000n, pendingId: null,
        ledger: Ledgers.JPY, code: TransferCodes.topUp, flags: 0, timeoutSeconds: 0, reference: 'bench top-up',
      }))));
    }
  }
  return customers;
}

/** One live code per (customer, device): each code gets its own device, as a phone refreshing its screen would. */
async function mintCodes(koban: Koban, customers: ReadonlyArray<Omit<CustomerContext, 'deviceId'>>, count: number): Promise<string[]> {
  const codes: string[] = new Array(count);
  let next = 0;
  await Promise.all(Array.from({ length: MINT_CONCURRENCY }, async () => {
    while (next < count) {
      const index = next++;
      const customer = customers[index % customers.length] as Omit<CustomerContext, 'deviceId'>;
      codes[index] = (await koban.payments.payments.mintPaymentCode({ ...customer, deviceId: `bench-device-${index}` })).code;
    }
  }));
  return codes;
}

async function cell(scenario: string, callers: number, base: string, agent: https.Agent, codes: readonly string[], targets: readonly BenchMerchant[]): Promise<string> {
  const latencies = new LatencyRecorder();
  let next = 0;
  let failures = 0;
  let latencySumMs = 0;
  const statementsBefore = statements;
  const risk = { ...riskTime };
  const started = performance.now();
  await Promise.all(Array.from({ length: callers }, async () => {
    while (next < codes.length) {
      const index = next++;
      const merchant = targets[index % targets.length] as BenchMerchant;
      const body = JSON.stringify({ merchantPaymentId: `b-${scenario}-${callers}-${index}`, code: codes[index], amount: { amount: AMOUNT, currency: 'JPY' }, storeId: merchant.storeId, terminalId: merchant.terminalId });
      const t0 = performance.now();
      const answer = await post(base, agent, merchant.credential, body);
      latencies.record(performance.now() - t0);
      latencySumMs += performance.now() - t0;
      if (answer.status !== 200 || !answer.body.includes('"SUCCESS"')) failures++;
    }
  }));
  const seconds = (performance.now() - started) / 1000;
  const perPayment = (statements - statementsBefore) / codes.length;
  const riskCalls = riskTime.calls - risk.calls;
  const riskMs = riskTime.totalMs - risk.totalMs;
  const riskMean = riskCalls === 0 ? 0 : riskMs / riskCalls;
  return `${scenario.padEnd(5)} callers ${String(callers).padStart(3)}  ${Math.round(codes.length / seconds).toString().padStart(6)} payments/s  p50 ${latencies.percentile(50).toFixed(1).padStart(6)} ms  p99 ${latencies.percentile(99).toFixed(1).padStart(6)} ms  `
    + `failures ${failures}  statements/payment ${perPayment.toFixed(1).padStart(5)}  risk.assess ${riskCalls} calls, mean ${riskMean.toFixed(1)} ms, ${(latencySumMs === 0 ? 0 : (100 * riskMs) / latencySumMs).toFixed(1)}% of latency`;
}

function post(base: string, agent: https.Agent, credential: IssuedCredential, body: string): Promise<{ status: number; body: string }> {
  const target = new URL('/v2/till/payments', base);
  const authorization = computeOpaAuthHeader({
    apiKey: credential.apiKey, apiSecret: credential.apiSecret, method: 'POST', path: target.pathname,
    nonce: randomBytes(8).toString('hex'), epochSec: Math.floor(Date.now() / 1000), contentType: 'application/json', body,
  });
  return new Promise((resolve, reject) => {
    const request = https.request(target, { method: 'POST', agent, headers: { authorization, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
    });
    request.on('error', reject);
    request.end(body);
  });
}


await main();
