/**
 * Code inside `withTransaction` cannot reach the pool of the same database (src/platform/db/database.ts):
 * on PGlite (one connection) that waited on itself for ever — the first top-up on `npm start` hung so — and
 * on PostgreSQL it silently ran on a second connection, outside the transaction. Each way in fails at once
 * with an assertion, and the transaction rolls back.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AssertionFailed } from '../../src/platform/assert.ts';
import { isInsideTransaction, withTransaction, type Database } from '../../src/platform/db/database.ts';
import { openPglite } from '../../src/platform/db/pglite.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';

let postgres: TestDatabase;
let embedded: Database;
let other: Database;

beforeAll(async () => {
  postgres = await createTestDatabase({ poolSize: 4 });
  embedded = await openPglite({ dataDir: 'memory', nodeEnv: 'test' });
  other = await openPglite({ dataDir: 'memory', nodeEnv: 'test' });
  for (const db of [postgres, embedded]) await db.pool.query('create table guard_probe (id int primary key)');
});
afterAll(async () => {
  await Promise.all([postgres.close(), embedded.close(), other.close()]);
});

const ways: Array<[string, (db: Database) => Promise<unknown>]> = [
  ['db.pool.query()', (db) => db.pool.query('select 1')],
  ['db.pool.connect()', async (db) => (await db.pool.connect()).release()],
  ['db.kysely', (db) => db.kysely.selectFrom('schema_migrations').selectAll().execute()],
  ['withTransaction', (db) => withTransaction(db, async (client) => client.query('select 1'))],
];

describe.each([['PostgreSQL', () => postgres], ['PGlite', () => embedded]] as const)('a transaction on %s', (_name, database) => {
  it.each(ways)('refuses %s on the same database with an assertion, and rolls back', async (_what, reach) => {
    const db = database();
    const id = Math.floor(Math.random() * 1e9);
    const attempt = withTransaction(db, async (client) => {
      await client.query('insert into guard_probe (id) values ($1)', [id]);
      await reach(db);
    });
    await expect(attempt).rejects.toThrow(AssertionFailed);
    await expect(attempt).rejects.toThrow(/inside withTransaction on the same database/);
    const kept = await db.pool.query('select 1 from guard_probe where id = $1', [id]);
    expect(kept.rowCount).toBe(0);
  });

  it('lets the transaction use its client, and the pool again once it has ended', async () => {
    const db = database();
    let committed = (): void => undefined;
    const afterCommit = new Promise<void>((resolve) => { committed = resolve; });
    let later: Promise<unknown> = Promise.resolve();
    const seen = await withTransaction(db, async (client) => {
      expect(isInsideTransaction(db.pool)).toBe(true);
      // Work started inside but run after the commit (a notification sent afterwards) may use the pool.
      later = afterCommit.then(() => db.pool.query('select 2 as n'));
      return (await client.query<{ n: number }>('select 1 as n')).rows[0]?.n;
    });
    expect(seen).toBe(1);
    expect(isInsideTransaction(db.pool)).toBe(false);
    committed();
    expect(((await later) as { rows: Array<{ n: number }> }).rows[0]?.n).toBe(2);
  });
});

it('does not stop a transaction from using another database', async () => {
  const answer = await withTransaction(embedded, async () => (await other.pool.query<{ n: number }>('select 3 as n')).rows[0]?.n);
  expect(answer).toBe(3);
});
