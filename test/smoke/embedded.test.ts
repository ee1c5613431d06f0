/**
 * Smoke suite on the embedded PGlite database, the default of `npm start`: the same migrations,
 * driver and ledger code must work there, the data folder must survive a restart, a second process
 * on the folder must be refused, and production must refuse the mode altogether.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createKoban } from '../../src/koban.ts';
import { seedDemoData, DEMO } from '../../src/demo/seed.ts';
import { verifyLedger } from '../../src/ledger/verify.ts';
import { migrate } from '../../src/platform/db/migrate.ts';
import { EmbeddedDatabaseRefused, openPglite } from '../../src/platform/db/pglite.ts';
import { FolderLocked } from '../../src/platform/db/folder-lock.ts';
import { ledgerAuth, testConfig } from '../support/koban.ts';

const folder = mkdtempSync(path.join(os.tmpdir(), 'koban-smoke-'));
const dataDir = path.join(folder, 'data');
afterAll(() => rmSync(folder, { recursive: true, force: true }));

describe('embedded PGlite', () => {
  it('runs Koban: migrations, demo data, a payment over HTTP, verify; and keeps it across a restart', async () => {
    let db = await openPglite({ dataDir, nodeEnv: 'development' });
    await migrate(db);
    let koban = await createKoban(testConfig(), db);
    await seedDemoData(db, koban.ledger);
    const ready = await koban.app.inject({ method: 'GET', url: '/readyz' });
    expect(ready.json()).toMatchObject({ status: 'ready', durability: 'trial' });

    // While it runs, a second process on the same folder is refused with a clear message.
    await expect(openPglite({ dataDir, nodeEnv: 'development' })).rejects.toThrow(FolderLocked);
    await expect(openPglite({ dataDir, nodeEnv: 'development' })).rejects.toThrow(/in use by process/);

    const hanako = DEMO.customers[0].wallet;
    const pay = await koban.app.inject({ method: 'POST', url: '/v1/ledger/transfers', headers: ledgerAuth, payload: { transfers: [
      { id: '0190a000-0000-7000-8000-0000000000f1', debitAccountId: hanako, creditAccountId: DEMO.merchant.receivable, amount: '480', ledger: 392, code: 2 },
    ] } });
    expect(pay.json().results[0].result).toBe('created');
    expect((await verifyLedger(db)).ok).toBe(true);
    await koban.close();
    await db.close();

    db = await openPglite({ dataDir, nodeEnv: 'development' });
    await migrate(db);
    koban = await createKoban(testConfig(), db);
    await seedDemoData(db, koban.ledger); // idempotent: no second opening balance
    const wallet = await koban.ledger.getAccount(hanako);
    expect(wallet?.creditsPosted).toBe(12_000n);
    expect(wallet?.debitsPosted).toBe(480n);
    expect((await verifyLedger(db)).ok).toBe(true);
    await koban.close();
    await db.close();
  });

  it('is refused when NODE_ENV=production', async () => {
    await expect(openPglite({ dataDir: path.join(folder, 'prod'), nodeEnv: 'production' })).rejects.toThrow(EmbeddedDatabaseRefused);
  });
});
