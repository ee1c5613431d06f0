/**
 * Bounded shutdown and slow clients (issues 10 and 12), with Koban as a real process:
 *  - SIGTERM with a notification stream open stops Koban cleanly; with a request stuck on the database
 *    as well, it still exits within the grace period and a short margin;
 *  - a request body or headers that never finish are cut off (408) instead of held forever;
 *  - above the connection cap, requests on both listeners are answered 503 and their connections closed.
 */
import { randomUUID } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { newClient, signUp, type Customer } from '../identity/support.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { ledgerAuth, startTestKoban } from '../support/koban.ts';
import { startKobanProcess, type KobanProcess } from './koban-process.ts';

let db: TestDatabase;
let admin: pg.Client;
let customer: Customer;
let closeInProcess: () => Promise<void>;
const processes: KobanProcess[] = [];
const sockets: Socket[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  admin = new pg.Client({ connectionString: db.url ?? '', application_name: 'koban-test-admin' });
  admin.on('error', () => undefined);
  await admin.connect();
  // The customer signs up through an in-process Koban on the same database: the session is in the database.
  const inProcess = await startTestKoban({ db });
  // A client without a device key: these tests are about shutdown, and the child Koban serves another origin
  // than the one a proof would name (device binding is covered in test/identity/device-bound-sessions.test.ts).
  customer = await signUp(inProcess.koban, undefined, newClient(inProcess.koban, '198.51.100.9', { deviceKey: false }));
  closeInProcess = inProcess.close;
});
afterEach(() => {
  for (const socket of sockets.splice(0)) socket.destroy();
  for (const p of processes.splice(0)) p.kill();
});
afterAll(async () => {
  await closeInProcess();
  await admin.end();
  await db.close();
});

async function started(env: Record<string, string>): Promise<KobanProcess> {
  const koban = await startKobanProcess(db.url ?? '', env);
  processes.push(koban);
  return koban;
}

