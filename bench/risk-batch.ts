/**
 * `npm exec -- node bench/risk-batch.ts`: what the risk engine's batch statement costs per event (issue 11) on a
 * seeded database — the till's group commit and the code mint call `assessBatch` + `record` in their transaction.
 * This process is the engine under test (Node evaluates the rules); PostgreSQL runs in its own processes, so /proc
 * gives each its own CPU. Per cell it prints events/s, Node and PostgreSQL CPU per event, statements, plan and
 * execution time and buffer pages per event (pg_stat_statements with track_planning), the share of risk_links and
 * risk_counters updates that were HOT (pg_stat_user_tables), and the box's busy share; at the end the plan of one
 * batch statement (EXPLAIN ANALYZE, BUFFERS) as it ran in the last cell, in a rolled-back transaction.
 *
 * Seeding: stores with locations; one pass of payments over every account (device, network, store links and
 * counters), then every counter copied into the earlier buckets of its longest window (a customer who paid in
 * every bucket: the most rows a window sum can read) and three older stores per customer; then vacuum analyze.
 *
 * Environment: KOBAN_BENCH_ACCOUNTS (20000), KOBAN_BENCH_BATCH (payments per batch, 50), KOBAN_BENCH_MINT_BATCH
 * (2), KOBAN_BENCH_STORES (2000), KOBAN_BENCH_SECONDS (per cell, 8), KOBAN_BENCH_WRITERS (concurrent batches, 2), KOBAN_BENCH_GENERIC=1
 * (the batches' transactions plan with `plan_cache_mode = force_generic_plan`), KOBAN_BENCH_PLAN (a file for
 * the EXPLAIN output; printed otherwise).
 */
