/**
 * What a measurement window cost, read from outside the processes: CPU time from /proc (Koban's process,
 * the PostgreSQL postmaster with every backend, the load generator, and the whole box) and PostgreSQL's own
 * counters (top-level statements from pg_stat_statements, commits from pg_stat_database, WAL fsyncs from
 * pg_stat_wal). A snapshot is cheap and taken on the meter's own connection to another database, so its
 * queries are not counted as Koban's.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';

/** Clock ticks per second for /proc times (USER_HZ); 100 on every Linux this runs on. */
const TICKS_PER_SECOND = 100;

export interface Snapshot {
  readonly atMs: number;
  readonly kobanCpuMs: number;
  readonly postgresCpuMs: number;
  readonly loadCpuMs: number;
  /** Box-wide busy and total CPU time (all cores), from /proc/stat. */
  readonly boxBusyMs: number;
  readonly boxTotalMs: number;
  readonly statements: number;
  readonly commits: number;
  readonly walSyncs: number;
  readonly walBytes: number;
}

export interface Cost {
  readonly seconds: number;
  readonly kobanCpuMs: number;
  readonly postgresCpuMs: number;
  readonly loadCpuMs: number;
  /** Share of the box's CPU in use during the window, and the part of it used by anything else. */
  readonly boxBusyShare: number;
  readonly othersShare: number;
  readonly statements: number;
  readonly commits: number;
  readonly walSyncs: number;
  readonly walBytes: number;
}

/** utime + stime (+ waited-for children's, for the postmaster: backends that exited mid-window land there). */
function processCpuMs(pid: number, withChildren: boolean): number {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return 0;
  }
  // The command name may hold spaces and parentheses; fields start after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]) + (withChildren ? Number(fields[13]) + Number(fields[14]) : 0);
  return (ticks * 1000) / TICKS_PER_SECOND;
}

function parentOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return -1;
  }
}

/** The postmaster and every live child (backends, walwriter, checkpointer, autovacuum, …); also used for Koban's primary and its workers. */
export function postgresCpuMs(postmasterPid: number): number {
  let total = processCpuMs(postmasterPid, true);
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid !== postmasterPid && parentOf(pid) === postmasterPid) total += processCpuMs(pid, false);
  }
  return total;
}

function boxCpu(): { busyMs: number; totalMs: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  const [, ...values] = line.trim().split(/\s+/);
  const ticks = values.slice(0, 8).map(Number);
  const idle = (ticks[3] ?? 0) + (ticks[4] ?? 0);
  const total = ticks.reduce((a, b) => a + b, 0);
  return { busyMs: ((total - idle) * 1000) / TICKS_PER_SECOND, totalMs: (total * 1000) / TICKS_PER_SECOND };
}

