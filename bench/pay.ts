/**
 * `npm run bench:pay`: end-to-end payments through Koban as a load test would see them, with the costs a
 * performance engineer needs beside every figure. See the README's "Benchmarks" section for the columns.
 *
 * - PostgreSQL: a throwaway, durable server (fsync and synchronous_commit on) with pg_stat_statements.
 * - Koban: its own process, `node src/main.ts` (the `npm start` entry point), configured by environment only.
 * - The load generator: its own process (bench/pay/loadgen.ts). A payment = a code minted through the wallet
 *   API (the customer's session) + the till's OPA-Auth signed charge over HTTPS.
 * - Closed loop at 1/16/64/256 callers, for mint+charge and for the charge alone (codes minted before the
 *   window); an open-loop constant-rate ladder that finds the highest rate held with p99 < 100 ms
 *   (HdrHistogram, latency from the scheduled start: corrected for coordinated omission).
 * - Per row: payments/s, p50/p99/p99.9, CPU ms per payment for Koban, PostgreSQL and the load generator
 *   (/proc), the box's busy share and the part used by others, statements, commits and WAL fsyncs per payment.
 * - The two ceilings in the same run: (a) the essential writes batched 100 per transaction (pgbench), (b) a
 *   signed no-op route on Koban's OPA server layer; Koban's ratio to the lower one.
 * - `koban ledger verify` after every run; the bench fails if it is not clean.
 * - Growth: KOBAN_BENCH_WALLETS=10000000 adds wallets after the 100k run and repeats the cells at that size.
 *
 * Usage: npm run bench:pay [-- --quick] [-- --parts closed,charge,open,ceilings] [-- --nodes N]
 * `--nodes N`: N Koban nodes on the one database, as `koban start --workers N` runs them (node:cluster workers
 * sharing the ports, src/workers.ts); Koban's CPU column is then the primary and all its workers.
 * Environment: KOBAN_BENCH_WALLETS (growth size), KOBAN_BENCH_CALLERS (1,16,64,256), KOBAN_BENCH_RATES
 * (open-loop ladder), KOBAN_BENCH_SECONDS (measured seconds per cell), KOBAN_BENCH_POOL (Koban's pool size;
 * default: Koban's own), KOBAN_BENCH_PORT_BASE (3700: Koban, +1 OPA, +2 no-op ceiling).
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpus, loadavg, tmpdir } from 'node:os';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { adminQuery } from '../tools/postgres/admin.ts';
import { startThrowawayPostgres, type ThrowawayPostgres } from '../tools/postgres/throwaway.ts';
import { migrate } from '../src/platform/db/migrate.ts';
import { openPostgres } from '../src/platform/db/postgres.ts';
import { ensureDevTls } from '../src/platform/tls/dev-ca.ts';
import { BATCH, pgbenchAvailable, prepareCeiling, runOwnWriters, runPgbench, type CeilingRun } from './pay/ceiling-sql.ts';
import { createHotMerchant, raiseStoreVelocity, seedWallets, signInCustomers } from './pay/fixture.ts';
import { costBetween, openMeter, othersBetween, postmasterPid, processTable, type Cost, type Meter, type MeterTargets, type Snapshot } from './pay/meter.ts';
import { REPO_ROOT, startKoban, startLoad, startNoopServer, type LoadProcess } from './pay/processes.ts';
import type { CellResult, CellSpec, Credential, LoadSetup } from './pay/protocol.ts';
import { profileTable, readStatements, type StatementSnapshot } from './pay/profile.ts';
import { fixed, int, markdownTable, ms, percent, percentiles, spectrum } from './pay/table.ts';

type Part = 'closed' | 'charge' | 'open' | 'ceilings';

const ARGS = process.argv.slice(2);
const QUICK = ARGS.includes('--quick');
/** `--profile` (npm run bench:pay:profile): each cell's statements from pg_stat_statements, per payment. */
const PROFILE = ARGS.includes('--profile');
const PARTS = new Set<Part>((valueOf('--parts') ?? 'closed,charge,open,ceilings').split(',') as Part[]);
const BASE_WALLETS = 100_000;
const GROWTH_WALLETS = Number(process.env.KOBAN_BENCH_WALLETS ?? BASE_WALLETS);
const CALLERS = (process.env.KOBAN_BENCH_CALLERS ?? '1,16,64,256').split(',').map(Number);
const GROWTH_CALLERS = [16, 64];
/** An explicit open-loop ladder; without one, it starts at a quarter of the closed-loop peak and climbs by 30 %. */
const RATES = process.env.KOBAN_BENCH_RATES?.split(',').map(Number) ?? null;
const LADDER_STEPS_MAX = 14;
const DESCENT_STEPS_MAX = 3;
const MEASURE_MS = Number(process.env.KOBAN_BENCH_SECONDS ?? (QUICK ? 4 : 20)) * 1000;
const WARMUP_MS = QUICK ? 1500 : 5000;
/** A closed-loop window runs until each caller has had this many answers in it (on a slow box, past MEASURE_MS). */
const CLOSED_MIN_ROUNDS = 3;
const MEASURE_MAX_MS = 60_000;
const OPEN_MEASURE_MS = QUICK ? 4000 : 15_000;
const CEILING_SECONDS = QUICK ? 5 : 15;
/** Signed-in customers the load spreads over: risk rules allow each about 20 payments an hour. */
const ACTIVE_CUSTOMERS = QUICK ? 20_000 : 50_000;
const AMOUNT_MINOR = 480;
const P99_TARGET_MS = 100;
const OPEN_IN_FLIGHT_MAX = 2048;
const PREMINT_MAX = 150_000;
const IDLE_MS = 3000;
const PORT_BASE = Number(process.env.KOBAN_BENCH_PORT_BASE ?? 3700);
/** Koban nodes (cluster workers on this machine); 1 is Koban in one process, as before. */
const NODES = Number(valueOf('--nodes') ?? 1);
if (!Number.isInteger(NODES) || NODES < 1 || NODES > 16) throw new Error('--nodes takes a whole number from 1 to 16');
const DATABASE = 'koban_bench_pay';
const CEILING_DATABASE = 'koban_bench_ceiling';

