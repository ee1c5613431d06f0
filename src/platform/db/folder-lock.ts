/**
 * A lock file beside a data folder: `<folder>.lock` holds the owner's pid and host. Created with
 * O_EXCL, so two processes cannot both take it; a lock whose owner process is gone is stale and
 * taken over (a crash must not leave the folder locked forever).
 */
import { readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';

export class FolderLocked extends Error {
  override readonly name = 'FolderLocked';
  /** The process holding the folder, when it could be read. */
  readonly owner: LockOwner | null;
  constructor(message: string, owner: LockOwner | null = null) {
    super(message);
    this.owner = owner;
  }
}

export interface FolderLock {
  readonly path: string;
  release(): void;
}

export interface LockOwner {
  pid: number;
  hostname: string;
  startedAt: string;
}

export function acquireFolderLock(folder: string): FolderLock {
  const lockPath = `${folder}.lock`;
  const me: LockOwner = { pid: process.pid, hostname: os.hostname(), startedAt: new Date().toISOString() };
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(lockPath, JSON.stringify(me), { flag: 'wx', mode: 0o600 });
      return makeLock(lockPath, me);
    } catch (error) {
      if (!isAlreadyExists(error)) throw error;
      const owner = readOwner(lockPath);
      if (owner !== null && isAlive(owner)) {
        throw new FolderLocked(
          `The data folder ${folder} is in use by process ${owner.pid} on ${owner.hostname} (since ${owner.startedAt}). ` +
            'Stop that Koban first, or set KOBAN_DATA_DIR to another folder.',
          owner,
        );
      }
      unlinkSync(lockPath); // stale: its owner is gone
    }
  }
  throw new FolderLocked(`Could not take the lock ${lockPath}: another process keeps re-creating it.`);
}

function makeLock(lockPath: string, me: LockOwner): FolderLock {
  let held = true;
  const release = (): void => {
    if (!held) return;
    held = false;
    process.off('exit', release);
    const owner = readOwner(lockPath);
    if (owner?.pid === me.pid && owner.hostname === me.hostname) unlinkSync(lockPath);
  };
  process.on('exit', release);
  return { path: lockPath, release };
}

function readOwner(lockPath: string): LockOwner | null {
  try {
    const parsed: unknown = JSON.parse(readFileSync(lockPath, 'utf8'));
    if (typeof parsed === 'object' && parsed !== null && 'pid' in parsed && typeof parsed.pid === 'number') {
      return parsed as LockOwner;
    }
    return null;
  } catch {
    return null;
  }
}

function isAlive(owner: LockOwner): boolean {
  // A lock from another host cannot be checked from here: treat it as held.
  if (owner.hostname !== os.hostname()) return true;
  try {
    process.kill(owner.pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function isAlreadyExists(error: unknown): boolean {
  return (error as NodeJS.ErrnoException).code === 'EEXIST';
}

/** The live process holding the folder's lock, or null (no lock, or its owner is gone). Takes nothing. */
export function folderHolder(folder: string): LockOwner | null {
  const owner = readOwner(`${folder}.lock`);
  return owner !== null && isAlive(owner) ? owner : null;
}
