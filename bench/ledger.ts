/**
 * `npm run bench:ledger`: how many transfers per second the ledger takes on a real, durable
 * PostgreSQL (fsync and synchronous_commit on), and how that compares with the naive
 * one-transaction-per-transfer design measured in the same run on a copy of the same data.
 *
 * Workload: 100,000 funded wallets; each caller loops "pick a random wallet, pay a merchant" and
 * awaits the answer. Scenario A: every payment goes to one hot merchant; B: to one of 1,000.
 * Callers: 1, 16, 64, 256. Figures only — no pass/fail thresholds (see the README).
 *
 * Environment: KOBAN_BENCH_SECONDS (per cell, default 5), KOBAN_BENCH_WALLETS (default 100000),
 * KOBAN_BENCH_CALLERS (default 1,16,64,256), KOBAN_BENCH_IMPLS (default batched,naive; also
 * batched-unsplit and batched-ungathered, the batcher without its later changes, see BATCHER_VARIANTS),
 * KOBAN_BENCH_SCENARIOS (default hot,many: the hot merchant, 1,000 merchants),
 * KOBAN_BENCH_PG_URL (use this server instead of starting one), KOBAN_BENCH_PROFILE=1 (print each
 * batched cell's statements from pg_stat_statements: calls, execution time, rows).
 */
import { randomInt } from 'node:crypto';
import { assert } from '../src/platform/assert.ts';
import pg from 'pg';
import { adminQuery as admin } from '../tools/postgres/admin.ts';
import { createLedger, type Ledger } from '../src/ledger/ledger.ts';
import { migrate } from '../src/platform/db/migrate.ts';
import { openPostgres } from '../src/platform/db/postgres.ts';
import { DEFAULT_DATABASE_TIMEOUTS } from '../src/platform/db/resilience.ts';
import type { Database } from '../src/platform/db/database.ts';
import { uuidv7 } from '../src/platform/ids.ts';
import { AccountCodes, AccountFlags, Ledgers, TransferCodes } from '../src/ledger/types.ts';
import { formatReport, verifyLedger } from '../src/ledger/verify.ts';
import { startThrowawayPostgres } from '../tools/postgres/throwaway.ts';
import { naiveTransfer } from './naive-ledger.ts';
import { costBetween, openMeter, postmasterPid, type Meter } from './pay/meter.ts';
import { formatTable, LatencyRecorder, type Row } from './report.ts';

const SECONDS = Number(process.env.KOBAN_BENCH_SECONDS ?? 5);
const WALLETS = Number(process.env.KOBAN_BENCH_WALLETS ?? 100_000);
const CALLERS = (process.env.KOBAN_BENCH_CALLERS ?? '1,16,64,256').split(',').map(Number);
const IMPLS = (process.env.KOBAN_BENCH_IMPLS ?? 'batched,naive').split(',');
const SCENARIOS = (process.env.KOBAN_BENCH_SCENARIOS ?? 'hot,many').split(',');
const PROFILE = process.env.KOBAN_BENCH_PROFILE === '1';
const MERCHANTS_MANY = 1_000;
const OPENING_BALANCE = 100_000_000n;

interface Fixture { wallets: string[]; hotMerchant: string; merchants: string[]; funding: string }

async function main(): Promise<void> {
  const settings = { shared_preload_libraries: 'pg_stat_statements', 'pg_stat_statements.track': 'top' };
  const server = process.env.KOBAN_BENCH_PG_URL === undefined ? await startThrowawayPostgres({ label: 'bench', settings }) : null;
  const adminUrl = server?.adminUrl ?? process.env.KOBAN_BENCH_PG_URL ?? '';
  try {
    await run(adminUrl, server === null ? null : postmasterPid(server.dataDir));
  } finally {
    await server?.stop();
  }
}