function valueOf(flag: string): string | undefined {
  const at = ARGS.indexOf(flag);
  return at === -1 ? undefined : ARGS[at + 1];
}

function log(line: string): void {
  process.stdout.write(`${line}\n`);
}

interface Row { readonly label: string; readonly callers: string; readonly result: CellResult; readonly cost: Cost; readonly latency: 'total' | 'charge' }

interface Bench {
  readonly server: ThrowawayPostgres;
  readonly adminUrl: string;
  readonly workDir: string;
  readonly secrets: { secretKey: string; identitySecret: string };
  readonly meter: Meter;
  readonly targets: MeterTargets;
  merchant: Credential & { merchantId: string };
  load: LoadProcess | null;
  /** With --profile: a connection reading pg_stat_statements around each cell. */
  profiler: pg.Client | null;
}

async function main(): Promise<void> {
  const server = await startPostgres();
  const workDir = await mkdtemp(path.join(tmpdir(), 'koban-benchpay-'));
  try {
    await run(server, workDir);
  } finally {
    await rm(workDir, { recursive: true, force: true });
    await server.stop();
  }
}

/** pg_stat_statements needs preloading; a server without the library still runs (statements then show –). */
async function startPostgres(): Promise<ThrowawayPostgres> {
  const settings = { shared_preload_libraries: 'pg_stat_statements', 'pg_stat_statements.max': '10000', 'pg_stat_statements.track': PROFILE ? 'all' : 'top', 'pg_stat_statements.track_utility': 'on',
    ...(PROFILE ? { 'pg_stat_statements.track_planning': 'on' } : {}) };
  try {
    return await startThrowawayPostgres({ label: 'benchpay', settings });
  } catch (error) {
    log(`PostgreSQL would not start with pg_stat_statements (${(error as Error).message.split('\n')[0]}); statements per payment will not be counted`);
    return startThrowawayPostgres({ label: 'benchpay' });
  }
}

async function run(server: ThrowawayPostgres, workDir: string): Promise<void> {
  const adminUrl = server.adminUrl;
  await adminQuery(adminUrl, 'create extension if not exists pg_stat_statements').catch(() => undefined);
  await adminQuery(adminUrl, `create database ${DATABASE}`);
  const secrets = { secretKey: randomBytes(32).toString('hex'), identitySecret: randomBytes(32).toString('base64url') };
  const targets: MeterTargets = { adminUrl, database: DATABASE, postmasterPid: postmasterPid(server.dataDir), kobanPid: null, loadPid: null };
  const meter = await openMeter(targets);
  log(`# bench:pay ${QUICK ? '(quick)' : '(full)'}${NODES > 1 ? `, ${NODES} Koban nodes (cluster workers)` : ', one Koban node'} — ${new Date().toISOString()}`);
  log(describeBox(server, meter));
  const started = performance.now();
  const merchant = await loadFixture(adminUrl, secrets, BASE_WALLETS);
  log(`fixture: ${int(BASE_WALLETS)} funded wallets, ${int(Math.min(BASE_WALLETS, ACTIVE_CUSTOMERS))} signed-in customers, one hot merchant (${((performance.now() - started) / 1000).toFixed(1)} s)`);
  await ensureDevTls({ dir: path.join(workDir, 'tls') });
  const profiler = PROFILE ? new pg.Client({ connectionString: adminUrl }) : null;
  await profiler?.connect();
  const bench: Bench = { server, adminUrl, workDir, secrets, meter, targets, merchant, load: null, profiler };
  const output: string[] = [];
  const processesAtStart = processTable();
  const ourPids = new Set<number>([process.pid]);
  const isOurs = (pid: number): boolean => {
    for (let at = pid, hops = 0; at > 1 && hops < 6; hops++) {
      if (ourPids.has(at) || at === targets.postmasterPid) return true;
      at = Number(readFileSync(`/proc/${at}/stat`, 'utf8').split(') ')[1]?.split(' ')[1] ?? 0);
    }
    return false;
  };
  try {
    const base = await measureKoban(bench, BASE_WALLETS, CALLERS, PARTS);
    output.push(...base.tables);
    if (PARTS.has('ceilings')) output.push(await measureCeilings(bench, base));
    if (GROWTH_WALLETS > BASE_WALLETS) output.push(await measureGrowth(bench, base));
  } finally {
    await bench.load?.stop();
    await meter.close();
    await profiler?.end();
  }
  let sharing = '';
  try {
    sharing = othersBetween(processesAtStart, processTable(), (pid) => { try { return isOurs(pid); } catch { return false; } });
  } catch {
    sharing = 'other processes: unknown';
  }
  output.unshift(`Shared the box during the run (${((performance.now() - started) / 1000).toFixed(0)} s): ${sharing}. Koban, PostgreSQL and the load generator are in every row's CPU columns.`);
  log(`\n${output.join('\n\n')}\n`);
}