import { randomInt, randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import pg from 'pg';
import { adminQuery as admin } from '../tools/postgres/admin.ts';
import { startThrowawayPostgres } from '../tools/postgres/throwaway.ts';
import { createChangeFeed } from '../src/operations/change-feed.ts';
import { migrate } from '../src/platform/db/migrate.ts';
import { openPostgres } from '../src/platform/db/postgres.ts';
import { withTransaction, type Database, type Queryable } from '../src/platform/db/database.ts';
import { createRisk, type Risk } from '../src/risk/risk.ts';
import type { RiskEvent } from '../src/risk/types.ts';
import { postgresCpuMs, postmasterPid } from './pay/meter.ts';
import { seedStores } from './risk-stores.ts';

const ACCOUNTS = Number(process.env.KOBAN_BENCH_ACCOUNTS ?? 20_000);
const BATCH = Number(process.env.KOBAN_BENCH_BATCH ?? 50);
const MINT_BATCH = Number(process.env.KOBAN_BENCH_MINT_BATCH ?? 2);
const SECONDS = Number(process.env.KOBAN_BENCH_SECONDS ?? 8);
const WRITERS = Number(process.env.KOBAN_BENCH_WRITERS ?? 2);
const GENERIC = process.env.KOBAN_BENCH_GENERIC === '1';
const STORES = Number(process.env.KOBAN_BENCH_STORES ?? 2000);
const SEED_BATCH = 500;
const TICKS_PER_SECOND = 100;
/** The buckets a seeded counter is copied into, by bucket size: its longest window (keys.ts, the rules' windows). */
const HISTORY_BUCKETS = { '10': 6, '300': 24, '3600': 24, '86400': 30 } as const;

interface Cell { label: string; statement: string; events: number; seconds: number; nodeCpuMs: number; pgCpuMs: number; boxBusy: number; others: number;
  statements: number; planMs: number; execMs: number; blocks: number; links: Hot; counters: Hot }
interface Hot { upd: number; hot: number }

async function main(): Promise<void> {
  const settings = { shared_preload_libraries: 'pg_stat_statements', 'pg_stat_statements.track': 'all', 'pg_stat_statements.track_planning': 'on' };
  const server = await startThrowawayPostgres({ label: 'bench_risk_batch', settings });
  const name = 'koban_bench_risk_batch';
  await admin(server.adminUrl, 'create extension if not exists pg_stat_statements');
  await admin(server.adminUrl, `create database ${name}`);
  const url = new URL(server.adminUrl);
  url.pathname = `/${name}`;
  databaseUrl = url.toString();
  const db = await openPostgres(databaseUrl, WRITERS + 2);
  const meter = new pg.Client({ connectionString: server.adminUrl });
  await meter.connect();
  const feed = createChangeFeed(db, { intervalMs: 1000, onError: () => undefined });
  try {
    await migrate(db);
    const accounts = Array.from({ length: ACCOUNTS }, () => randomUUID());
    const stores = await seedStores(db, STORES);
    const risk = await createRisk(db, feed, async () => undefined);
    const events = eventMaker(accounts, stores);
    await seed(db, risk, accounts, events, stores);
    process.stdout.write(`box: ${cpus().length} cores, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}; ${ACCOUNTS} accounts, ${WRITERS} writers, generic plans ${GENERIC ? 'forced' : 'off (auto)'}\n`);
    const pgPid = postmasterPid(server.dataDir);
    const captured: { config: pg.QueryConfig | null } = { config: null };
    const cells: Cell[] = [];
    cells.push(await cell(`payments ×${BATCH}`, 'risk_batch_facts', db, meter, name, pgPid, BATCH, (client) => batchOf(risk, capture(client, captured), BATCH, events.payment)));
    cells.push(await cell(`mints ×${MINT_BATCH}`, 'risk_batch_facts', db, meter, name, pgPid, MINT_BATCH, (client) => batchOf(risk, client, MINT_BATCH, events.mint)));
    cells.push(await cell('assess (one payment)', 'risk_facts', db, meter, name, pgPid, 1, async () => { await risk.assess(events.payment()); }, false));
    process.stdout.write(`\n${table(cells)}\n`);
    if (captured.config !== null) await explain(db, captured.config);
  } finally {
    await feed.close();
    await meter.end();
    await db.close();
    await server.stop();
  }
}

function eventMaker(accounts: readonly string[], stores: readonly string[]): { payment: () => RiskEvent; mint: () => RiskEvent; paymentOf: (i: number) => RiskEvent } {
  const merchantId = randomUUID();
  const paymentOf = (i: number): RiskEvent => ({ kind: 'payment', accountId: accounts[i] ?? '', deviceId: `dev-${i}`, ip: `10.${i % 200}.${i % 250}.7`,
    storeId: stores[(i * 7 + randomInt(3)) % stores.length] ?? null, merchantId, merchantCategoryCode: '5411', amountMinor: BigInt(100 + randomInt(900)),
    balanceMinor: 1_000_000n, ref: randomUUID() });
  return {
    paymentOf,
    payment: () => paymentOf(randomInt(accounts.length)),
    mint: () => { const i = randomInt(accounts.length); return { kind: 'payment_code_mint', accountId: accounts[i] ?? '', deviceId: `dev-${i}`, ip: `10.${i % 200}.${i % 250}.7` }; },
  };
}

async function batchOf(risk: Risk, client: Queryable, size: number, make: () => RiskEvent): Promise<void> {
  const batch = await risk.assessBatch(client, Array.from({ length: size }, make));
  await batch.record(client);
}

/** Keeps the batch statement's text and values, to EXPLAIN it after the run. */
function capture(client: Queryable, captured: { config: pg.QueryConfig | null }): Queryable {
  return { query: ((config: pg.QueryConfig, values?: unknown[]) => {
    if (typeof config === 'object' && config.name === 'risk_batch_facts') captured.config = config;
    return client.query(config, values);
  }) as Queryable['query'] };
}

async function seed(db: Database, risk: Risk, accounts: readonly string[], events: ReturnType<typeof eventMaker>, stores: readonly string[]): Promise<void> {
  const started = performance.now();
  for (let from = 0; from < accounts.length; from += SEED_BATCH) {
    const size = Math.min(SEED_BATCH, accounts.length - from);
    await withTransaction(db, async (client) => {
      const batch = await risk.assessBatch(client, Array.from({ length: size }, (_, k) => events.paymentOf(from + k)));
      await batch.record(client);
    });
  }
  const cases = Object.entries(HISTORY_BUCKETS).map(([size, count]) => `when '${size}' then ${count}`).join(' ');
  // Bulk statements on a connection of their own: the pool's statement timeout is for requests.
  const bulk = new pg.Client({ connectionString: databaseUrl });
  await bulk.connect();
  await bulk.query(`insert into risk_counters (key, bucket, shard, count, amount_minor)
    select key, bucket - k * split_part(key, '|', 2)::bigint, shard, count, amount_minor from risk_counters,
      generate_series(1, case split_part(key, '|', 2) ${cases} else 0 end) as k
    on conflict do nothing`);
  await bulk.query(`insert into risk_links (kind, key, account_id, first_seen, last_seen)
    select 'store', ($1::text[])[1 + floor(random() * $2)::int], account_id, now() - interval '60 days', now() - random() * interval '60 days'
      from risk_links, generate_series(1, 3) where kind = 'device'
    on conflict do nothing`, [stores, stores.length]);
  await bulk.query('vacuum analyze');
  await bulk.end();
  const sizes = await db.pool.query<{ counters: bigint; links: bigint }>('select (select count(*) from risk_counters) as counters, (select count(*) from risk_links) as links');
  process.stdout.write(`seeded in ${((performance.now() - started) / 1000).toFixed(1)} s: ${sizes.rows[0]?.counters} counter rows, ${sizes.rows[0]?.links} links\n`);
}

async function cell(label: string, statement: string, db: Database, meter: pg.Client, database: string, pgPid: number, perCall: number,
  work: (client: pg.PoolClient) => Promise<void>, transaction = true): Promise<Cell> {
  // A warm-up second: prepared statements on every connection, caches filled.
  await run(db, 1, work, transaction);
  await settleStats();
  const before = await reading(meter, database, statement, pgPid);
  const calls = await run(db, SECONDS, work, transaction);
  await settleStats();
  const after = await reading(meter, database, statement, pgPid);
  const events = calls * perCall;
  const seconds = (after.atMs - before.atMs) / 1000 - 1.5;
  const boxTotal = after.box.total - before.box.total;
  const nodeCpuMs = after.nodeCpuMs - before.nodeCpuMs;
  const pgCpuMs = after.pgCpuMs - before.pgCpuMs;
  const busy = after.box.busy - before.box.busy;
  return { label, statement, events, seconds: SECONDS, nodeCpuMs, pgCpuMs, boxBusy: busy / boxTotal, others: Math.max(0, busy - nodeCpuMs - pgCpuMs) / boxTotal,
    statements: after.statements - before.statements, planMs: after.planMs - before.planMs, execMs: after.execMs - before.execMs, blocks: after.blocks - before.blocks,
    links: { upd: after.links.upd - before.links.upd, hot: after.links.hot - before.links.hot },
    counters: { upd: after.counters.upd - before.counters.upd, hot: after.counters.hot - before.counters.hot } };
}

async function run(db: Database, seconds: number, work: (client: pg.PoolClient) => Promise<void>, transaction: boolean): Promise<number> {
  const deadline = performance.now() + seconds * 1000;
  let calls = 0;
  await Promise.all(Array.from({ length: WRITERS }, async () => {
    while (performance.now() < deadline) {
      if (transaction) await withTransaction(db, work, GENERIC ? { genericPlans: true } : {});
      else await work(undefined as unknown as pg.PoolClient);
      calls += 1;
    }
  }));
  return calls;
}

/** Backends flush their table statistics at most once a second when idle. */
async function settleStats(): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 1500));
}

