/**
 * A real, throwaway PostgreSQL for tests and benchmarks: its own cluster in a fresh temp dir, on a free port,
 * gone again after stop() or, through a detached watchdog, after its owner dies (even by SIGKILL).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chown, mkdtemp, readFile, appendFile } from 'node:fs/promises';
import { once } from 'node:events';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { findPgBinaries, type PgBinaries } from './binaries.ts';
import { registerProcessGroup, removeDataDir, stopPostmaster, sweepStaleDataDirs, writeOwnerFile, type ServerRecord } from './cleanup.ts';
import { resolveRunAs, runPg } from './run-as.ts';

export type ThrowawayPostgres = {
  /** Superuser URL; trust auth, so no password. */
  adminUrl: string;
  host: string;
  port: number;
  dataDir: string;
  binaries: PgBinaries;
  /** SIGKILL this process group too if the owner dies (e.g. vitest's, so no test outlives its database). */
  registerProcessGroup(pgid: number): void;
  /** Stops the server and removes its data dir; safe to call more than once. */
  stop(): Promise<void>;
};

/** `port`: listen there instead of on a free port the OS picks (a harness confined to a port range). */
export type ThrowawayOptions = { label: string; settings?: Record<string, string>; ownerPid?: number; port?: number };

const HOST = '127.0.0.1';
const SUPERUSER = 'koban';
const WATCHDOG_PATH = path.join(path.dirname(fileURLToPath(import.meta.url)), 'watchdog.ts');
const INITDB_TIMEOUT_MS = 120_000;
const START_WAIT_S = 60;
const START_TIMEOUT_MS = (START_WAIT_S + 10) * 1000;
/** A free port can be taken by someone else between probing and binding it; retry that race a few times. */
const MAX_START_ATTEMPTS = 3;
const WATCHDOG_EXIT_WAIT_MS = 2_000;
const LOG_TAIL_CHARS = 4_000;

/** Defaults chosen for what we test: durable commits (fsync, synchronous_commit) and many pool connections. */
const BASE_SETTINGS: Record<string, string> = {
  listen_addresses: HOST,
  fsync: 'on',
  synchronous_commit: 'on',
  max_connections: '400',
  shared_buffers: '256MB',
};