function describeBox(server: ThrowawayPostgres, meter: Meter): string {
  const cores = cpus();
  return [
    `box: ${cores.length} cores (${cores[0]?.model ?? 'unknown'}), load average ${loadavg().map((l) => l.toFixed(2)).join(' ')} at start;`,
    `  sharing it during the run: Koban (one process), PostgreSQL (postmaster + backends), the load generator (one process), and anything else on the machine (the "others" column).`,
    `PostgreSQL ${server.binaries.version} (${server.binaries.source}), fsync on, synchronous_commit on, shared_buffers 256MB; pg_stat_statements ${meter.statementsCounted ? 'on' : 'OFF (statements not counted)'}`,
  ].join('\n');
}

async function loadFixture(adminUrl: string, secrets: Bench['secrets'], wallets: number): Promise<Credential & { merchantId: string }> {
  const db = await openPostgres(withDatabase(adminUrl, DATABASE), 4);
  try {
    await migrate(db);
    const client = new pg.Client({ connectionString: withDatabase(adminUrl, DATABASE) });
    await client.connect();
    try {
      await seedWallets(client, 1, wallets, log);
      await raiseStoreVelocity(client);
    } finally {
      await client.end();
    }
    return await createHotMerchant(db, Buffer.from(secrets.secretKey, 'hex'));
  } finally {
    await db.close();
  }
}

async function writeCustomers(bench: Bench, walletCount: number): Promise<string> {
  const client = new pg.Client({ connectionString: withDatabase(bench.adminUrl, DATABASE) });
  await client.connect();
  try {
    const customers = await signInCustomers(client, walletCount, Math.min(walletCount, ACTIVE_CUSTOMERS), bench.secrets.identitySecret);
    const file = path.join(bench.workDir, `customers-${walletCount}.json`);
    await writeFile(file, JSON.stringify(customers), { mode: 0o600 });
    return file;
  } finally {
    await client.end();
  }
}

function kobanEnv(bench: Bench): Record<string, string> {
  return {
    NODE_ENV: 'development', DATABASE_URL: withDatabase(bench.adminUrl, DATABASE),
    KOBAN_HOST: '127.0.0.1', KOBAN_PORT: String(PORT_BASE), KOBAN_PUBLIC_URL: `http://127.0.0.1:${PORT_BASE}`,
    KOBAN_OPA_HOST: '127.0.0.1', KOBAN_OPA_PORT: String(PORT_BASE + 1), KOBAN_OPA_RATE_PER_SECOND: '10000', KOBAN_OPA_RATE_BURST: '100000', KOBAN_OPA_TLS: 'true', KOBAN_TLS_DIR: path.join(bench.workDir, 'tls'),
    KOBAN_SECRET_KEY: bench.secrets.secretKey, KOBAN_IDENTITY_SECRET: bench.secrets.identitySecret,
    KOBAN_DEMO_DATA: 'false', KOBAN_DEMO_OPERATOR: 'false', KOBAN_SANDBOXES: 'false', KOBAN_DEV_IDP: 'false', KOBAN_LOG_LEVEL: 'warn',
    KOBAN_DATA_DIR: path.join(bench.workDir, 'data'), KOBAN_SETTLEMENT_DIR: path.join(bench.workDir, 'settlement'),
    ...(process.env.KOBAN_BENCH_POOL === undefined ? {} : { KOBAN_DATABASE_POOL_SIZE: process.env.KOBAN_BENCH_POOL }),
    ...(NODES > 1 ? { KOBAN_WORKERS: String(NODES), KOBAN_NODE_ID: 'bench' } : {}),
  };
}

interface KobanMeasurement {
  readonly tables: string[];
  readonly closed: Row[];
  readonly open: OpenStep[];
  readonly heldRate: number;
}

