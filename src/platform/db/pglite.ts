/**
 * The embedded database for trying Koban: PGlite (PostgreSQL compiled to WebAssembly, in-process).
 * Two facts shape this file (measured, see shared/reference/stack-notes.md §1.1):
 *  - PGlite never fsyncs, so a power loss can lose acknowledged commits: the mode is labelled
 *    "trial durability" and refused when NODE_ENV=production.
 *  - PGlite does not lock its data folder, and two processes on one folder silently lose data: we
 *    hold a lock file beside the folder for as long as the process runs.
 */
import pg from 'pg';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { assert } from '../assert.ts';
import { wrapPool, type Database } from './database.ts';
import { acquireFolderLock, type FolderLock } from './folder-lock.ts';
import { DEFAULT_DATABASE_TIMEOUTS, guardPoolClients } from './resilience.ts';

export class EmbeddedDatabaseRefused extends Error {
  override readonly name = 'EmbeddedDatabaseRefused';
}

/** `heldLock`: the folder's lock, already taken by the caller (`npm start` takes it before binding any port). */
export async function openPglite(options: { dataDir: string | 'memory'; nodeEnv: string; heldLock?: FolderLock; acquireTimeoutMs?: number }): Promise<Database> {
  if (options.nodeEnv === 'production') {
    throw new EmbeddedDatabaseRefused(
      'NODE_ENV=production needs DATABASE_URL: the embedded PGlite database never fsyncs (trial durability only).',
    );
  }
  const { PGlite } = await import('@electric-sql/pglite');
  const { createPgConfig } = await import('@electric-sql/pglite/node-postgres');
  if (options.dataDir === 'memory') {
    const pglite = await PGlite.create();
    return wrap(pglite, createPgConfig, 'PGlite in memory (trial durability)', async () => pglite.close(), options.acquireTimeoutMs);
  }
  const dataDir = path.resolve(options.dataDir);
  mkdirSync(path.dirname(dataDir), { recursive: true });
  assert(options.heldLock === undefined || options.heldLock.path === `${dataDir}.lock`, 'the lock held is the data folder\'s');
  const lock = options.heldLock ?? acquireFolderLock(dataDir);
  try {
    const pglite = await PGlite.create(dataDir);
    return wrap(pglite, createPgConfig, `PGlite at ${dataDir} (trial durability: no fsync)`, async () => {
      await pglite.close();
      lock.release();
    }, options.acquireTimeoutMs);
  } catch (error) {
    lock.release();
    throw error;
  }
}

type PGliteInstance = Awaited<ReturnType<typeof import('@electric-sql/pglite').PGlite.create>>;
type CreatePgConfig = typeof import('@electric-sql/pglite/node-postgres').createPgConfig;

function wrap(pglite: PGliteInstance, createPgConfig: CreatePgConfig, description: string, onClose: () => Promise<void>, acquireTimeoutMs = DEFAULT_DATABASE_TIMEOUTS.acquireTimeoutMs): Database {
  // PGlite is one session: a pool of one connection, so transactions never interleave. Waiting for it
  // is bounded, so code that waits on its own connection fails with a 503 instead of freezing Koban.
  const pool = new pg.Pool({ ...createPgConfig(pglite), max: 1, connectionTimeoutMillis: acquireTimeoutMs } as pg.PoolConfig);
  guardPoolClients(pool);
  return wrapPool({ kind: 'pglite', pool, description, onClose });
}
