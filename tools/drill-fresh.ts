/**
 * `node tools/drill-fresh.ts [drill options]`: one `koban drill` on a fresh database, as src/drill/README.md's
 * figures are measured. Starts a throwaway PostgreSQL and a Koban on it the way test/drill/drill.test.ts does
 * (sandboxes, demo merchant and operators, background work on, the test harness's wide-open SMS budgets), then
 * runs the drill CLI **in a process of its own** (the load generator does not share Koban's event loop) with
 * the options given, and stops everything. Prints the drill's report; its progress goes to stderr.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createKoban } from '../src/koban.ts';
import { startDevSandboxes } from '../src/demo/sandboxes.ts';
import { seedDemoData } from '../src/demo/seed.ts';
import { seedDemoPayments } from '../src/demo/demo-payments.ts';
import { seedDemoOperators } from '../src/operations/operators/demo.ts';
import { migrate } from '../src/platform/db/migrate.ts';
import { openPostgres } from '../src/platform/db/postgres.ts';
import { testConfig } from '../test/support/koban.ts';
import { startThrowawayPostgres } from './postgres/throwaway.ts';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return typeof address === 'object' && address !== null ? address.port : 0;
}

async function main(args: string[]): Promise<number> {
  const pg = await startThrowawayPostgres({ label: 'drill' });
  try {
    const db = await openPostgres(pg.adminUrl, 20);
    await migrate(db);
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const work = mkdtempSync(path.join(tmpdir(), 'koban-drill-fresh-'));
    const sandboxes = await startDevSandboxes({ KOBAN_PUBLIC_URL: url, KOBAN_SANDBOX_ACQUIRER_PORT: '0', KOBAN_SANDBOX_BANK_PORT: '0' });
    const env = Object.fromEntries(Object.entries(sandboxes.env).filter((entry): entry is [string, string] => entry[1] !== undefined));
    const koban = await createKoban(testConfig({ ...env, KOBAN_PUBLIC_URL: url, KOBAN_OPA_PORT: '0', KOBAN_OPA_TLS: 'true', KOBAN_TLS_DIR: work, KOBAN_TOPUP_RECONCILE_DELAY_MS: '0' }), db);
    try {
      await seedDemoData(db, koban.ledger);
      await seedDemoOperators(koban.operations.operators, 'test');
      koban.startBackgroundWork();
      await koban.app.listen({ host: '127.0.0.1', port });
      const opaUrl = await koban.payments.listenOpa();
      await seedDemoPayments(db, koban.payments.box);
      const drill = spawn(process.execPath, ['src/cli/main.ts', 'drill', '--url', url, '--opa-url', opaUrl, '--ca', path.join(work, 'ca.pem'),
        '--operator-passkey', path.join(work, 'operator-passkey.json'), ...args], { stdio: 'inherit' });
      const [code] = (await once(drill, 'exit')) as [number | null];
      return code ?? 1;
    } finally {
      await koban.close();
      await sandboxes.close();
      await db.close();
    }
  } finally {
    await pg.stop();
  }
}

process.exitCode = await main(process.argv.slice(2));