/** One Koban run: start it, the closed-loop table, the open-loop ladder, stop it, verify the ledger. */
async function measureKoban(bench: Bench, wallets: number, callers: readonly number[], parts: ReadonlySet<Part>): Promise<KobanMeasurement> {
  const customersFile = await writeCustomers(bench, wallets);
  log(`\n## Koban, ${int(wallets)} wallets`);
  const koban = await startKoban(kobanEnv(bench), log);
  bench.targets.kobanPid = koban.pid;
  const closed: Row[] = [];
  let open: OpenStep[] = [];
  let idle = '';
  try {
    idle = await idleCost(bench);
    await setupLoad(bench, { opaBase: koban.opaBase, walletBase: koban.walletBase, caPath: path.join(bench.workDir, 'tls', 'ca.pem'), credential: bench.merchant, customersFile, amountMinor: AMOUNT_MINOR });
    for (const count of callers) {
      if (parts.has('closed')) {
        const row = await closedCell(bench, 'mint+charge', 'payment', count, 0);
        closed.push(row);
        log(`  closed loop, ${count} callers, mint+charge: ${int(rate(row))} payments/s, p99 ${ms(percentiles(row.result.total).p99)} ms (mint p50/p99 ${ms(percentiles(row.result.mint).p50)}/${ms(percentiles(row.result.mint).p99)}, charge ${ms(percentiles(row.result.charge).p50)}/${ms(percentiles(row.result.charge).p99)})${failureText(row.result)}`);
      }
      if (parts.has('charge')) {
        const reference = closed.find((r) => r.callers === String(count));
        // Enough codes for the window at about 2.5× the mint+charge rate, and for every caller's warm-up and minimum rounds.
        const premint = Math.min(PREMINT_MAX, Math.max((CLOSED_MIN_ROUNDS + 2) * count, Math.ceil(2.5 * (reference === undefined ? 500 : rate(reference)) * (WARMUP_MS + MEASURE_MS) / 1000) + 200));
        const row = await closedCell(bench, 'charge', 'charge', count, premint);
        closed.push(row);
        log(`  closed loop, ${count} callers, charge alone: ${int(rate(row))} payments/s, p99 ${ms(percentiles(row.result.charge).p99)} ms${failureText(row.result)}`);
      }
    }
    if (parts.has('open')) open = await openLadder(bench, Math.max(0, ...closed.filter((r) => r.label === 'mint+charge').map(rate)));
  } finally {
    await koban.stop();
    bench.targets.kobanPid = null;
  }
  await verifyLedger(bench.adminUrl, DATABASE, `Koban's database after the ${int(wallets)}-wallet run`);
  const held = open.filter((s) => s.held).at(-1);
  const tables: string[] = [idle];
  if (closed.length > 0) tables.push(`### Closed loop — ${int(wallets)} wallets, one hot merchant\n\n${closedTable(closed)}`);
  if (open.length > 0) tables.push(openSection(open, wallets));
  return { tables, closed, open, heldRate: held?.rate ?? 0 };
}

/** Koban's background work (pollers, dispatchers) costs CPU and statements with no payment at all. */
async function idleCost(bench: Bench): Promise<string> {
  await new Promise((resolve) => setTimeout(resolve, IDLE_MS));
  const before = await bench.meter.snapshot();
  await new Promise((resolve) => setTimeout(resolve, IDLE_MS));
  const cost = costBetween(before, await bench.meter.snapshot());
  const line = `Idle Koban (no load, ${fixed(cost.seconds, 1)} s): Koban ${fixed(cost.kobanCpuMs / cost.seconds, 1)} ms CPU/s, PostgreSQL ${fixed(cost.postgresCpuMs / cost.seconds, 1)} ms CPU/s, `
    + `${fixed(cost.statements / cost.seconds, 1)} statements/s, ${fixed(cost.commits / cost.seconds, 1)} commits/s, ${fixed(cost.walSyncs / cost.seconds, 1)} WAL fsyncs/s; box busy ${percent(cost.boxBusyShare)} (others ${percent(cost.othersShare)}). `
    + 'Every row below includes this background share, spread over its payments.';
  log(`  ${line}`);
  return line;
}

async function setupLoad(bench: Bench, setup: LoadSetup): Promise<void> {
  await bench.load?.stop();
  bench.load = await startLoad(setup);
  bench.targets.loadPid = bench.load.pid;
}

async function measuredCell(bench: Bench, spec: CellSpec): Promise<{ result: CellResult; cost: Cost }> {
  if (bench.load === null) throw new Error('no load generator');
  let before: Snapshot | null = null;
  let after: Promise<Snapshot> | null = null;
  let statementsBefore: StatementSnapshot | null = null;
  let statementsAfter: StatementSnapshot | null = null;
  const profiler = bench.profiler;
  const result = await bench.load.run(spec, async () => {
    await analyzeGrownTables(bench);
    if (profiler !== null) statementsBefore = await readStatements(profiler, DATABASE);
    before = await bench.meter.snapshot();
  }, async () => {
    after = bench.meter.snapshot();
    await after;
    if (profiler !== null) statementsAfter = await readStatements(profiler, DATABASE);
  });
  if (before === null || after === null) throw new Error(`cell ${spec.tag}: the window was never opened`);
  if (statementsBefore !== null && statementsAfter !== null) {
    log(`\n#### Statements of ${spec.tag} (pg_stat_statements, per payment)\n\n${profileTable(statementsBefore, statementsAfter, result.succeeded)}\n`);
  }
  return { result, cost: costBetween(before, await after) };
}