async function run(adminUrl: string, postmaster: number | null): Promise<void> {
  await admin(adminUrl, 'drop database if exists koban_bench_batched with (force)');
  await admin(adminUrl, 'drop database if exists koban_bench_naive with (force)');
  await admin(adminUrl, 'create database koban_bench_batched');
  const batchedDb = await openPostgres(withDatabase(adminUrl, 'koban_bench_batched'), 8);
  await migrate(batchedDb);
  const loadStarted = performance.now();
  const fixture = await load(createLedger(batchedDb, { maxAmountMinor: OPENING_BALANCE }));
  process.stdout.write(`loaded ${WALLETS} wallets and ${MERCHANTS_MANY + 1} merchants in ${((performance.now() - loadStarted) / 1000).toFixed(1)} s\n`);
  await batchedDb.close();
  // Same data for the baseline: a file-level copy of the loaded database.
  await admin(adminUrl, 'create database koban_bench_naive template koban_bench_batched');
  const settings = await serverSettings(adminUrl);
  process.stdout.write(`PostgreSQL: ${settings}\n\n`);

  await admin(adminUrl, 'create extension if not exists pg_stat_statements').catch(() => undefined);
  // This process is both the callers and the ledger, so its CPU is one column ("bench process").
  const meters = {
    batched: await openMeter({ adminUrl, database: 'koban_bench_batched', postmasterPid: postmaster, kobanPid: process.pid, loadPid: null }),
    naive: await openMeter({ adminUrl, database: 'koban_bench_naive', postmasterPid: postmaster, kobanPid: process.pid, loadPid: null }),
  };
  const rows: Row[] = [];
  try {
    for (const scenario of (['hot merchant', '1,000 merchants'] as const).filter((name) => SCENARIOS.includes(name === 'hot merchant' ? 'hot' : 'many'))) {
      for (const callers of CALLERS) {
        for (const impl of IMPLS.filter((name) => name in BATCHER_VARIANTS)) rows.push(await measureBatched(adminUrl, fixture, scenario, callers, meters.batched, impl));
        if (IMPLS.includes('naive')) rows.push(await measureNaive(adminUrl, fixture, scenario, callers, meters.naive));
        process.stdout.write(`  ${scenario}, ${callers} callers: done\n`);
      }
    }
  } finally {
    await meters.batched.close();
    await meters.naive.close();
  }
  process.stdout.write(`\n${formatTable(rows)}\n`);
  for (const name of ['koban_bench_batched', 'koban_bench_naive']) {
    const db = await openPostgres(withDatabase(adminUrl, name), 2);
    process.stdout.write(`\n${name}: ${formatReport(await verifyLedger(db))}\n`);
    await db.close();
  }
}

async function load(ledger: Ledger): Promise<Fixture> {
  const funding = uuidv7();
  const hotMerchant = uuidv7();
  const merchants = Array.from({ length: MERCHANTS_MANY }, () => uuidv7());
  const wallets = Array.from({ length: WALLETS }, () => uuidv7());
  const account = (id: string, code: number, flags: number) => ({ id, ledger: Ledgers.JPY, code, flags, reference: null });
  await ledger.createAccounts([account(funding, AccountCodes.fundingClearingCard, 0), account(hotMerchant, AccountCodes.merchantReceivable, 0)]);
  for (let i = 0; i < merchants.length; i += 1000) await ledger.createAccounts(merchants.slice(i, i + 1000).map((id) => account(id, AccountCodes.merchantReceivable, 0)));
  for (let i = 0; i < wallets.length; i += 1000) {
    const chunk = wallets.slice(i, i + 1000);
    await ledger.createAccounts(chunk.map((id) => account(id, AccountCodes.customerWallet, AccountFlags.debitsMustNotExceedCredits)));
    await Promise.all(chunk.map((wallet) => ledger.createTransfers([{ id: uuidv7(), debitAccountId: funding, creditAccountId: wallet, amount: OPENING_BALANCE, pendingId: null, ledger: Ledgers.JPY, code: TransferCodes.topUp, flags: 0, timeoutSeconds: 0, reference: null }])));
  }
  return { wallets, hotMerchant, merchants, funding };
}

type Pay = (debit: string, credit: string, amount: bigint) => Promise<boolean>;

/**
 * The batched ledger, and for comparisons in the same run (alternating, on the same data) its batcher
 * without the later changes: `batched-unsplit` (no sharing of a full queue between idle slots) and
 * `batched-ungathered` (a batch starts the moment a slot is free, as before turn gathering).
 */
const BATCHER_VARIANTS: Readonly<Record<string, { gatherTurn: boolean; splitIdle: boolean }>> = {
  batched: { gatherTurn: true, splitIdle: true },
  'batched-unsplit': { gatherTurn: true, splitIdle: false },
  'batched-ungathered': { gatherTurn: false, splitIdle: false },
};

async function measureBatched(adminUrl: string, fixture: Fixture, scenario: string, callers: number, meter: Meter, impl: string): Promise<Row> {
  const variant = BATCHER_VARIANTS[impl];
  assert(variant !== undefined, `known batched variant ${impl}`);
  const db = await openPostgres(withDatabase(adminUrl, 'koban_bench_batched'), 4);
  const ledger = createLedger(db, { maxAmountMinor: OPENING_BALANCE, batchItemsMax: 2048, batchesInFlightMax: Number(process.env.KOBAN_BENCH_INFLIGHT ?? 2),
    ...variant });
  const pay: Pay = async (debit, credit, amount) => {
    const [result] = await ledger.createTransfers([{ id: uuidv7(), debitAccountId: debit, creditAccountId: credit, amount, pendingId: null, ledger: Ledgers.JPY, code: TransferCodes.payment, flags: 0, timeoutSeconds: 0, reference: null }]);
    return result?.result === 'created';
  };
  try {
    const statementsBefore = PROFILE ? await readStatementTotals(adminUrl, 'koban_bench_batched') : null;
    const row = await measure(impl, scenario, callers, fixture, pay, meter);
    if (statementsBefore !== null) process.stdout.write(statementProfile(statementsBefore, await readStatementTotals(adminUrl, 'koban_bench_batched'), row));
    return row;
  } finally {
    await db.close();
  }
}

