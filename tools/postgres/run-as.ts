/**
 * PostgreSQL refuses to run as root, and the sessions and CI run as root. So as root every PostgreSQL program
 * runs through `runuser` as an unprivileged OS user; as anyone else the programs run directly.
 */
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export type RunAs = { user: string; uid: number; gid: number };

const PREFERRED_USER = 'postgres';
const FALLBACK_USER = 'koban-pg';
const ID_TIMEOUT_MS = 10_000;
/** Output beyond this is PostgreSQL being unusually chatty; cap it instead of buffering without limit. */
const MAX_OUTPUT_BYTES = 4 * 1024 * 1024;

/** The unprivileged user to run PostgreSQL as, or null when this process is not root. */
export function resolveRunAs(): RunAs | null {
  if (process.getuid?.() !== 0) return null;
  const existing = lookupUser(PREFERRED_USER) ?? lookupUser(FALLBACK_USER);
  if (existing !== undefined) return existing;
  createSystemUser(FALLBACK_USER);
  const created = lookupUser(FALLBACK_USER);
  if (created === undefined) throw new Error(`could not create the OS user ${FALLBACK_USER} to run PostgreSQL`);
  return created;
}

function lookupUser(user: string): RunAs | undefined {
  try {
    const uid = Number(execFileSync('id', ['-u', user], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: ID_TIMEOUT_MS }));
    const gid = Number(execFileSync('id', ['-g', user], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: ID_TIMEOUT_MS }));
    return Number.isInteger(uid) && Number.isInteger(gid) ? { user, uid, gid } : undefined;
  } catch {
    return undefined;
  }
}

function createSystemUser(user: string): void {
  try {
    execFileSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', user],
      { stdio: ['ignore', 'ignore', 'pipe'], timeout: ID_TIMEOUT_MS });
  } catch (error) {
    // A concurrent run may have created it first; the lookup after this call decides.
    if (lookupUser(user) === undefined) throw error;
  }
}

/** The command line that runs `program` as `user` (or directly when null). */
export function commandFor(user: string | null, program: string, args: string[]): [string, string[]] {
  return user === null ? [program, args] : ['runuser', ['-u', user, '--', program, ...args]];
}

export type CommandResult = { ok: boolean; output: string };

/** Runs a PostgreSQL program to completion; never throws, so cleanup paths can go on after a failure. */
export async function runPg(user: string | null, program: string, args: string[], timeoutMs: number): Promise<CommandResult> {
  const [file, fullArgs] = commandFor(user, program, args);
  // cwd '/' because the unprivileged user may not be allowed into the caller's working directory.
  const options = { cwd: '/', timeout: timeoutMs, maxBuffer: MAX_OUTPUT_BYTES, encoding: 'utf8' as const };
  try {
    const { stdout, stderr } = await execFileAsync(file, fullArgs, options);
    return { ok: true, output: stdout + stderr };
  } catch (error) {
    const failure = error as { stdout?: string; stderr?: string; message?: string };
    return { ok: false, output: `${failure.stdout ?? ''}${failure.stderr ?? ''}${failure.message ?? ''}` };
  }
}
