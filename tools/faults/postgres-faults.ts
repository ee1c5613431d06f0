/**
 * Faults of the PostgreSQL server itself: an immediate restart (`pg_ctl restart -m immediate`: every backend
 * killed, crash recovery from the WAL on the way up) and a pause (SIGSTOP of the postmaster and every backend,
 * SIGCONT later: a server that stops answering without closing a single connection).
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { runPg } from '../postgres/run-as.ts';
import type { ThrowawayPostgres } from '../postgres/throwaway.ts';
import { resolveRunAs } from '../postgres/run-as.ts';

const RESTART_WAIT_S = 60;

export async function restartImmediate(server: ThrowawayPostgres): Promise<void> {
  const pgCtl = path.join(server.binaries.binDir, 'pg_ctl');
  // restart reuses postmaster.opts, so the server comes back on the same port.
  const result = await runPg(resolveRunAs()?.user ?? null, pgCtl, ['restart', '-D', server.dataDir, '-m', 'immediate', '-w', '-t', String(RESTART_WAIT_S), '-l', path.join(server.dataDir, 'server.log')], (RESTART_WAIT_S + 10) * 1000);
  if (!result.ok) throw new Error(`pg_ctl restart -m immediate failed:\n${result.output}`);
}

/** The postmaster and its children (backends, checkpointer, WAL writer, …), postmaster first. */
export function serverProcesses(dataDir: string): number[] {
  const postmaster = Number(readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  if (!Number.isInteger(postmaster) || postmaster <= 1) throw new Error(`no postmaster pid in ${dataDir}`);
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // Field 4 of /proc/<pid>/stat is the parent pid; the command name (field 2) may hold spaces, so split after ')'.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (parent === postmaster) children.push(Number(entry));
    } catch {
      // Gone between listing and reading.
    }
  }
  return [postmaster, ...children];
}

/** Stops the whole server in place; answers the pids to resume. */
export function pause(server: ThrowawayPostgres): number[] {
  const pids = serverProcesses(server.dataDir);
  for (const pid of pids) signal(pid, 'SIGSTOP');
  return pids;
}

export function resume(pids: readonly number[]): void {
  for (const pid of pids) signal(pid, 'SIGCONT');
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // A backend that exited between listing and signalling.
  }
}