/**
 * Before each window (after its warm-up), ANALYZE the tables autovacuum would analyze by now (more changes
 * since their last analyze than its default threshold, 50 + 10 % of their rows), as a live system's autovacuum
 * has. Without it the fixture's analyze leaves payments "known empty": Koban's connections prepared the till's
 * read on it and kept a plan that scanned every payment of the run (47–135 buffer pages a call, growing with
 * the run, where the index lookup reads 12), until autovacuum's next turn re-planned it, mid-run or never:
 * a cost of the 4-second cells, not of Koban. ANALYZE invalidates those plans; it runs outside the window.
 */
async function analyzeGrownTables(bench: Bench): Promise<void> {
  const client = new pg.Client({ connectionString: withDatabase(bench.adminUrl, DATABASE) });
  await client.connect();
  try {
    const grown = await client.query<{ name: string }>(
      `select format('%I.%I', s.schemaname, s.relname) as name from pg_stat_user_tables s join pg_class c on c.oid = s.relid
       where s.n_mod_since_analyze > 50 + 0.1 * greatest(c.reltuples, 0)`);
    if (grown.rows.length > 0) await client.query(`analyze ${grown.rows.map((r) => r.name).join(', ')}`);
  } finally {
    await client.end();
  }
}

async function closedCell(bench: Bench, label: string, work: 'payment' | 'charge' | 'noop', callers: number, premint: number, path = '/v2/till/payments'): Promise<Row> {
  const spec: CellSpec = { tag: `${label}-${callers}`, loop: 'closed', work, callers, ratePerSecond: 0, warmupMs: WARMUP_MS, measureMs: MEASURE_MS,
    minCompleted: CLOSED_MIN_ROUNDS * callers, measureMaxMs: MEASURE_MAX_MS, premint, inFlightMax: callers, path };
  const { result, cost } = await measuredCell(bench, spec);
  return { label, callers: String(callers), result, cost, latency: work === 'charge' ? 'charge' : 'total' };
}

function rate(row: { result: CellResult }): number {
  return row.result.succeeded / (row.result.windowMs / 1000);
}

function failureText(result: CellResult): string {
  const entries = Object.entries(result.failures);
  return entries.length === 0 && result.notSent === 0 ? '' : `; FAILURES ${entries.map(([k, v]) => `${k} ×${v}`).join(', ')}${result.notSent > 0 ? ` not sent ×${result.notSent}` : ''}`;
}

function perPayment(value: number, row: Row): string {
  return fixed(value / Math.max(1, row.result.succeeded));
}

const COST_HEADER = ['Koban CPU ms/pay', 'PG CPU ms/pay', 'load gen CPU ms/pay', 'box busy', 'others', 'statements/pay', 'commits/pay', 'WAL fsyncs/pay'];

function costCells(row: Row): string[] {
  const c = row.cost;
  return [perPayment(c.kobanCpuMs, row), perPayment(c.postgresCpuMs, row), perPayment(c.loadCpuMs, row), percent(c.boxBusyShare), percent(c.othersShare),
    fixed(c.statements / Math.max(1, row.result.succeeded), 1), fixed(c.commits / Math.max(1, row.result.succeeded), 1), fixed(c.walSyncs / Math.max(1, row.result.succeeded))];
}

function closedTable(rows: readonly Row[]): string {
  const header = ['work', 'callers', 'payments/s', 'p50 ms', 'p99 ms', 'p99.9 ms', ...COST_HEADER, 'failed'];
  return markdownTable(header, rows.map((row) => {
    const p = percentiles(row.latency === 'charge' ? row.result.charge : row.result.total);
    return [row.label, row.callers, int(rate(row)), ms(p.p50), ms(p.p99), ms(p.p999), ...costCells(row), int(row.result.completed - row.result.succeeded)];
  }), 2);
}

interface OpenStep extends Row { readonly rate: number; readonly held: boolean; readonly why: string }

/** Steps the offered rate up the ladder until a step is not held, then tries once between the last two. */
async function openLadder(bench: Bench, closedPeak: number): Promise<OpenStep[]> {
  const steps: OpenStep[] = [];
  const ladder = RATES ?? generatedLadder(closedPeak);
  for (const offered of ladder) {
    const step = await openStep(bench, offered);
    steps.push(step);
    if (step.held) continue;
    // Not held: once between the last held rate (or nothing) and this one, then stop.
    const last = steps.filter((s) => s.held).at(-1)?.rate ?? 0;
    const middle = roundRate((last + offered) / 2);
    if (middle > last && middle < offered) steps.push(await openStep(bench, middle));
    break;
  }
  // Nothing held (a crowded box): halve a few times, so the table still says where the knee is.
  for (let tries = 0; tries < DESCENT_STEPS_MAX && !steps.some((s) => s.held); tries++) {
    const lowest = Math.min(...steps.map((s) => s.rate));
    if (lowest <= 2) break;
    steps.push(await openStep(bench, roundRate(lowest / 2)));
  }
  return steps.sort((a, b) => a.rate - b.rate);
}