export async function startThrowawayPostgres(options: ThrowawayOptions): Promise<ThrowawayPostgres> {
  if (!/^[a-z0-9_]{1,32}$/.test(options.label)) throw new Error(`label must match [a-z0-9_]{1,32}: ${options.label}`);
  const binaries = findPgBinaries();
  const runAs = resolveRunAs();
  const ownerPid = options.ownerPid ?? process.pid;
  await sweepStaleDataDirs(os.tmpdir(), binaries.binDir, runAs?.user ?? null);

  // The owner pid is in the name so the stale sweep can tell whose dir it is even before initdb has run.
  const dataDir = await mkdtemp(path.join(os.tmpdir(), `koban-pg-${options.label}-${ownerPid}-`));
  if (runAs !== null) await chown(dataDir, runAs.uid, runAs.gid);
  const record: ServerRecord = { ownerPid, dataDir, binDir: binaries.binDir, runAsUser: runAs?.user ?? null };
  // Before initdb, so a kill at any later point is covered.
  const watchdog = spawnWatchdog(record);
  const stop = memoize(() => stopServer(record, watchdog));
  try {
    await initCluster(record, { ...BASE_SETTINGS, unix_socket_directories: dataDir, ...options.settings });
    const port = await startServer(record, options.port);
    return {
      adminUrl: `postgres://${SUPERUSER}@${HOST}:${port}/postgres`,
      host: HOST,
      port,
      dataDir,
      binaries,
      registerProcessGroup: (pgid) => registerProcessGroup(dataDir, pgid),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

function spawnWatchdog(record: ServerRecord): ChildProcess {
  // process.execPath: the same Node 24 that runs us, whatever `node` is first on PATH.
  const child = spawn(process.execPath, [WATCHDOG_PATH, JSON.stringify(record)], { detached: true, stdio: 'ignore' });
  child.on('error', () => {
    // Reported by the missing cleanup only; the server itself still works and stop() still cleans up.
  });
  child.unref();
  return child;
}

/**
 * Trust auth is safe here: the server listens only on 127.0.0.1 and on a unix socket inside its own data dir,
 * and holds nothing but test data. --no-sync only skips flushing initdb's files: a crash throws the cluster
 * away anyway, while the running server keeps fsync and synchronous_commit on.
 */
async function initCluster(record: ServerRecord, settings: Record<string, string>): Promise<void> {
  const initdb = path.join(record.binDir, 'initdb');
  const args = ['-D', record.dataDir, '-U', SUPERUSER, '--auth=trust', '-E', 'UTF8', '--locale=C', '--no-sync', '--no-instructions'];
  const result = await runPg(record.runAsUser, initdb, args, INITDB_TIMEOUT_MS);
  if (!result.ok) throw new Error(`initdb failed in ${record.dataDir}:\n${result.output}`);
  await writeOwnerFile(record);
  // Later lines win in postgresql.conf, so appending overrides initdb's defaults without parsing them.
  await appendFile(path.join(record.dataDir, 'postgresql.conf'), `\n# tools/postgres/throwaway.ts\n${configLines(settings)}`);
}

/** Config-file syntax: quoting here instead of a shell command line keeps any value safe. */
export function configLines(settings: Record<string, string>): string {
  return Object.entries(settings).map(([name, value]) => {
    if (!/^[A-Za-z_][A-Za-z0-9_.]*$/.test(name)) throw new Error(`bad PostgreSQL setting name: ${name}`);
    if (/[\r\n\0]/.test(value)) throw new Error(`PostgreSQL setting ${name} must be one line`);
    return `${name} = '${value.replaceAll('\\', '\\\\').replaceAll("'", "''")}'\n`;
  }).join('');
}

/** Starts the postmaster on a free port; pg_ctl -w returns once it accepts connections. */
async function startServer(record: ServerRecord, fixedPort?: number): Promise<number> {
  const logFile = path.join(record.dataDir, 'server.log');
  const pgCtl = path.join(record.binDir, 'pg_ctl');
  for (let attempt = 1; ; attempt += 1) {
    const port = fixedPort ?? await freePort();
    // The port is the only thing on pg_ctl's -o (which goes through a shell), and it is a number.
    const args = ['start', '-D', record.dataDir, '-w', '-t', String(START_WAIT_S), '-l', logFile, '-o', `-p ${port}`];
    const result = await runPg(record.runAsUser, pgCtl, args, START_TIMEOUT_MS);
    if (result.ok) return port;
    const log = await readLogTail(logFile);
    const portTaken = /could not bind|already in use/i.test(log);
    if (!portTaken || fixedPort !== undefined || attempt >= MAX_START_ATTEMPTS) {
      throw new Error(`PostgreSQL did not start (${record.dataDir}):\n${result.output}\n--- server.log ---\n${log}`);
    }
  }
}

async function readLogTail(logFile: string): Promise<string> {
  try {
    return (await readFile(logFile, 'utf8')).slice(-LOG_TAIL_CHARS);
  } catch {
    return '(no server.log)';
  }
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  server.listen(0, HOST);
  await once(server, 'listening');
  const address = server.address();
  server.close();
  await once(server, 'close');
  if (address === null || typeof address === 'string') throw new Error('could not find a free TCP port');
  return address.port;
}

async function stopServer(record: ServerRecord, watchdog: ChildProcess): Promise<void> {
  await stopPostmaster(record, 'fast');
  await removeDataDir(record.dataDir);
  // Only after the dir is gone: killed earlier, a crash of ours in between would leave the server running.
  await stopWatchdog(watchdog);
}

async function stopWatchdog(watchdog: ChildProcess): Promise<void> {
  if (watchdog.exitCode !== null || watchdog.signalCode !== null) return;
  const exited = once(watchdog, 'exit');
  watchdog.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise((resolve) => { timer = setTimeout(resolve, WATCHDOG_EXIT_WAIT_MS); });
  await Promise.race([exited, timeout]);
  clearTimeout(timer);
}

function memoize(run: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | undefined;
  return () => {
    running ??= run();
    return running;
  };
}
