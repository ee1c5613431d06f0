/**
 * A newcomer's first hour on the embedded database, with real processes: a second `npm start` on a folder
 * in use is refused with the holder's pid before it binds any port, and `koban till activation-code` works
 * beside a running embedded Koban (which alone may open the folder) by asking it over its local admin
 * channel — with the token from the 0600 file, and not without it.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { createKoban, type Koban } from '../../src/koban.ts';
import { seedDemoData, DEMO } from '../../src/demo/seed.ts';
import { acquireFolderLock } from '../../src/platform/db/folder-lock.ts';
import { migrate } from '../../src/platform/db/migrate.ts';
import { openPglite } from '../../src/platform/db/pglite.ts';
import { localAdminFile, newLocalAdminToken, publishLocalAdmin, readLocalAdmin } from '../../src/platform/local-admin.ts';
import { registerLocalTillActivationRoute } from '../../src/payments/terminal/issue-routes.ts';
import { newClient } from '../identity/support.ts';
import { testConfig } from '../support/koban.ts';

const run = promisify(execFile);
const root = mkdtempSync(path.join(os.tmpdir(), 'koban-first-hour-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Generous: a start that stops at the lock, or a CLI call, takes a few seconds. */
const PROCESS_BOUND_MS = 60_000;

async function runNode(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, args, { env: { ...process.env, ...env }, timeout: PROCESS_BOUND_MS });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

async function occupiedPort(): Promise<{ server: Server; port: number }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return { server, port: address.port };
}

describe('a second npm start on the same folder', () => {
  it('says Koban is already running, with the pid, and exits non-zero before binding any port', async () => {
    const dataDir = path.join(root, 'second-start');
    const lock = acquireFolderLock(dataDir);
    // Every port the start would bind is taken: reaching any of them would fail with EADDRINUSE instead.
    const ports = await Promise.all([occupiedPort(), occupiedPort(), occupiedPort(), occupiedPort()]);
    try {
      const [api, opa, acquirer, bank] = ports.map((p) => String(p.port));
      const started = await runNode(['src/main.ts'], {
        KOBAN_DATA_DIR: dataDir, DATABASE_URL: '', KOBAN_PORT: api!, KOBAN_OPA_PORT: opa!, KOBAN_SANDBOX_ACQUIRER_PORT: acquirer!, KOBAN_SANDBOX_BANK_PORT: bank!,
        KOBAN_DEV_IDP_PORT: api!, NODE_ENV: 'development',
      });
      expect(started.code).toBe(1);
      expect(started.stderr).toContain(`Koban is already running (pid ${process.pid}`);
      expect(started.stderr).not.toContain('EADDRINUSE');
      expect(started.stdout).not.toContain('Koban is running');
    } finally {
      lock.release();
      await Promise.all(ports.map((p) => new Promise((resolve) => p.server.close(resolve))));
    }
  });
});

describe('koban till activation-code beside a running embedded Koban', () => {
  it('asks the running Koban with its per-start token, and the code activates a till', async () => {
    const dataDir = path.join(root, 'running');
    const db = await openPglite({ dataDir, nodeEnv: 'development' });
    let koban: Koban | null = null;
    try {
      await migrate(db);
      koban = await createKoban(testConfig({ KOBAN_DATA_DIR: dataDir }), db);
      await seedDemoData(db, koban.ledger);
      const token = newLocalAdminToken();
      registerLocalTillActivationRoute(koban.app, koban.payments.terminals, token);
      const url = await koban.app.listen({ host: '127.0.0.1', port: 0 });
      const unpublish = publishLocalAdmin(dataDir, url, token);
      expect(statSync(localAdminFile(dataDir)).mode & 0o777).toBe(0o600);

      const terminalId = DEMO.merchant.stores[0]!.terminals[1]!.id;
      const cli = await runNode(['bin/koban.mjs', 'till', 'activation-code', '--terminal', terminalId], { KOBAN_DATA_DIR: dataDir, DATABASE_URL: '' });
      expect(cli.code, cli.stderr).toBe(0);
      const code = /^([A-Z0-9]{4}-[A-Z0-9]{4})\s/.exec(cli.stdout)?.[1];
      expect(code, cli.stdout).toBeDefined();
      const till = newClient(koban, '203.0.113.90');
      const activated = await till.request({ method: 'POST', url: '/v1/till/activate', body: { code } });
      expect(activated.statusCode, activated.body).toBe(200);
      expect((await till.request({ method: 'GET', url: '/v1/till/session' })).json()).toMatchObject({ terminal: { id: terminalId } });

      // An unknown terminal is the running Koban's answer, not a crash.
      const unknown = await runNode(['bin/koban.mjs', 'till', 'activation-code', '--terminal', '00000000-0000-7000-8000-00000000ffff'], { KOBAN_DATA_DIR: dataDir, DATABASE_URL: '' });
      expect(unknown.code).toBe(2);
      expect(unknown.stderr).toContain('No such terminal');
      unpublish();
      expect(readLocalAdmin(dataDir)).toBeNull();
    } finally {
      await koban?.close();
      await db.close();
    }
  }, 120_000);

  it('refuses a caller without the local admin token', async () => {
    const db = await openPglite({ dataDir: 'memory', nodeEnv: 'development' });
    await migrate(db);
    const koban = await createKoban(testConfig(), db);
    try {
      await seedDemoData(db, koban.ledger);
      registerLocalTillActivationRoute(koban.app, koban.payments.terminals, newLocalAdminToken());
      const terminalId = DEMO.merchant.stores[0]!.terminals[0]!.id;
      for (const authorization of [undefined, 'Bearer wrong-token-0000000000000000000000000']) {
        const response = await koban.app.inject({ method: 'POST', url: '/v1/local/till/activation-codes', payload: { terminalId },
          headers: authorization === undefined ? {} : { authorization } });
        expect(response.statusCode).toBe(401);
      }
      const issued = await db.pool.query('select 1 from terminal_activation_codes where terminal_id = $1', [terminalId]);
      expect(issued.rowCount).toBe(0);
    } finally {
      await koban.close();
      await db.close();
    }
  });
});
