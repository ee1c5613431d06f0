/** Builds the migrated template database once per run; test files copy it (see database.ts). */
import { openPostgres } from '../../src/platform/db/postgres.ts';
import { migrate } from '../../src/platform/db/migrate.ts';
import { adminQuery, databaseUrl, TEMPLATE_DATABASE } from './database.ts';

export default async function setup(): Promise<void> {
  if (process.env.KOBAN_TEST_DB === 'pglite' || process.env.KOBAN_TEST_PG_URL === undefined) return;
  await adminQuery(`drop database if exists ${TEMPLATE_DATABASE} with (force)`);
  await adminQuery(`create database ${TEMPLATE_DATABASE}`);
  const db = await openPostgres(databaseUrl(TEMPLATE_DATABASE), 1);
  try {
    await migrate(db);
  } finally {
    await db.close();
  }
}