async function measureNaive(adminUrl: string, fixture: Fixture, scenario: string, callers: number, meter: Meter): Promise<Row> {
  // 256 callers queue on the hot row one transaction at a time: on a crowded box the wait for a connection passed
  // the default 5 s and a lock wait the 20 s statement timeout (runs died on both), so the naive cells wait longer
  // rather than abort the run.
  const timeouts = { ...DEFAULT_DATABASE_TIMEOUTS, acquireTimeoutMs: 60_000, statementTimeoutMs: 120_000 };
  const db = await openPostgres(withDatabase(adminUrl, 'koban_bench_naive'), Math.min(callers, 256), { timeouts });
  const pay: Pay = async (debit, credit, amount) => (await naiveTransfer(db, { id: uuidv7(), debitAccountId: debit, creditAccountId: credit, amount })) === 'created';
  try {
    return await measure('naive', scenario, callers, fixture, pay, meter);
  } finally {
    await db.close();
  }
}

async function measure(impl: string, scenario: string, callers: number, fixture: Fixture, pay: Pay, meter: Meter): Promise<Row> {
  const pickCredit = scenario === 'hot merchant' ? () => fixture.hotMerchant : () => fixture.merchants[randomInt(fixture.merchants.length)]!;
  const latency = new LatencyRecorder();
  let failures = 0;
  let completed = 0;
  const before = await meter.snapshot();
  const deadline = performance.now() + SECONDS * 1000;
  const warmupEnds = performance.now() + Math.min(1000, SECONDS * 200);
  const caller = async (): Promise<void> => {
    while (performance.now() < deadline) {
      const started = performance.now();
      const ok = await pay(fixture.wallets[randomInt(fixture.wallets.length)]!, pickCredit(), BigInt(1 + randomInt(999)));
      if (started >= warmupEnds) latency.record(performance.now() - started);
      completed++;
      if (!ok) failures++;
    }
  };
  await Promise.all(Array.from({ length: callers }, caller));
  // CPU and counters cover the whole cell, warm-up included, so they are divided by every transfer made in it.
  const cost = costBetween(before, await meter.snapshot());
  const measuredSeconds = (deadline - warmupEnds) / 1000;
  return {
    scenario, impl, callers, transfersPerSecond: latency.count / measuredSeconds, p50Ms: latency.percentile(50), p99Ms: latency.percentile(99), failures,
    cost: { benchCpuMs: cost.kobanCpuMs / completed, postgresCpuMs: cost.postgresCpuMs / completed, boxBusyShare: cost.boxBusyShare, othersShare: cost.othersShare,
      statements: cost.statements / completed, commits: cost.commits / completed, walSyncs: cost.walSyncs / completed },
  };
}

/** KOBAN_BENCH_PROFILE=1: where PostgreSQL's time went in the cell, per statement (pg_stat_statements, top level). */
interface StatementTotals { calls: number; execMs: number; rows: number; query: string }

async function readStatementTotals(adminUrl: string, database: string): Promise<Map<string, StatementTotals>> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const result = await client.query<{ queryid: string; calls: string; exec_ms: number; rows: string; query: string }>(
      `select s.queryid::text, s.calls, s.total_exec_time as exec_ms, s.rows, s.query
       from pg_stat_statements s join pg_database d on d.oid = s.dbid where d.datname = $1 and s.toplevel`, [database]);
    return new Map(result.rows.map((r) => [r.queryid, { calls: Number(r.calls), execMs: r.exec_ms, rows: Number(r.rows), query: r.query }]));
  } finally {
    await client.end();
  }
}

function statementProfile(before: Map<string, StatementTotals>, after: Map<string, StatementTotals>, row: Row): string {
  const deltas = [...after].map(([id, now]) => {
    const was = before.get(id);
    return { ...now, calls: now.calls - (was?.calls ?? 0), execMs: now.execMs - (was?.execMs ?? 0), rows: now.rows - (was?.rows ?? 0) };
  }).filter((d) => d.calls > 0).sort((a, b) => b.execMs - a.execMs).slice(0, 12);
  const lines = deltas.map((d) => `  ${String(d.calls).padStart(7)} calls  exec ${d.execMs.toFixed(0).padStart(6)} ms  ${(d.rows / d.calls).toFixed(1).padStart(6)} rows/call  ${d.query.replace(/\s+/g, ' ').slice(0, 100)}`);
  return `\nstatements, ${row.impl}, ${row.scenario}, ${row.callers} callers (${row.transfersPerSecond.toFixed(0)}/s):\n${lines.join('\n')}\n`;
}

async function serverSettings(url: string): Promise<string> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const result = await client.query<{ name: string; setting: string }>(
      `select name, setting from pg_settings where name in ('server_version', 'fsync', 'synchronous_commit', 'shared_buffers') order by name`);
    return result.rows.map((row) => `${row.name}=${row.setting}`).join(' ');
  } finally {
    await client.end();
  }
}

function withDatabase(url: string, name: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${name}`;
  return parsed.toString();
}

export type { Database };
await main();
