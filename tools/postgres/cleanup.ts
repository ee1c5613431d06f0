/**
 * Tearing a throwaway PostgreSQL down after its owner is gone. Shared by the watchdog (owner died while we
 * watched) and by the stale sweep at start (owner and watchdog both died, e.g. the machine was reset).
 */
import { appendFileSync, readdirSync, readFileSync } from 'node:fs';
import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { runPg } from './run-as.ts';

/** Throwaway data dirs are `koban-pg-<label>-<ownerPid>-<random>` directly under os.tmpdir(). */
export const DATA_DIR_PREFIX = 'koban-pg-';
const DATA_DIR_NAME = /^koban-pg-[a-z0-9_]+-(\d+)-[A-Za-z0-9]+$/;
/** Who to clean up after; written into the data dir once initdb has filled it (initdb wants an empty dir). */
export const OWNER_FILE = 'koban-owner.json';
/** Process groups to SIGKILL when the owner dies, one per line (the test runner registers vitest's group). */
export const PGIDS_FILE = 'koban-pgids';

const STOP_WAIT_S = 30;
const STOP_TIMEOUT_MS = (STOP_WAIT_S + 10) * 1000;
const RM_RETRIES = 5;
/** Bounds the stale sweep so a /tmp full of junk cannot stall every test run. */
const MAX_STALE_DIRS_PER_SWEEP = 50;

export type ServerRecord = { ownerPid: number; dataDir: string; binDir: string; runAsUser: string | null };

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function writeOwnerFile(record: ServerRecord): Promise<void> {
  await writeFile(path.join(record.dataDir, OWNER_FILE), JSON.stringify(record));
}

async function readOwnerFile(dataDir: string): Promise<ServerRecord | undefined> {
  try {
    return JSON.parse(await readFile(path.join(dataDir, OWNER_FILE), 'utf8')) as ServerRecord;
  } catch {
    return undefined;
  }
}

/** Sync so a caller can register a group right after spawning it, before any await gives a kill a window. */
export function registerProcessGroup(dataDir: string, pgid: number): void {
  if (!Number.isInteger(pgid) || pgid <= 1) throw new Error(`not a process group id: ${pgid}`);
  appendFileSync(path.join(dataDir, PGIDS_FILE), `${pgid}\n`);
}

/** SIGKILL every registered process group; sync so the watchdog does it before anything else. */
export function killRegisteredGroups(dataDir: string): void {
  let lines: string[];
  try {
    lines = readFileSync(path.join(dataDir, PGIDS_FILE), 'utf8').split('\n');
  } catch {
    return;
  }
  for (const pgid of lines.map(Number).filter((n) => Number.isInteger(n) && n > 1)) {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
}

/** Stops the postmaster if one runs in dataDir; falls back to signalling it when pg_ctl cannot. */
export async function stopPostmaster(record: ServerRecord, mode: 'fast' | 'immediate'): Promise<void> {
  const pid = await postmasterPid(record.dataDir);
  if (pid === undefined || !(await isPostmasterOf(pid, record.dataDir))) return;
  const pgCtl = path.join(record.binDir, 'pg_ctl');
  const args = ['stop', '-D', record.dataDir, '-m', mode, '-w', '-t', String(STOP_WAIT_S)];
  const result = await runPg(record.runAsUser, pgCtl, args, STOP_TIMEOUT_MS);
  // SIGQUIT is what `-m immediate` sends: the postmaster then kills its children itself.
  if (!result.ok && (await isPostmasterOf(pid, record.dataDir))) process.kill(pid, 'SIGQUIT');
}

async function postmasterPid(dataDir: string): Promise<number | undefined> {
  try {
    const firstLine = (await readFile(path.join(dataDir, 'postmaster.pid'), 'utf8')).split('\n')[0];
    const pid = Number(firstLine);
    return Number.isInteger(pid) && pid > 1 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A postmaster.pid left by a dead server may name a pid that now belongs to another process, even another
 * engineer's postmaster; pg_ctl would signal it blindly. pg_ctl starts postgres with `-D <dataDir>`, so the
 * command line tells ours apart.
 */
async function isPostmasterOf(pid: number, dataDir: string): Promise<boolean> {
  if (!isAlive(pid)) return false;
  try {
    const argv = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0');
    return argv.includes(dataDir);
  } catch {
    // No /proc (not Linux): trust postmaster.pid, as pg_ctl does.
    return true;
  }
}

export async function removeDataDir(dataDir: string): Promise<void> {
  await rm(dataDir, { recursive: true, force: true, maxRetries: RM_RETRIES });
}

/** Everything the owner would have done in stop(), harder: the tests are killed, not asked. */
export async function cleanUpAfterOwner(record: ServerRecord): Promise<void> {
  // Groups first so the tests stop talking to the server before it goes away under them.
  killRegisteredGroups(record.dataDir);
  await stopPostmaster(record, 'immediate');
  await removeDataDir(record.dataDir);
}

/** Removes throwaway dirs in tmpRoot whose owner is dead, stopping their postmaster first. */
export async function sweepStaleDataDirs(tmpRoot: string, fallbackBinDir: string, fallbackUser: string | null): Promise<void> {
  const stale = readdirSync(tmpRoot).filter((name) => isStaleName(name)).slice(0, MAX_STALE_DIRS_PER_SWEEP);
  for (const name of stale) {
    const dataDir = path.join(tmpRoot, name);
    if (!(await isDirectory(dataDir))) continue;
    // No owner file: it died before initdb finished, so no postmaster can be running there.
    const record = (await readOwnerFile(dataDir)) ?? { ownerPid: 0, dataDir, binDir: fallbackBinDir, runAsUser: fallbackUser };
    // Registered process groups are not killed here: long after their run, those ids may have been reused.
    await stopPostmaster({ ...record, dataDir }, 'immediate');
    await removeDataDir(dataDir);
  }
}

function isStaleName(name: string): boolean {
  const ownerPid = Number(DATA_DIR_NAME.exec(name)?.[1] ?? 0);
  return ownerPid > 1 && !isAlive(ownerPid);
}

async function isDirectory(dir: string): Promise<boolean> {
  try {
    return (await stat(dir)).isDirectory();
  } catch {
    return false;
  }
}
