/**
 * Several Koban nodes on one database (issue 18), as real processes (`node src/main.ts`):
 *  - every background job runs on exactly one node (its lease), never on the other; when that node is
 *    SIGKILLed the survivor takes every lease over and runs the jobs;
 *  - SIGTERM drains: /readyz fails at once while the node still answers (each answer closing its
 *    connection), a request in flight finishes with its answer, the leases are released, the process exits 0.
 */
import { randomUUID } from 'node:crypto';
import { get } from 'node:http';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { ledgerAuth } from '../support/koban.ts';
import { startKobanProcess, type KobanProcess } from './koban-process.ts';

/** Every leased job startBackgroundWork starts (src/koban.ts and the modules it calls). */
const JOBS = ['ledger.hold-expiry', 'identity.purge', 'identity.sign-in-health', 'operations.audit-seal', 'risk.counter-prune', 'payments.nonce-sweep', 'payments.maintenance', 'wallet.top-up-reconcile', 'wallet.promo-relay', 'wallet.points-expiry', 'wallet.abolition-payouts', 'wallet.abolition-notices'];
/** Waits are on the event itself; this bound only stops a broken run. */
const BOUND = { timeout: 150_000, interval: 100 };

let db: TestDatabase;
let admin: pg.Client;
const processes: KobanProcess[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  admin = new pg.Client({ connectionString: db.url ?? '', application_name: 'koban-test-admin' });
  admin.on('error', () => undefined);
  await admin.connect();
});
afterEach(() => {
  for (const p of processes.splice(0)) p.kill();
});
afterAll(async () => {
  await admin.end();
  await db.close();
});

async function node(id: string, env: Record<string, string> = {}): Promise<KobanProcess> {
  const koban = await startKobanProcess(db.url ?? '', { KOBAN_NODE_ID: id, KOBAN_LEASE_TTL_MS: '2000', ...env });
  processes.push(koban);
  return koban;
}

/** koban_lease_held and koban_background_job_runs of one node, by job. */
async function jobsOf(koban: KobanProcess): Promise<{ held: Record<string, number>; runs: Record<string, number> }> {
  const text = await (await fetch(`${koban.base}/metrics`)).text();
  const read = (metric: string) => Object.fromEntries([...text.matchAll(new RegExp(`^${metric}\\{job="([^"]+)"\\} (\\d+)$`, 'gm'))].map((m) => [m[1], Number(m[2])]));
  return { held: read('koban_lease_held'), runs: read('koban_background_job_runs') };
}

/** Status, `connection` header and body of a GET (node:http, which shows the connection header as sent). */
function getRaw(url: string): Promise<{ status: number; connection: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    get(url, (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => { body += chunk.toString(); });
      response.on('end', () => resolve({ status: response.statusCode ?? 0, connection: response.headers.connection, body }));
    }).on('error', reject);
  });
}

describe('background jobs on two nodes', () => {
  it('runs each job on one node only, and moves every job to the survivor when that node is killed', async () => {
    const [alpha, beta] = await Promise.all([node('alpha'), node('beta')]);
    const nodes = [alpha, beta];
    // Every job's lease is held by exactly one node, and each holder has run its jobs.
    let seen: Array<Awaited<ReturnType<typeof jobsOf>>> = [];
    await expect.poll(async () => {
      seen = await Promise.all(nodes.map(jobsOf));
      return JOBS.every((job) => seen.reduce((sum, s) => sum + (s.held[job] ?? 0), 0) === 1 && seen.some((s) => s.held[job] === 1 && (s.runs[job] ?? 0) >= 1));
    }, BOUND).toBe(true);
    // The node that does not hold a job never ran it.
    for (const job of JOBS) {
      const holder = seen.findIndex((s) => s.held[job] === 1);
      expect({ job, runsOnTheOther: seen[1 - holder]?.runs[job] }).toEqual({ job, runsOnTheOther: 0 });
    }
    const holders = (await admin.query<{ holder: string }>('select holder from platform_leases where name = any($1)', [JOBS])).rows.map((row) => row.holder);
    expect(holders.sort()).toEqual(JOBS.map((job) => (seen[0]?.held[job] === 1 ? 'alpha' : 'beta')).sort());

    // The node holding the most leases dies without releasing anything.
    const victim = holders.filter((h) => h === 'alpha').length >= holders.length / 2 ? 0 : 1;
    const survivor = nodes[1 - victim] as KobanProcess;
    nodes[victim]?.child.kill('SIGKILL');
    await nodes[victim]?.exited;
    await expect.poll(async () => {
      const now = await jobsOf(survivor);
      return JOBS.every((job) => now.held[job] === 1 && (now.runs[job] ?? 0) >= 1);
    }, BOUND).toBe(true);
    const rows = (await admin.query<{ holder: string; token: bigint }>('select holder, token from platform_leases where name = any($1)', [JOBS])).rows;
    expect(new Set(rows.map((row) => row.holder))).toEqual(new Set([victim === 0 ? 'beta' : 'alpha']));
  }, 400_000);
});

