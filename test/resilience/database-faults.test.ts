/**
 * Koban survives its database (issue 12, items 1 and 4), as a real process on a real PostgreSQL:
 *  - its connections terminated by the server while a ledger batch holds one mid-transaction: the
 *    batch's requests fail with a 503 problem, the process stays up, the pool opens fresh connections
 *    and the next requests succeed; the LISTEN connection comes back by itself;
 *  - started while the database is unreachable: it waits with a logged backoff instead of refusing;
 *  - a stalled database (a lock held by someone else): requests, the OPA listener and /readyz answer
 *    503 within the configured bounds instead of hanging.
 */
import { randomUUID } from 'node:crypto';
import { createServer, connect, type Server, type Socket } from 'node:net';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { ledgerAuth } from '../support/koban.ts';
import { freePort } from '../support/web-koban.ts';
import { KOBAN_BACKENDS, spawnKoban, startKobanProcess, type KobanProcess } from './koban-process.ts';

let db: TestDatabase;
let admin: pg.Client;
const processes: Array<{ kill(): void }> = [];

beforeAll(async () => {
  db = await createTestDatabase({ poolSize: 2 });
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

async function call(base: string, method: string, url: string, body?: unknown): Promise<{ status: number; headers: Headers; json: Record<string, unknown> }> {
  const response = await fetch(`${base}${url}`, {
    method, headers: { ...ledgerAuth, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, json: text === '' ? {} : JSON.parse(text) as Record<string, unknown> };
}

async function ledgerAccounts(base: string): Promise<{ funding: string; wallet: string }> {
  const ids = { funding: randomUUID(), wallet: randomUUID() };
  const created = await call(base, 'POST', '/v1/ledger/accounts', { accounts: [{ id: ids.funding, ledger: 392, code: 300 }, { id: ids.wallet, ledger: 392, code: 100 }] });
  expect(created.status).toBe(200);
  return ids;
}

const topUp = (base: string, ids: { funding: string; wallet: string }) =>
  call(base, 'POST', '/v1/ledger/transfers', { transfers: [{ id: randomUUID(), debitAccountId: ids.funding, creditAccountId: ids.wallet, amount: '1', ledger: 392, code: 2 }] });

/** Waits (bounded) until `count` Koban statements wait on a lock in this database. */
async function waitForLockWaiters(count: number): Promise<void> {
  await expect.poll(async () => {
    const result = await admin.query<{ n: string }>("select count(*)::text as n from pg_stat_activity where datname = current_database() and application_name = 'koban' and wait_event_type = 'Lock'");
    return Number(result.rows[0]?.n);
  }, { timeout: 15_000 }).toBeGreaterThanOrEqual(count);
}

async function started(env: Record<string, string> = {}): Promise<KobanProcess> {
  const koban = await startKobanProcess(db.url ?? '', env);
  processes.push(koban);
  return koban;
}

describe('a dropped database connection', () => {
  it('fails only the requests of the batch that held it, and Koban stays up and serves the next ones', async () => {
    const koban = await started({ KOBAN_DATABASE_POOL_SIZE: '4' });
    const ids = await ledgerAccounts(koban.base);
    // Someone else holds the wallet's row: the next ledger batch waits inside its transaction.
    await admin.query('begin');
    await admin.query('select id from accounts where id = $1 for update', [ids.wallet]);
    const inFlight = Array.from({ length: 8 }, () => topUp(koban.base, ids));
    await waitForLockWaiters(1);
    // The pids first: a filter and pg_terminate_backend in one WHERE may run in either order.
    const backends = (await admin.query<{ pid: number }>(KOBAN_BACKENDS)).rows.map((row) => row.pid);
    expect(backends.length).toBeGreaterThan(0);
    await admin.query('select pg_terminate_backend(pid) from unnest($1::int[]) as pid', [backends]);
    await admin.query('rollback');

    const answers = await Promise.all(inFlight);
    // Each copy either made it (a later batch on a fresh connection) or was told to retry: never a 500.
    for (const answer of answers) expect([200, 503]).toContain(answer.status);
    const refused = answers.filter((a) => a.status === 503);
    expect(refused.length).toBeGreaterThan(0);
    for (const answer of refused) {
      expect(answer.json.code).toBe('database_unavailable');
      expect(answer.headers.get('retry-after')).toBe('2');
    }
    expect(koban.child.exitCode).toBeNull();

    // The pool replaced the connections: the next requests succeed.
    expect((await topUp(koban.base, ids)).status).toBe(200);
    expect((await call(koban.base, 'GET', '/readyz')).json).toMatchObject({ status: 'ready' });
    // The change feed's LISTEN connection was terminated too: it listens again by itself.
    await expect.poll(async () => {
      const result = await admin.query("select 1 from pg_stat_activity where datname = current_database() and application_name = 'koban' and query ilike 'listen %'");
      return result.rowCount;
    }, { timeout: 15_000 }).toBeGreaterThan(0);
    expect(koban.child.exitCode).toBeNull();
  });
});

describe('start-up', () => {
  let proxy: Server | null = null;
  const piped = new Set<Socket>();
  afterEach(() => {
    proxy?.close();
    for (const socket of piped) socket.destroy();
    proxy = null;
  });

  it('waits for a database that is not reachable yet, logging its backoff, instead of refusing to start', async () => {
    const target = new URL(db.url ?? '');
    const port = await freePort();
    const viaProxy = new URL(target);
    viaProxy.hostname = '127.0.0.1';
    viaProxy.port = String(port);
    const spawned = spawnKoban(viaProxy.toString(), { KOBAN_DATABASE_STARTUP_WAIT_MS: '60000' });
    processes.push(spawned);
    await expect.poll(() => spawned.output(), { timeout: 20_000 }).toMatch(/waiting for the database \(attempt 2: .*ECONNREFUSED/);
    expect(spawned.child.exitCode).toBeNull();
    // The database "comes up": a TCP proxy to the real server appears on the port Koban is trying.
    proxy = createServer((socket: Socket) => {
      const upstream = connect(Number(target.port || 5432), target.hostname);
      piped.add(socket).add(upstream);
      socket.pipe(upstream).pipe(socket);
      const drop = () => { socket.destroy(); upstream.destroy(); };
      socket.on('error', drop);
      upstream.on('error', drop);
    });
    await new Promise<void>((resolve) => proxy?.listen(port, '127.0.0.1', resolve));
    const koban = await spawned.started;
    expect(koban.output()).toContain('database reachable after');
    expect((await call(koban.base, 'GET', '/readyz')).json).toMatchObject({ status: 'ready', database: 'reachable' });
  });

  it('still refuses at once what waiting cannot fix (a database that does not exist)', async () => {
    const wrong = new URL(db.url ?? '');
    wrong.pathname = '/koban_no_such_database';
    const spawned = spawnKoban(wrong.toString(), { KOBAN_DATABASE_STARTUP_WAIT_MS: '60000' });
    processes.push(spawned);
    const { code } = await spawned.exited;
    expect(code).toBe(1);
    expect(spawned.output()).toContain('does not exist');
    expect(spawned.output()).not.toContain('waiting for the database');
  });
});

/**
 * SIGSTOPs every backend of Koban's (its LISTEN connections aside) and refuses new connections to the
 * database, so the request cannot be served around them on a connection the pool opens meanwhile (a pool
 * with room raced the stop: a worker took a stopped connection and the request, finding none idle,
 * opened a fresh one and was answered 200). Returns how to undo it.
 */
async function stallEveryBackend(): Promise<() => Promise<void>> {
  const database = (await admin.query<{ name: string }>('select current_database() as name')).rows[0]?.name ?? '';
  // PostgreSQL refuses this from a connection to the database itself: a connection to `postgres` does it.
  const maintenance = new URL(db.url ?? '');
  maintenance.pathname = '/postgres';
  const outside = new pg.Client({ connectionString: maintenance.toString() });
  await outside.connect();
  await outside.query(`alter database "${database}" allow_connections false`);
  const backends = (await admin.query<{ pid: number }>(`${KOBAN_BACKENDS} and query not ilike 'listen %'`)).rows.map((row) => row.pid);
  expect(backends.length).toBeGreaterThan(0);
  for (const pid of backends) process.kill(pid, 'SIGSTOP');
  return async () => {
    for (const pid of backends) process.kill(pid, 'SIGCONT');
    await outside.query(`alter database "${database}" allow_connections true`);
    await outside.end();
  };
}

describe('a stalled database', () => {
  it('answers 503 database_unavailable within the statement timeout, on the API, the OPA listener and /readyz', async () => {
    const koban = await started({ KOBAN_DATABASE_STATEMENT_TIMEOUT_MS: '1000', KOBAN_DATABASE_ACQUIRE_TIMEOUT_MS: '1000' });
    const ids = await ledgerAccounts(koban.base);
    await admin.query('begin');
    try {
      await admin.query('select id from accounts where id = $1 for update', [ids.wallet]);
      await admin.query('lock table schema_migrations, merchant_api_credentials in access exclusive mode');
      const [stuck, ready, opa] = await Promise.all([
        topUp(koban.base, ids),
        call(koban.base, 'GET', '/readyz'),
        fetch(`${koban.opaBase}/v2/codes/payments/some-id`, { headers: { authorization: `hmac OPA-Auth:some-key:${'A'.repeat(43)}=:nonce-12345678:${Math.floor(Date.now() / 1000)}:empty` } }),
      ]);
      expect(stuck.status).toBe(503);
      expect(stuck.json).toMatchObject({ code: 'database_unavailable', status: 503 });
      expect(stuck.headers.get('retry-after')).toBe('2');
      expect(ready.status).toBe(503);
      expect(ready.json).toMatchObject({ status: 'not_ready', reason: expect.any(String) });
      // The merchant API keeps its envelope: MAINTENANCE_MODE, never an internal error.
      expect(opa.status).toBe(503);
      expect(await opa.json()).toMatchObject({ resultInfo: { code: 'MAINTENANCE_MODE' } });
      expect(opa.headers.get('retry-after')).toBe('2');
    } finally {
      await admin.query('rollback');
    }
    expect((await topUp(koban.base, ids)).status).toBe(200);
    expect(koban.child.exitCode).toBeNull();
  });

  it('answers 503 in bounded time when the backend itself stops answering (SIGSTOP), and recovers on a fresh connection', async () => {
    const koban = await started({ KOBAN_DATABASE_STATEMENT_TIMEOUT_MS: '1000', KOBAN_DATABASE_ACQUIRE_TIMEOUT_MS: '1000' });
    const ids = await ledgerAccounts(koban.base);
    // Every pool connection's backend stops, busy ones too: the server's own statement timeout can no longer fire.
    const resume = await stallEveryBackend();
    try {
      const stalled = await call(koban.base, 'GET', `/v1/ledger/accounts/${ids.wallet}`);
      expect(stalled.status).toBe(503);
      expect(stalled.json).toMatchObject({ code: 'database_unavailable' });
    } finally {
      await resume();
    }
    // The stuck connections were dropped, not lent again: the next requests get fresh ones.
    expect((await call(koban.base, 'GET', `/v1/ledger/accounts/${ids.wallet}`)).status).toBe(200);
    expect((await topUp(koban.base, ids)).status).toBe(200);
    expect(koban.child.exitCode).toBeNull();
  });
});