async function reading(meter: pg.Client, database: string, statement: string, pgPid: number) {
  const usage = process.cpuUsage();
  const stats = await meter.query<{ statements: string; plan_ms: number; exec_ms: number; blocks: string }>(
    `select coalesce(sum(calls) filter (where s.toplevel), 0) as statements,
            coalesce(sum(total_plan_time) filter (where query like $2), 0)::float8 as plan_ms,
            coalesce(sum(total_exec_time) filter (where query like $2), 0)::float8 as exec_ms,
            coalesce(sum(shared_blks_hit + shared_blks_read) filter (where query like $2), 0) as blocks
       from pg_stat_statements s join pg_database d on d.oid = s.dbid where d.datname = $1`,
    [database, statement === 'risk_facts' ? '%as setting),%inc as (%' : '%with inc as (%']);
  const tables = await tableStats(database);
  const row = stats.rows[0];
  return { atMs: performance.now(), nodeCpuMs: (usage.user + usage.system) / 1000, pgCpuMs: postgresCpuMs(pgPid), box: boxCpu(),
    statements: Number(row?.statements ?? 0), planMs: row?.plan_ms ?? 0, execMs: row?.exec_ms ?? 0, blocks: Number(row?.blocks ?? 0), ...tables };
}

/** pg_stat_user_tables is per database: read on a connection to the bench's database. */
async function tableStats(database: string): Promise<{ links: Hot; counters: Hot }> {
  void database;
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const rows = await client.query<{ relname: string; upd: string; hot: string }>(
      `select relname, n_tup_upd as upd, n_tup_hot_upd as hot from pg_stat_user_tables where relname in ('risk_links', 'risk_counters')`);
    const of = (table: string): Hot => { const r = rows.rows.find((x) => x.relname === table); return { upd: Number(r?.upd ?? 0), hot: Number(r?.hot ?? 0) }; };
    return { links: of('risk_links'), counters: of('risk_counters') };
  } finally {
    await client.end();
  }
}

