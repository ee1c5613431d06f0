/**
 * Each test file gets its own database: on PostgreSQL a fresh copy of a migrated template (fast,
 * isolated, parallel-safe); in the PGlite smoke project an in-memory PGlite. The server itself is
 * started by `npm test` (tools/test-runner.ts) and reached through KOBAN_TEST_PG_URL.
 */
import { adminQuery as adminQueryAt } from '../../tools/postgres/admin.ts';
import { randomBytes } from 'node:crypto';
import { openPglite } from '../../src/platform/db/pglite.ts';
import { openPostgres } from '../../src/platform/db/postgres.ts';
import { migrate } from '../../src/platform/db/migrate.ts';
import type { Database } from '../../src/platform/db/database.ts';

export const TEMPLATE_DATABASE = 'koban_template';

export type TestDatabase = Database & { readonly url: string | null };

export function testBackend(): 'postgres' | 'pglite' {
  return process.env.KOBAN_TEST_DB === 'pglite' ? 'pglite' : 'postgres';
}

export function adminUrl(): string {
  const url = process.env.KOBAN_TEST_PG_URL;
  if (url === undefined || url === '') {
    throw new Error('KOBAN_TEST_PG_URL is not set: run the suite with `npm test`, which starts a throwaway PostgreSQL');
  }
  return url;
}

export function databaseUrl(name: string): string {
  const url = new URL(adminUrl());
  url.pathname = `/${name}`;
  return url.toString();
}

export async function createTestDatabase(options: { poolSize?: number } = {}): Promise<TestDatabase> {
  if (testBackend() === 'pglite') {
    const db = await openPglite({ dataDir: 'memory', nodeEnv: 'test' });
    await migrate(db);
    return Object.assign(db, { url: null });
  }
  const name = `koban_t_${randomBytes(6).toString('hex')}`;
  await createFromTemplate(name);
  const url = databaseUrl(name);
  const db = await openPostgres(url, options.poolSize ?? 20);
  const close = db.close.bind(db);
  return Object.assign(db, {
    url,
    async close() {
      await close();
      await adminQuery(`drop database if exists ${name} with (force)`);
    },
  });
}

/** Opens a second, independent pool on the same database: a stand-in for another Koban process. */
export async function openAnotherConnection(db: TestDatabase, poolSize = 20): Promise<Database> {
  if (db.url === null) throw new Error('a second connection needs PostgreSQL: PGlite has one session');
  return openPostgres(db.url, poolSize);
}

/**
 * A backend that just disconnected from the template may linger for a moment, and PostgreSQL
 * refuses to copy a database someone is connected to (55006): retry briefly.
 */
async function createFromTemplate(name: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await adminQuery(`create database ${name} template ${TEMPLATE_DATABASE}`);
      return;
    } catch (error) {
      const inUse = (error as { code?: string }).code === '55006';
      if (!inUse || attempt >= 50) throw error;
      await new Promise((resolve) => setTimeout(resolve, 20 * attempt));
    }
  }
}

export async function adminQuery(sql: string): Promise<void> {
  await adminQueryAt(adminUrl(), sql);
}