function generatedLadder(closedPeak: number): number[] {
  const rates = [roundRate(Math.max(10, closedPeak / 4))];
  while (rates.length < LADDER_STEPS_MAX) rates.push(roundRate((rates.at(-1) ?? 10) * 1.3));
  return rates;
}

/** Two significant digits: 37 → 37, 1234 → 1200. */
function roundRate(value: number): number {
  const scale = 10 ** Math.max(0, Math.floor(Math.log10(Math.max(1, value))) - 1);
  return Math.max(1, Math.round(value / scale) * scale);
}

async function openStep(bench: Bench, offered: number): Promise<OpenStep> {
  const spec: CellSpec = { tag: `open-${offered}`, loop: 'open', work: 'payment', callers: 0, ratePerSecond: offered, warmupMs: WARMUP_MS, measureMs: OPEN_MEASURE_MS,
    minCompleted: 0, measureMaxMs: OPEN_MEASURE_MS, premint: 0, inFlightMax: Math.min(OPEN_IN_FLIGHT_MAX, Math.floor(ACTIVE_CUSTOMERS / 4)), path: '/v2/till/payments' };
  const { result, cost } = await measuredCell(bench, spec);
  const p99 = percentiles(result.total).p99;
  const achieved = result.succeeded / (result.windowMs / 1000);
  const failed = result.completed - result.succeeded;
  const why = result.notSent > 0 ? `${int(result.notSent)} not sent (more than ${spec.inFlightMax} in flight)`
    : failed > result.completed / 1000 ? `${int(failed)} failed`
      : achieved < 0.95 * offered ? `achieved ${int(achieved)}/s`
        : p99 >= P99_TARGET_MS ? `p99 ${ms(p99)} ms` : '';
  const step: OpenStep = { label: 'mint+charge', callers: `${offered}/s`, result, cost, latency: 'total', rate: offered, held: why === '', why };
  log(`  open loop, ${offered}/s offered: ${int(achieved)}/s, p99 ${ms(p99)} ms (corrected), ${step.held ? 'held' : `not held: ${why}`}${failureText(result)}`);
  return step;
}

function openSection(steps: readonly OpenStep[], wallets: number): string {
  const header = ['offered/s', 'payments/s', 'p50 ms', 'p99 ms', 'p99.9 ms', 'p99 uncorrected ms', ...COST_HEADER, 'held (p99 < 100 ms)'];
  const rows = steps.map((s) => {
    const p = percentiles(s.result.total);
    return [int(s.rate), int(rate(s)), ms(p.p50), ms(p.p99), ms(p.p999), ms(percentiles(s.result.totalUncorrected).p99), ...costCells(s), s.held ? 'yes' : `no: ${s.why}`];
  });
  const held = steps.filter((s) => s.held).at(-1);
  const verdict = held === undefined ? `**No rate on the ladder was held with p99 < ${P99_TARGET_MS} ms.**`
    : `**Highest offered rate held with p99 < ${P99_TARGET_MS} ms: ${int(held.rate)} payments/s** (mint+charge). Its HdrHistogram, latency from the scheduled start:\n${spectrum(held.result.total)}`;
  return `### Open loop (constant rate, mint+charge) — ${int(wallets)} wallets\n\n${markdownTable(header, rows)}\n\n${verdict}`;
}

/** Ceilings: (b) the signed no-op route, (a) the essential writes batched 100 per transaction. */
async function measureCeilings(bench: Bench, koban: KobanMeasurement): Promise<string> {
  log('\n## Ceilings');
  const noopRows = await measureNoop(bench);
  const writeRows = await measureEssentialWrites(bench);
  const noopBest = Math.max(...noopRows.map(rate));
  const writesBest = Math.max(...writeRows.map((r) => r.paymentsPerSecond));
  const lower = Math.min(noopBest, writesBest);
  const kobanPeak = Math.max(0, ...koban.closed.filter((r) => r.label === 'mint+charge').map(rate));
  const noopTable = markdownTable(['ceiling', 'connections', 'requests/s', 'p50 ms', 'p99 ms', 'server CPU ms/req', 'load gen CPU ms/req', 'box busy', 'others'], noopRows.map((row) => {
    const p = percentiles(row.result.total);
    return ['(b) signed no-op, OPA server layer, in-memory nonces', row.callers, int(rate(row)), ms(p.p50), ms(p.p99), perPayment(row.cost.kobanCpuMs, row), perPayment(row.cost.loadCpuMs, row), percent(row.cost.boxBusyShare), percent(row.cost.othersShare)];
  }));
  const writesTable = markdownTable(['ceiling', 'writers', 'payments/s', 'PG CPU ms/pay', 'commits/pay', 'WAL fsyncs/pay', 'box busy', 'others', 'tool'], writeRows.map((row) => [
    `(a) essential writes, ${BATCH} per transaction`, String(row.run.clients), int(row.paymentsPerSecond), fixed(row.cost.postgresCpuMs / Math.max(1, row.payments)),
    fixed(row.cost.commits / Math.max(1, row.payments), 3), fixed(row.cost.walSyncs / Math.max(1, row.payments), 3), percent(row.cost.boxBusyShare), percent(row.cost.othersShare), row.run.tool,
  ]));
  const ratios = [
    `Lower ceiling: ${int(lower)} payments/s (${lower === noopBest ? '(b) the signed no-op route' : '(a) the batched essential writes'}).`,
    ...(kobanPeak > 0 ? [`Koban, closed-loop peak (mint+charge): ${int(kobanPeak)} payments/s = **${fixed(kobanPeak / lower)}× the lower ceiling**.`] : []),
    ...(koban.open.length > 0 ? [`Koban, highest open-loop rate held with p99 < ${P99_TARGET_MS} ms: ${int(koban.heldRate)} payments/s = **${fixed(koban.heldRate / lower)}× the lower ceiling**.`] : []),
    ...capacityLines(koban, noopRows, writeRows),
  ];
  return `### The two ceilings, same run\n\n${writesTable}\n\n${noopTable}\n\n${ratios.join('\n')}`;
}

