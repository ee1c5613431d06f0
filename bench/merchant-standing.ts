/**
 * `npm exec -- node bench/merchant-standing.ts`: the cost of the payment pipeline's "merchant standing" step
 * (src/merchants/standing.ts: the merchant's and store's state read uncached on every payment, so a
 * suspension bites at once), beside a bare `select 1` round trip on the same pool, with 1 and 16 callers,
 * on a real PostgreSQL. Figures only: the step's share of a payment is the difference between the rows.
 *
 * Environment: KOBAN_BENCH_PG_URL (an admin URL; a throwaway server is started otherwise),
 * KOBAN_BENCH_SECONDS (per cell, default 3), KOBAN_BENCH_MERCHANTS (default 10000).
 */
import { randomInt } from 'node:crypto';
import { adminQuery as admin } from '../tools/postgres/admin.ts';
import { migrate } from '../src/platform/db/migrate.ts';
import { openPostgres } from '../src/platform/db/postgres.ts';
import { uuidv7 } from '../src/platform/ids.ts';
import { Ledgers } from '../src/ledger/types.ts';
import { requireMerchantStanding } from '../src/merchants/standing.ts';
import { startThrowawayPostgres } from '../tools/postgres/throwaway.ts';
import { LatencyRecorder } from './report.ts';

const SECONDS = Number(process.env.KOBAN_BENCH_SECONDS ?? 3);
const MERCHANTS = Number(process.env.KOBAN_BENCH_MERCHANTS ?? 10_000);

async function main(): Promise<void> {
  const server = process.env.KOBAN_BENCH_PG_URL === undefined ? await startThrowawayPostgres({ label: 'bench_standing' }) : null;
  const adminUrl = server?.adminUrl ?? process.env.KOBAN_BENCH_PG_URL ?? '';
  const name = `koban_bench_standing_${Date.now()}`;
  await admin(adminUrl, `create database ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const db = await openPostgres(url.toString(), 32);
  try {
    await migrate(db);
    // Merchants and stores only (the standing read joins nothing else); receivable ids are placeholders made in bulk.
    await db.pool.query(`insert into accounts (id, ledger, code, flags, reference) select gen_random_uuid(), $2, 200, 0, 'bench:' || g from generate_series(1, $1) g`, [MERCHANTS, Ledgers.JPY]);
    const accounts = await db.pool.query<{ id: string }>(`select id from accounts where code = 200 and reference like 'bench:%'`);
    const pairs = accounts.rows.map(() => ({ merchantId: uuidv7(), storeId: uuidv7() }));
    await db.pool.query(`insert into merchants (id, name, category_code, receivable_account_id) select m, 'Bench', '5411', r from unnest($1::uuid[], $2::uuid[]) as t(m, r)`,
      [pairs.map((p) => p.merchantId), accounts.rows.map((a) => a.id)]);
    await db.pool.query(`insert into stores (id, merchant_id, name, city, postal_code) select s, m, 'Store', 'Chiyoda-ku', '100-0001' from unnest($1::uuid[], $2::uuid[]) as t(s, m)`,
      [pairs.map((p) => p.storeId), pairs.map((p) => p.merchantId)]);
    const pick = () => pairs[randomInt(pairs.length)]!;
    process.stdout.write(`\nmerchant standing on PostgreSQL, ${MERCHANTS} merchants (figures only)\n`);
    process.stdout.write('case                callers   calls/s    p50 ms    p99 ms\n');
    for (const callers of [1, 16]) {
      await cell('select 1', callers, () => db.pool.query('select 1'));
      await cell('merchant standing', callers, () => { const p = pick(); return requireMerchantStanding(db.pool, p.merchantId, p.storeId); });
    }
  } finally {
    await db.close();
    await admin(adminUrl, `drop database if exists ${name} with (force)`);
    await server?.stop();
  }
}

async function cell(label: string, callers: number, call: () => Promise<unknown>, seconds = SECONDS): Promise<void> {
  const latency = new LatencyRecorder();
  const until = Date.now() + seconds * 1000;
  await Promise.all(Array.from({ length: callers }, async () => {
    while (Date.now() < until) {
      const started = performance.now();
      await call();
      latency.record(performance.now() - started);
    }
  }));
  process.stdout.write(`${label.padEnd(20)}${String(callers).padStart(7)}${(latency.count / seconds).toFixed(0).padStart(10)}${latency.percentile(50).toFixed(2).padStart(10)}${latency.percentile(99).toFixed(2).padStart(10)}\n`);
}

await main();
