/**
 * The local admin channel of an embedded Koban. PGlite allows one process on a data folder, so a command
 * (`koban till activation-code`) cannot open the folder while `npm start` runs on it; instead it asks the
 * running Koban over its HTTP API. The running Koban makes a fresh random token at each start and writes it,
 * with its pid and its loopback URL, to `<data folder>.admin.json` (mode 0600: only the user who started
 * Koban can read it, the same user who could open the folder itself). It removes the file when it stops; a
 * file left by a crash names a dead pid and is ignored.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { folderHolder } from './db/folder-lock.ts';

export interface LocalAdminAddress {
  readonly pid: number;
  readonly url: string;
  readonly token: string;
}

export function localAdminFile(dataDir: string): string {
  return `${dataDir}.admin.json`;
}

export function newLocalAdminToken(): string {
  return randomBytes(32).toString('base64url');
}

/** Writes the address for this process; answers the function that removes it again. */
export function publishLocalAdmin(dataDir: string, url: string, token: string): () => void {
  const file = localAdminFile(dataDir);
  const mine: LocalAdminAddress = { pid: process.pid, url, token };
  writeFileSync(file, JSON.stringify(mine), { mode: 0o600 });
  chmodSync(file, 0o600); // an older file kept its mode: make sure
  const remove = (): void => {
    process.off('exit', remove);
    if (readLocalAdmin(dataDir)?.pid === process.pid) unlinkSync(file);
  };
  process.on('exit', remove);
  return remove;
}

export function readLocalAdmin(dataDir: string): LocalAdminAddress | null {
  try {
    const parsed: unknown = JSON.parse(readFileSync(localAdminFile(dataDir), 'utf8'));
    if (typeof parsed !== 'object' || parsed === null) return null;
    const { pid, url, token } = parsed as Record<string, unknown>;
    if (typeof pid !== 'number' || typeof url !== 'string' || typeof token !== 'string') return null;
    return { pid, url, token };
  } catch {
    return null;
  }
}

/**
 * The local admin address of the Koban running on this embedded folder, or null when none runs there.
 * A Koban holding the folder without a matching address (an older version) cannot be asked: say so.
 */
export function runningKoban(dataDir: string): LocalAdminAddress | null {
  const holder = folderHolder(dataDir);
  if (holder === null) return null;
  const address = readLocalAdmin(dataDir);
  if (address === null || address.pid !== holder.pid) {
    throw new Error(`Koban (pid ${holder.pid}) is running on ${dataDir} but cannot be asked (no local admin address): stop it, then run this again`);
  }
  return address;
}
