// withTransaction({ genericPlans }) on both backends, a PostgreSQL server and PGlite: the setting holds for the
// transaction's statements only, and the connection's next transaction plans as before (one connection each).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { beginStatement, withTransaction, type Database } from '../../src/platform/db/database.ts';
import { openPglite } from '../../src/platform/db/pglite.ts';
import { createTestDatabase } from '../support/database.ts';

const planMode = async (client: { query: Database['pool']['query'] }): Promise<string> =>
  ((await client.query<{ plan_cache_mode: string }>('show plan_cache_mode')).rows[0]?.plan_cache_mode ?? '');

describe.each([
  ['PostgreSQL', () => createTestDatabase({ poolSize: 1 })],
  ['PGlite', () => openPglite({ dataDir: 'memory', nodeEnv: 'test' })],
] as const)('generic plans for one transaction on %s', (_backend, open) => {
  let db: Database;
  beforeAll(async () => {
    db = await open();
  });
  afterAll(async () => {
    await db?.close();
  });

  it('plans a named statement generically inside, and leaves the connection as it was after commit and after rollback', async () => {
    const inside = await withTransaction(db, async (client) => {
      const named = await client.query<{ n: number }>({ name: 'generic_plans_probe', text: 'select count(*)::int as n from generate_series(1, $1::int)', values: [3] });
      return { mode: await planMode(client), n: named.rows[0]?.n };
    }, { genericPlans: true });
    expect(inside).toEqual({ mode: 'force_generic_plan', n: 3 });
    expect(await planMode(db.pool)).toBe('auto');
    await expect(withTransaction(db, async () => { throw new Error('rolled back'); }, { genericPlans: true })).rejects.toThrow('rolled back');
    expect(await planMode(db.pool)).toBe('auto');
    expect(await withTransaction(db, (client) => planMode(client))).toBe('auto');
  });

  it('sends the setting with the begin, and nothing more without the option', () => {
    expect(beginStatement({ genericPlans: true })).toBe('begin isolation level read committed; set local plan_cache_mode = force_generic_plan');
    expect(beginStatement()).toBe('begin isolation level read committed');
  });
});