/** Opens the customer's notification stream; resolves once `ready` arrived, with a promise of its end. */
async function openStream(base: string): Promise<{ ended: Promise<string> }> {
  const cookie = [...customer.client.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  const response = await fetch(`${base}/v1/customer/notifications/stream`, { headers: { cookie, accept: 'text/event-stream' } });
  expect(response.status).toBe(200);
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  let text = '';
  while (!text.includes('event: ready')) {
    const chunk = await reader.read();
    if (chunk.done) throw new Error(`stream ended before ready: ${text}`);
    text += new TextDecoder().decode(chunk.value);
  }
  const ended = (async () => {
    try {
      for (;;) {
        const chunk = await reader.read();
        if (chunk.done) return 'ended';
      }
    } catch {
      return 'cut';
    }
  })();
  return { ended };
}

async function ledgerWallet(base: string): Promise<{ funding: string; wallet: string }> {
  const ids = { funding: randomUUID(), wallet: randomUUID() };
  const response = await fetch(`${base}/v1/ledger/accounts`, { method: 'POST', headers: { ...ledgerAuth, 'content-type': 'application/json' }, body: JSON.stringify({ accounts: [{ id: ids.funding, ledger: 392, code: 300 }, { id: ids.wallet, ledger: 392, code: 100 }] }) });
  expect(response.status).toBe(200);
  return ids;
}

describe('SIGTERM', () => {
  it('stops Koban cleanly with a notification stream open: the stream ends and the process exits 0', async () => {
    const koban = await started({ KOBAN_SHUTDOWN_GRACE_MS: '5000' });
    const stream = await openStream(koban.base);
    koban.child.kill('SIGTERM');
    expect(await koban.exited).toEqual({ code: 0, signal: null });
    expect(await stream.ended).toMatch(/ended|cut/);
  });

  it('exits within the grace period even with a request stuck on the database and a stream open', async () => {
    const koban = await started({ KOBAN_SHUTDOWN_GRACE_MS: '1000', KOBAN_DATABASE_STATEMENT_TIMEOUT_MS: '120000' });
    const ids = await ledgerWallet(koban.base);
    const stream = await openStream(koban.base);
    await admin.query('begin');
    try {
      await admin.query('select id from accounts where id = $1 for update', [ids.wallet]);
      const stuck = fetch(`${koban.base}/v1/ledger/transfers`, {
        method: 'POST', headers: { ...ledgerAuth, 'content-type': 'application/json' },
        body: JSON.stringify({ transfers: [{ id: randomUUID(), debitAccountId: ids.funding, creditAccountId: ids.wallet, amount: '1', ledger: 392, code: 2 }] }),
      }).then((response) => response.status, () => 'cut');
      await expect.poll(async () => (await admin.query("select 1 from pg_stat_activity where datname = current_database() and application_name = 'koban' and wait_event_type = 'Lock'")).rowCount, { timeout: 15_000 }).toBeGreaterThan(0);
      koban.child.kill('SIGTERM');
      // Forced: the stuck batch cannot finish, so connections are closed and the process exits 1.
      expect(await koban.exited).toEqual({ code: 1, signal: null });
      expect(koban.output()).toContain('closing every open connection');
      expect(await stuck).toBe('cut');
      expect(await stream.ended).toMatch(/ended|cut/);
    } finally {
      await admin.query('rollback');
    }
  });
});

/** A raw connection that sends `text` and then nothing more; resolves with what the server answered once it closed. */
function slowClient(port: number, text: string): Promise<string> {
  return new Promise((resolve) => {
    let answer = '';
    const socket = connect(port, '127.0.0.1', () => socket.write(text));
    sockets.push(socket);
    socket.on('data', (chunk: Buffer) => { answer += chunk.toString(); });
    socket.on('error', () => undefined);
    socket.on('close', () => resolve(answer));
  });
}

const portOf = (base: string) => Number(new URL(base).port);

describe('slow clients', () => {
  it('cuts off a request body or headers that never finish (408), on both listeners', async () => {
    const koban = await started({ KOBAN_HTTP_REQUEST_TIMEOUT_MS: '2000', KOBAN_HTTP_HEADERS_TIMEOUT_MS: '1000' });
    const body = 'POST /v1/ops/session HTTP/1.1\r\nHost: koban\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"email":"';
    const answers = await Promise.all([
      slowClient(portOf(koban.base), body),
      slowClient(portOf(koban.base), 'GET /healthz HTTP/1.1\r\nHost: koban\r\nX-Slow: '),
      slowClient(portOf(koban.opaBase), body.replace('/v1/ops/session', '/v2/codes')),
    ]);
    for (const answer of answers) expect(answer === '' || answer.startsWith('HTTP/1.1 408')).toBe(true);
    expect(koban.child.exitCode).toBeNull();
  });

  it('cuts off a connection to the HTTPS merchant listener that never starts its TLS handshake', async () => {
    const koban = await started({ KOBAN_OPA_TLS: 'true', KOBAN_HTTP_REQUEST_TIMEOUT_MS: '2000', KOBAN_HTTP_HEADERS_TIMEOUT_MS: '1000' });
    expect(koban.opaBase).toMatch(/^https:/);
    // Half a ClientHello, then silence: the server closes the connection rather than hold it.
    expect(await slowClient(portOf(koban.opaBase), '\x16\x03\x01\x00')).toBe('');
    expect(koban.child.exitCode).toBeNull();
  });

  it('answers 503 with Retry-After above the connection cap, on both listeners, and serves again once they close', async () => {
    const koban = await started({ KOBAN_HTTP_CONNECTIONS_MAX: '10', KOBAN_HTTP_REQUEST_TIMEOUT_MS: '60000', KOBAN_HTTP_HEADERS_TIMEOUT_MS: '60000' });
    // Ten idle connections on each listener fill it.
    for (const base of [koban.base, koban.opaBase]) {
      for (let i = 0; i < 10; i++) void slowClient(portOf(base), 'GET /healthz HTTP/1.1\r\nHost: koban\r\n');
    }
    await expect.poll(async () => (await fetch(`${koban.base}/healthz`)).status, { timeout: 15_000 }).toBe(503);
    const refused = await fetch(`${koban.base}/healthz`);
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('2');
    expect(await refused.json()).toMatchObject({ code: 'service_unavailable' });
    const opaRefused = await fetch(`${koban.opaBase}/v2/codes`, { method: 'POST' });
    expect(opaRefused.status).toBe(503);
    expect(await opaRefused.json()).toMatchObject({ resultInfo: { code: 'MAINTENANCE_MODE' } });

    for (const socket of sockets.splice(0)) socket.destroy();
    await expect.poll(async () => (await fetch(`${koban.base}/healthz`)).status, { timeout: 15_000 }).toBe(200);
    expect(koban.child.exitCode).toBeNull();
  });
});
