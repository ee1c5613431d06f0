/**
 * What `npm start` does before and around the banner, so a newcomer's first screen is the banner:
 * - the embedded folder's lock is taken before any port is bound, so a second `npm start` on the same
 *   folder says "Koban is already running (pid …)" instead of failing on a port the first one holds;
 * - routine start-up lines (Fastify's "Server listening" JSON, oidc-provider's notice that the dev IdP keeps
 *   its state in memory — true, and the point of a sandbox) go to `.koban/start.log`, not the console;
 *   warnings and errors still reach the console.
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { acquireFolderLock, FolderLocked, type FolderLock } from '../platform/db/folder-lock.ts';

type Env = Readonly<Record<string, string | undefined>>;

export class AlreadyRunning extends Error {
  override readonly name = 'AlreadyRunning';
}

/** Where the embedded database lives (as loadConfig reads it), or null when DATABASE_URL names a server. */
export function embeddedFolder(env: Env): string | null {
  if ((env.DATABASE_URL ?? '') !== '') return null;
  return path.resolve(env.KOBAN_DATA_DIR === undefined || env.KOBAN_DATA_DIR === '' ? '.koban/data' : env.KOBAN_DATA_DIR);
}

/** Takes the embedded folder's lock now; a live holder means Koban already runs there. */
export function holdEmbeddedFolder(env: Env): FolderLock | undefined {
  const folder = embeddedFolder(env);
  if (folder === null) return undefined;
  mkdirSync(path.dirname(folder), { recursive: true });
  try {
    return acquireFolderLock(folder);
  } catch (error) {
    if (!(error instanceof FolderLocked) || error.owner === null) throw error;
    const { pid, hostname, startedAt } = error.owner;
    throw new AlreadyRunning(
      `Koban is already running (pid ${pid} on ${hostname}, since ${startedAt}) on the data folder ${folder}.\n` +
        'Use that one, stop it first (Ctrl-C where it runs), or set KOBAN_DATA_DIR to another folder.',
    );
  }
}

export const START_LOG = path.resolve('.koban', 'start.log');

export function appendStartLog(line: string): void {
  mkdirSync(path.dirname(START_LOG), { recursive: true });
  appendFileSync(START_LOG, `${new Date().toISOString()} ${line}\n`);
}

/** Runs `work` with oidc-provider's start-up notices (console.warn "oidc-provider …") sent to the start log. */
export async function withProviderNoticesLogged<T>(work: () => Promise<T>): Promise<T> {
  const warn = console.warn;
  console.warn = (...args: unknown[]) => {
    const text = args.map(String).join(' ');
    if (text.includes('oidc-provider WARNING') || text.includes('oidc-provider NOTICE')) appendStartLog(text);
    else warn(...args);
  };
  try {
    return await work();
  } finally {
    console.warn = warn;
  }
}

interface Leveled { level: string }

const QUIET_LEVEL = 'warn';
const MORE_VERBOSE_THAN_WARN = new Set(['info', 'debug', 'trace']);

/** Lowers the loggers to warnings while Koban starts; answers the function that restores them. */
export function quietWhileStarting(loggers: readonly Leveled[]): () => void {
  const before = loggers.map((logger) => logger.level);
  for (const logger of loggers) if (MORE_VERBOSE_THAN_WARN.has(logger.level)) logger.level = QUIET_LEVEL;
  return () => loggers.forEach((logger, index) => { logger.level = before[index] ?? logger.level; });
}