export function postmasterPid(dataDir: string): number {
  return Number(readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
}

export interface Meter {
  snapshot(): Promise<Snapshot>;
  readonly statementsCounted: boolean;
  close(): Promise<void>;
}

export interface MeterTargets {
  readonly adminUrl: string;
  readonly database: string;
  /** null when the server is not ours to read (KOBAN_BENCH_PG_URL): PostgreSQL CPU then reads NaN. */
  readonly postmasterPid: number | null;
  kobanPid: number | null;
  loadPid: number | null;
}

export async function openMeter(targets: MeterTargets): Promise<Meter> {
  const client = new pg.Client({ connectionString: targets.adminUrl });
  await client.connect();
  // Statements are counted when pg_stat_statements is preloaded and installed in the meter's database; else NaN.
  const extension = await client.query(`select 1 from pg_extension where extname = 'pg_stat_statements'`);
  const statementsCounted = extension.rowCount === 1;
  return {
    statementsCounted,
    async snapshot() {
      // Koban's process and its live children: with --nodes N (KOBAN_WORKERS) the workers are the primary's children.
      const cpu = { koban: targets.kobanPid === null ? 0 : postgresCpuMs(targets.kobanPid), load: targets.loadPid === null ? 0 : processCpuMs(targets.loadPid, true), postgres: targets.postmasterPid === null ? Number.NaN : postgresCpuMs(targets.postmasterPid), box: boxCpu() };
      const counters = await client.query<{ statements: string | null; commits: string; wal_sync: string; wal_bytes: string }>(
        `select ${statementsCounted ? `(select sum(calls) from pg_stat_statements s join pg_database d on d.oid = s.dbid where d.datname = $1 and s.toplevel)` : 'null'} as statements,
                (select xact_commit from pg_stat_database where datname = $1) as commits,
                w.wal_sync, w.wal_bytes from pg_stat_wal w`, [targets.database]);
      const row = counters.rows[0];
      return {
        atMs: performance.now(), kobanCpuMs: cpu.koban, postgresCpuMs: cpu.postgres, loadCpuMs: cpu.load,
        boxBusyMs: cpu.box.busyMs, boxTotalMs: cpu.box.totalMs,
        statements: row?.statements === null || row === undefined ? Number.NaN : Number(row.statements),
        commits: Number(row?.commits ?? Number.NaN), walSyncs: Number(row?.wal_sync ?? Number.NaN), walBytes: Number(row?.wal_bytes ?? Number.NaN),
      };
    },
    async close() {
      await client.end();
    },
  };
}

export function costBetween(before: Snapshot, after: Snapshot): Cost {
  const boxTotal = after.boxTotalMs - before.boxTotalMs;
  const boxBusy = after.boxBusyMs - before.boxBusyMs;
  const ours = (after.kobanCpuMs - before.kobanCpuMs) + (after.postgresCpuMs - before.postgresCpuMs) + (after.loadCpuMs - before.loadCpuMs);
  return {
    seconds: (after.atMs - before.atMs) / 1000,
    kobanCpuMs: after.kobanCpuMs - before.kobanCpuMs,
    postgresCpuMs: after.postgresCpuMs - before.postgresCpuMs,
    loadCpuMs: after.loadCpuMs - before.loadCpuMs,
    boxBusyShare: boxTotal > 0 ? boxBusy / boxTotal : Number.NaN,
    othersShare: boxTotal > 0 ? Math.max(0, boxBusy - ours) / boxTotal : Number.NaN,
    statements: after.statements - before.statements,
    commits: after.commits - before.commits,
    walSyncs: after.walSyncs - before.walSyncs,
    walBytes: after.walBytes - before.walBytes,
  };
}

/** CPU ms of every process on the box by pid, with its command name: to say who else used the box. */
export function processTable(): Map<number, { name: string; cpuMs: number }> {
  const table = new Map<number, { name: string; cpuMs: number }>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      table.set(Number(entry), { name, cpuMs: ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND });
    } catch {
      // The process ended while we looked.
    }
  }
  return table;
}

/** The heaviest other processes between two tables (excluding ours), by command line where readable. */
export function othersBetween(before: Map<number, { name: string; cpuMs: number }>, after: Map<number, { name: string; cpuMs: number }>, ours: (pid: number) => boolean, top = 5): string {
  const used: Array<{ label: string; cpuMs: number }> = [];
  for (const [pid, now] of after) {
    if (ours(pid)) continue;
    const cpuMs = now.cpuMs - (before.get(pid)?.cpuMs ?? 0);
    if (cpuMs < 1000) continue;
    used.push({ label: commandOf(pid, now.name), cpuMs });
  }
  used.sort((a, b) => b.cpuMs - a.cpuMs);
  const total = used.reduce((sum, u) => sum + u.cpuMs, 0);
  return `${(total / 1000).toFixed(0)} CPU-seconds by other processes (still running at the end), heaviest: ${used.slice(0, top).map((u) => `${u.label} ${(u.cpuMs / 1000).toFixed(0)} s`).join(', ') || 'none'}`;
}

function commandOf(pid: number, fallback: string): string {
  try {
    const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter((a) => a !== '');
    // The program's name, then its script's last path components (which worktree's benchmark, which test runner).
    const interesting = [path.basename(args[0] ?? ''), ...args.slice(1, 3).map((a) => a.split('/').slice(-4).join('/'))].join(' ');
    return interesting === '' ? fallback : interesting.slice(0, 60);
  } catch {
    return fallback;
  }
}