let databaseUrl = '';

function boxCpu(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  const ticks = line.trim().split(/\s+/).slice(1, 9).map(Number);
  const idle = (ticks[3] ?? 0) + (ticks[4] ?? 0);
  const total = ticks.reduce((a, b) => a + b, 0);
  return { busy: ((total - idle) * 1000) / TICKS_PER_SECOND, total: (total * 1000) / TICKS_PER_SECOND };
}

function table(cells: readonly Cell[]): string {
  const pct = (x: number) => `${(100 * x).toFixed(0)} %`;
  const head = '| cell | events/s | Node CPU ms/event | PG CPU ms/event | statements/event | plan ms/event | exec ms/event | buffer pages/event | risk_links HOT/upd | risk_counters HOT/upd | box busy / others |';
  const lines = cells.map((c) => {
    const per = (x: number, digits = 3) => (x / Math.max(1, c.events)).toFixed(digits);
    return `| ${c.label} | ${(c.events / c.seconds).toFixed(0)} | ${per(c.nodeCpuMs)} | ${per(c.pgCpuMs)} | ${per(c.statements, 2)} | ${per(c.planMs)} | ${per(c.execMs)} | ${per(c.blocks, 1)} | `
      + `${c.links.hot}/${c.links.upd} (${pct(c.links.hot / Math.max(1, c.links.upd))}) | ${c.counters.hot}/${c.counters.upd} (${pct(c.counters.hot / Math.max(1, c.counters.upd))}) | ${pct(c.boxBusy)} / ${pct(c.others)} |`;
  });
  return [head, `|${' --- |'.repeat(11)}`, ...lines].join('\n');
}

/** The batch statement of the last payment batch, EXPLAINed with its own values in a transaction that rolls back. */
async function explain(db: Database, config: pg.QueryConfig): Promise<void> {
  const client = await db.pool.connect();
  try {
    await client.query('begin');
    if (GENERIC) await client.query('set local plan_cache_mode = force_generic_plan');
    const plan = await client.query<{ 'QUERY PLAN': string }>({ text: `explain (analyze, buffers, timing off) ${config.text}`, values: config.values });
    await client.query('rollback');
    const text = plan.rows.map((r) => r['QUERY PLAN']).join('\n');
    const file = process.env.KOBAN_BENCH_PLAN;
    if (file === undefined) process.stdout.write(`\nEXPLAIN (ANALYZE, BUFFERS) of one payment batch statement:\n${text}\n`);
    else writeFileSync(file, `${text}\n`);
    // The console's list of an account's links (operations/console/accounts.ts), the other reader of risk_links_by_account.
    const account = (config.values as unknown[][])[9]?.[0];
    const consolePlan = await client.query<{ 'QUERY PLAN': string }>({ text: `explain (analyze, buffers, timing off, costs off)
      select l.kind, l.key, l.first_seen, l.last_seen from risk_links l where l.account_id = $1 and l.kind in ('device', 'card', 'network') order by l.last_seen desc limit 100`, values: [account] });
    process.stdout.write(`\nEXPLAIN of the console's link list:\n${consolePlan.rows.map((r) => r['QUERY PLAN']).join('\n')}\n`);
    const top = /Buffers: ([^\n]*)/.exec(text)?.[1] ?? '';
    process.stdout.write(`\nplan of one batch statement: top node buffers ${top}${file === undefined ? '' : ` (full plan in ${file})`}\n`);
  } finally {
    client.release();
  }
}


await main();