/**
 * The same comparison in CPU, which other tenants of the box disturb far less than rates: what each would do
 * alone on this box's cores, the load generator elsewhere (cores × 1000 ÷ CPU ms per payment).
 */
function capacityLines(koban: KobanMeasurement, noopRows: readonly Row[], writeRows: readonly WriteRow[]): string[] {
  const cores = cpus().length;
  const noopCpu = Math.min(...noopRows.map((r) => r.cost.kobanCpuMs / Math.max(1, r.result.succeeded)));
  const writesCpu = Math.min(...writeRows.map((r) => r.cost.postgresCpuMs / Math.max(1, r.payments)));
  const anchorCpu = noopCpu + writesCpu;
  const kobanRows = koban.closed.filter((r) => r.label === 'mint+charge' && r.result.succeeded > 0);
  const lines = [`CPU anchor: (b) ${fixed(noopCpu)} + (a) ${fixed(writesCpu)} = ${fixed(anchorCpu)} ms per payment → ${int((cores * 1000) / anchorCpu)} payments/s on ${cores} cores if nothing else ran (Koban's own logic would add to this).`];
  if (kobanRows.length > 0) {
    const best = Math.min(...kobanRows.map((r) => (r.cost.kobanCpuMs + r.cost.postgresCpuMs) / r.result.succeeded));
    lines.push(`Koban's lowest CPU per payment (Koban + PostgreSQL, mint+charge): ${fixed(best)} ms → ${int((cores * 1000) / best)} payments/s on ${cores} cores = **${fixed(anchorCpu / best)}× the CPU anchor**.`);
  }
  return lines;
}

async function measureNoop(bench: Bench): Promise<Row[]> {
  const noop = await startNoopServer(PORT_BASE + 2, path.join(bench.workDir, 'tls'), bench.merchant);
  bench.targets.kobanPid = noop.pid;
  const rows: Row[] = [];
  try {
    await setupLoad(bench, { opaBase: noop.base, walletBase: null, caPath: path.join(bench.workDir, 'tls', 'ca.pem'), credential: bench.merchant, customersFile: null, amountMinor: AMOUNT_MINOR });
    for (const connections of [16, 64]) {
      const row = await closedCell(bench, 'noop', 'noop', connections, 0, '/v2/bench/noop');
      rows.push(row);
      log(`  (b) signed no-op, ${connections} connections: ${int(rate(row))} requests/s${failureText(row.result)}`);
    }
  } finally {
    await noop.stop();
    bench.targets.kobanPid = null;
  }
  return rows;
}

interface WriteRow { readonly run: CeilingRun; readonly payments: number; readonly paymentsPerSecond: number; readonly cost: Cost }

async function measureEssentialWrites(bench: Bench): Promise<WriteRow[]> {
  await adminQuery(bench.adminUrl, `drop database if exists ${CEILING_DATABASE}`);
  await adminQuery(bench.adminUrl, `create database ${CEILING_DATABASE} template ${DATABASE}`);
  const url = withDatabase(bench.adminUrl, CEILING_DATABASE);
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const meterTargets: MeterTargets = { ...bench.targets, database: CEILING_DATABASE, kobanPid: null, loadPid: null };
  const meter = await openMeter(meterTargets);
  const rows: WriteRow[] = [];
  try {
    const codes = CEILING_SECONDS * 12_000 * 3;
    const targets = await prepareCeiling(client, BASE_WALLETS, codes, bench.merchant.merchantId);
    await client.query('checkpoint');
    for (const writers of [1, 2]) {
      const countBefore = await ceilingPayments(client);
      const before = await meter.snapshot();
      const run = pgbenchAvailable(bench.server.binaries.binDir)
        ? await runPgbench(bench.server.binaries.binDir, url, targets, writers, CEILING_SECONDS)
        : await runOwnWriters(url, targets, writers, CEILING_SECONDS);
      const cost = costBetween(before, await meter.snapshot());
      const payments = (await ceilingPayments(client)) - countBefore;
      if (payments < run.batches * BATCH * 0.99) throw new Error(`ceiling (a) ran out of codes: ${payments} payments in ${run.batches} batches`);
      rows.push({ run, payments, paymentsPerSecond: payments / run.seconds, cost });
      log(`  (a) essential writes, ${writers} writer(s): ${int(payments / run.seconds)} payments/s`);
    }
  } finally {
    await meter.close();
    await client.end();
  }
  await verifyLedger(bench.adminUrl, CEILING_DATABASE, 'the ceiling copy (its writes must balance too)');
  await adminQuery(bench.adminUrl, `drop database ${CEILING_DATABASE}`);
  return rows;
}