describe('graceful drain on SIGTERM', () => {
  it('fails /readyz first, still answers (closing connections), finishes the request in flight, releases its leases, exits 0', async () => {
    const koban = await node('drainer', { KOBAN_DRAIN_DELAY_MS: '5000', KOBAN_SHUTDOWN_GRACE_MS: '30000', KOBAN_DATABASE_STATEMENT_TIMEOUT_MS: '120000' });
    await expect.poll(async () => (await jobsOf(koban)).held['ledger.hold-expiry'], BOUND).toBe(1);
    expect((await getRaw(`${koban.base}/readyz`)).status).toBe(200);
    const ids = { funding: randomUUID(), wallet: randomUUID() };
    const created = await fetch(`${koban.base}/v1/ledger/accounts`, { method: 'POST', headers: { ...ledgerAuth, 'content-type': 'application/json' }, body: JSON.stringify({ accounts: [{ id: ids.funding, ledger: 392, code: 300 }, { id: ids.wallet, ledger: 392, code: 100 }] }) });
    expect(created.status).toBe(200);
    await admin.query('begin');
    let inFlight: Promise<number | string>;
    try {
      // A transfer held in flight by a row lock across the SIGTERM.
      await admin.query('select id from accounts where id = $1 for update', [ids.wallet]);
      inFlight = fetch(`${koban.base}/v1/ledger/transfers`, {
        method: 'POST', headers: { ...ledgerAuth, 'content-type': 'application/json' },
        body: JSON.stringify({ transfers: [{ id: randomUUID(), debitAccountId: ids.funding, creditAccountId: ids.wallet, amount: '1', ledger: 392, code: 2 }] }),
      }).then((response) => response.status, (error: unknown) => `cut: ${String(error)}`);
      await expect.poll(async () => (await admin.query("select 1 from pg_stat_activity where datname = current_database() and application_name = 'koban' and wait_event_type = 'Lock'")).rowCount, BOUND).toBeGreaterThan(0);
      koban.child.kill('SIGTERM');
      await expect.poll(async () => (await getRaw(`${koban.base}/readyz`)).status, BOUND).toBe(503);
      expect(JSON.parse((await getRaw(`${koban.base}/readyz`)).body)).toMatchObject({ status: 'not_ready', reason: expect.stringContaining('draining') });
      // Still serving while the balancer takes it out, each answer closing its connection.
      expect(await getRaw(`${koban.base}/healthz`)).toMatchObject({ status: 200, connection: 'close' });
    } finally {
      await admin.query('rollback');
    }
    expect(await inFlight).toBe(200);
    expect(await koban.exited).toEqual({ code: 0, signal: null });
    const held = await admin.query<{ name: string }>("select name from platform_leases where holder = 'drainer' and expires_at > now()");
    expect(held.rows).toEqual([]);
    expect(koban.output()).not.toContain('could not stop cleanly');
  }, 400_000);
});
