/**
 * `npm exec -- node bench/risk-assess.ts`: the cost of one `risk.assess` call for a payment (every
 * payment rule enabled: account, device, card and store counters, device/card/network/store links,
 * the usual-stores lookup) and for a sign-in, with 1 and 16 concurrent callers, on a real PostgreSQL.
 * Also the cost of a bare `select 1` round trip on the same pool, so the engine's own share shows.
 *
 * Environment: KOBAN_BENCH_PG_URL (an admin URL; a throwaway server is started otherwise),
 * KOBAN_BENCH_SECONDS (per cell, default 3), KOBAN_BENCH_ACCOUNTS (default 10000).
 */
import { randomInt, randomUUID } from 'node:crypto';
import { adminQuery as admin } from '../tools/postgres/admin.ts';
import { createChangeFeed } from '../src/operations/change-feed.ts';
import { migrate } from '../src/platform/db/migrate.ts';
import { openPostgres } from '../src/platform/db/postgres.ts';
import type { Database } from '../src/platform/db/database.ts';
import { createRisk, type Risk } from '../src/risk/risk.ts';
import type { RiskEvent } from '../src/risk/types.ts';
import { startThrowawayPostgres } from '../tools/postgres/throwaway.ts';
import { LatencyRecorder } from './report.ts';
import { seedStores } from './risk-stores.ts';

const SECONDS = Number(process.env.KOBAN_BENCH_SECONDS ?? 3);
const ACCOUNTS = Number(process.env.KOBAN_BENCH_ACCOUNTS ?? 10_000);
const STORES = 200;

async function main(): Promise<void> {
  const server = process.env.KOBAN_BENCH_PG_URL === undefined ? await startThrowawayPostgres({ label: 'bench-risk' }) : null;
  const adminUrl = server?.adminUrl ?? process.env.KOBAN_BENCH_PG_URL ?? '';
  const name = `koban_bench_risk_${Date.now()}`;
  await admin(adminUrl, `create database ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const db = await openPostgres(url.toString(), 32);
  try {
    await migrate(db);
    const stores = await seedStores(db, STORES);
    const feed = createChangeFeed(db, { intervalMs: 1000, onError: () => undefined });
    const risk = await createRisk(db, feed, async () => undefined);
    const accounts = Array.from({ length: ACCOUNTS }, () => randomUUID());
    const payment = (): RiskEvent => {
      const i = randomInt(accounts.length);
      return { kind: 'payment', accountId: accounts[i] ?? '', deviceId: `dev-${i}`, ip: `10.${i % 200}.${i % 250}.7`, storeId: stores[randomInt(stores.length)] ?? null,
        merchantCategoryCode: '5411', amountMinor: BigInt(100 + randomInt(5000)), ref: randomUUID() };
    };
    const signIn = (): RiskEvent => {
      const i = randomInt(accounts.length);
      return { kind: 'sign_in', accountId: accounts[i] ?? '', deviceId: `dev-${i}`, ip: `10.${i % 200}.${i % 250}.7`, country: 'JP' };
    };
    await cell('warm-up', 16, () => risk.assess(payment()), 1);
    process.stdout.write('\nrisk.assess on PostgreSQL (figures only)\n');
    process.stdout.write('case                callers   calls/s    p50 ms    p99 ms\n');
    for (const callers of [1, 16]) {
      await cell('select 1', callers, () => db.pool.query('select 1'));
      await cell('assess sign_in', callers, () => risk.assess(signIn()));
      await cell('assess payment', callers, () => risk.assess(payment()));
    }
    void (risk satisfies Risk);
    await feed.close();
  } finally {
    await db.close();
    await admin(adminUrl, `drop database if exists ${name} with (force)`);
    await server?.stop();
  }
}

async function cell(label: string, callers: number, call: () => Promise<unknown>, seconds = SECONDS): Promise<void> {
  const latency = new LatencyRecorder();
  const deadline = performance.now() + seconds * 1000;
  await Promise.all(Array.from({ length: callers }, async () => {
    while (performance.now() < deadline) {
      const started = performance.now();
      await call();
      latency.record(performance.now() - started);
    }
  }));
  if (label === 'warm-up') return;
  process.stdout.write(`${label.padEnd(20)}${String(callers).padStart(7)}${(latency.count / seconds).toFixed(0).padStart(10)}${latency.percentile(50).toFixed(2).padStart(10)}${latency.percentile(99).toFixed(2).padStart(10)}\n`);
}


await main();