async function ceilingPayments(client: pg.Client): Promise<number> {
  const result = await client.query<{ n: string }>(`select count(*) as n from payments where merchant_payment_id like 'ceiling-%'`);
  return Number(result.rows[0]?.n ?? 0);
}

/** Adds wallets up to KOBAN_BENCH_WALLETS and repeats the growth cells; throughput relative to 100k. */
async function measureGrowth(bench: Bench, base: KobanMeasurement): Promise<string> {
  log(`\n## Growth: adding wallets ${int(BASE_WALLETS + 1)}–${int(GROWTH_WALLETS)}`);
  const client = new pg.Client({ connectionString: withDatabase(bench.adminUrl, DATABASE) });
  await client.connect();
  const started = performance.now();
  try {
    await seedWallets(client, BASE_WALLETS + 1, GROWTH_WALLETS, log);
  } finally {
    await client.end();
  }
  log(`  seeded in ${((performance.now() - started) / 1000).toFixed(0)} s`);
  const growthParts = new Set<Part>([...PARTS].filter((p) => p === 'closed' || p === 'open'));
  const grown = await measureKoban(bench, GROWTH_WALLETS, GROWTH_CALLERS, growthParts);
  const rows: string[][] = [];
  // CPU per payment beside the rates: on a shared box it moves far less than payments/s, so it says more about size.
  const cpu = (row: Row) => (row.cost.kobanCpuMs + row.cost.postgresCpuMs) / Math.max(1, row.result.succeeded);
  for (const row of grown.closed) {
    const reference = base.closed.find((r) => r.label === row.label && r.callers === row.callers);
    rows.push([`closed, ${row.callers} callers`, reference === undefined ? '–' : int(rate(reference)), int(rate(row)), reference === undefined ? '–' : `${fixed((100 * rate(row)) / rate(reference), 0)} %`,
      reference === undefined ? '–' : fixed(cpu(reference)), fixed(cpu(row)), reference === undefined ? '–' : `${fixed((100 * cpu(row)) / cpu(reference), 0)} %`,
      reference === undefined ? '–' : percent(reference.cost.othersShare), percent(row.cost.othersShare)]);
  }
  if (grown.open.length > 0) rows.push(['open loop, highest rate held', int(base.heldRate), int(grown.heldRate), base.heldRate === 0 ? '–' : `${fixed((100 * grown.heldRate) / base.heldRate, 0)} %`, '', '', '', '', '']);
  const table = markdownTable(['cell', `payments/s at ${int(BASE_WALLETS)}`, `payments/s at ${int(GROWTH_WALLETS)}`, 'relative',
    `Koban+PG CPU ms/pay at ${int(BASE_WALLETS)}`, `at ${int(GROWTH_WALLETS)}`, 'relative CPU', `others at ${int(BASE_WALLETS)}`, `others at ${int(GROWTH_WALLETS)}`], rows);
  return `### Growth — ${int(GROWTH_WALLETS)} wallets against ${int(BASE_WALLETS)}\n\n${table}\n\n${grown.tables.join('\n\n')}`;
}

/** `koban ledger verify` as its own process on the database; the bench fails unless it is clean. */
async function verifyLedger(adminUrl: string, database: string, what: string): Promise<void> {
  const env = { ...process.env, NODE_ENV: 'development', DATABASE_URL: withDatabase(adminUrl, database), KOBAN_DEMO_DATA: 'false', KOBAN_LOG_LEVEL: 'warn' };
  const { code, output } = await new Promise<{ code: number; output: string }>((resolve) => {
    execFile(process.execPath, [path.join(REPO_ROOT, 'src/cli/main.ts'), 'ledger', 'verify'], { env, cwd: REPO_ROOT, timeout: 3_600_000, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1, output: `${stdout}${stderr}`.trim() });
    });
  });
  log(`  koban ledger verify, ${what}: ${code === 0 ? 'clean' : 'FAILED'} — ${output.split('\n').join(' / ')}`);
  if (code !== 0) throw new Error(`koban ledger verify failed on ${what}`);
}

function withDatabase(url: string, name: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${name}`;
  return parsed.toString();
}

await main();
