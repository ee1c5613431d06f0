/**
 * Plain-SQL migrations, one set for PostgreSQL and PGlite: `migrations/NNNN_name.sql`, applied in
 * order at start, each in its own transaction. An applied migration whose file has since changed
 * stops the start: history is never rewritten silently.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Database } from './database.ts';

export const MIGRATIONS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../migrations');
const FILE_PATTERN = /^(\d{4})_([a-z0-9_]+)\.sql$/;
// Any constant works; it only has to be the same in every Koban process.
const MIGRATION_LOCK_KEY = 7_262_019;

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
  readonly checksum: string;
}

export function readMigrations(dir: string = MIGRATIONS_DIR): Migration[] {
  const migrations = readdirSync(dir)
    .filter((file) => FILE_PATTERN.test(file))
    .sort()
    .map((file) => {
      const match = FILE_PATTERN.exec(file);
      const sql = readFileSync(path.join(dir, file), 'utf8');
      return { version: Number(match?.[1]), name: match?.[2] ?? file, sql, checksum: sha256(sql) };
    });
  // Numbers only have to increase: modules take their own ranges (see migrations/README.md).
  migrations.forEach((migration, index) => {
    const previous = migrations[index - 1];
    if (previous !== undefined && previous.version >= migration.version) throw new Error(`Migration number ${migration.version} is used twice`);
  });
  return migrations;
}

/** statement_timeout is lifted inside a migration; the client still gives up after a day. */
const MIGRATION_READ_TIMEOUT_MS = 24 * 60 * 60 * 1000;

export async function migrate(db: Database, migrations: Migration[] = readMigrations()): Promise<{ applied: string[] }> {
  const client = await db.pool.connect();
  try {
    // Several Koban processes may start together: only one migrates, the others wait here.
    await client.query('select pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    await client.query(`create table if not exists schema_migrations (
      version integer primary key, name text not null, checksum text not null, applied_at timestamptz not null default now())`);
    const applied = await appliedChecksums(client);
    const newlyApplied: string[] = [];
    for (const migration of migrations) {
      const known = applied.get(migration.version);
      if (known !== undefined) {
        if (known !== migration.checksum) throw new Error(`Migration ${migration.version}_${migration.name} was changed after it was applied`);
        continue;
      }
      await client.query('begin');
      try {
        await client.query('set local statement_timeout = 0');
        // The pool's client-side read timeout is for requests; a migration may legitimately run long.
        const statement: { text: string; query_timeout: number } = { text: migration.sql, query_timeout: MIGRATION_READ_TIMEOUT_MS };
        await client.query(statement);
        await client.query('insert into schema_migrations (version, name, checksum) values ($1, $2, $3)', [migration.version, migration.name, migration.checksum]);
        await client.query('commit');
      } catch (error) {
        await client.query('rollback');
        throw new Error(`Migration ${migration.version}_${migration.name} failed: ${(error as Error).message}`, { cause: error });
      }
      newlyApplied.push(`${migration.version}_${migration.name}`);
    }
    return { applied: newlyApplied };
  } finally {
    await client.query('select pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => undefined);
    client.release();
  }
}

/** True when every migration on disk is applied (and nothing unknown is); used by /readyz. */
export async function migrationsAreCurrent(db: Database, migrations: Migration[] = readMigrations()): Promise<boolean> {
  const result = await db.pool.query<{ version: number }>('select version from schema_migrations order by version');
  const applied = result.rows.map((row) => row.version);
  return applied.length === migrations.length && migrations.every((migration, index) => applied[index] === migration.version);
}

async function appliedChecksums(client: { query: Database['pool']['query'] }): Promise<Map<number, string>> {
  const result = await client.query<{ version: number; checksum: string }>('select version, checksum from schema_migrations');
  return new Map(result.rows.map((row) => [row.version, row.checksum]));
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
