import type { Config } from '../config.ts';
import type { Database } from './database.ts';
import type { FolderLock } from './folder-lock.ts';
import { openPglite } from './pglite.ts';
import { openPostgres } from './postgres.ts';

/** DATABASE_URL selects a PostgreSQL server; otherwise the embedded PGlite folder. */
export async function openDatabase(config: Config, heldLock?: FolderLock): Promise<Database> {
  if (config.databaseUrl !== null) return openPostgres(config.databaseUrl, config.databasePoolSize);
  return openPglite({ dataDir: config.dataDir, nodeEnv: config.nodeEnv, ...(heldLock === undefined ? {} : { heldLock }) });
}
