/**
 * The proven parts of a several-machine Koban, started from the configuration in deploy/ as real processes on
 * 127.0.0.1: etcd (Debian etcd-server), two PostgreSQL 15 nodes under Patroni (Debian patroni), HAProxy
 * (Debian haproxy). Each runs in its own process group so it can be SIGKILLed whole, and `stopAll` kills every
 * one of them on every exit path.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, copyFileSync, createWriteStream, existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { resolveRunAs } from '../postgres/run-as.ts';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const DEPLOY_DIR = path.join(REPO_ROOT, 'deploy');
const DEBIAN_PACKAGES = ['etcd-server', 'patroni', 'haproxy'] as const;
const PROGRAMS = ['etcd', 'patroni', 'haproxy'] as const;
const PG_BIN = '/usr/lib/postgresql/15/bin';

/** The ports fixed in deploy/ (the task's ranges 3900–3999 and 5500–5599). */
export const PORTS = {
  haproxyPostgres: 5500, haproxyHttp: 3900, haproxyOpa: 3901, etcd: 3910,
  pg: { pg1: 5501, pg2: 5502 }, patroni: { pg1: 3921, pg2: 3922 },
  kobanHttp: [3931, 3932, 3933], kobanOpa: [3941, 3942, 3943],
  acquirer: 3951, bank: 3952,
} as const;
export type PgNode = 'pg1' | 'pg2';
export const PG_NODES: readonly PgNode[] = ['pg1', 'pg2'];

function onPath(program: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${program}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Installs the Debian packages when root and missing; otherwise names what to install and stops. */
export function ensurePackages(log: (line: string) => void): void {
  const missing = PROGRAMS.filter((program) => !onPath(program));
  if (missing.length === 0 && existsSync(path.join(PG_BIN, 'postgres'))) return;
  if (process.getuid?.() !== 0) {
    throw new Error(`test:ha needs ${missing.join(', ') || 'PostgreSQL 15'} (Debian packages ${DEBIAN_PACKAGES.join(' ')} postgresql-15). ` +
      `Run it as root to install them, or: sudo apt-get install -y ${DEBIAN_PACKAGES.join(' ')} postgresql-15`);
  }
  log(`installing ${DEBIAN_PACKAGES.join(', ')} (apt-get)`);
  execFileSync('apt-get', ['update'], { stdio: 'inherit' });
  execFileSync('apt-get', ['install', '-y', ...DEBIAN_PACKAGES, 'postgresql-15'], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
}

/** Reads deploy/etcd.env (KEY=value lines, # comments). */
function readEnvFile(file: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const match = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (match?.[1] !== undefined && match[2] !== undefined) env[match[1]] = match[2];
  }
  return env;
}

export interface Cluster {
  readonly runDir: string;
  /** SIGKILL of a Patroni node and its PostgreSQL (a machine lost); resolves once both are gone. */
  killPgNode(node: PgNode): void;
  /** The node whose Patroni REST API answers 200 on /primary, if any. */
  primary(): Promise<PgNode | null>;
  /** Waits until one node is the primary and, if `withSyncStandby`, the other is its synchronous standby. */
  waitHealthy(boundMs: number, withSyncStandby: boolean): Promise<PgNode | null>;
  registerGroup(pgid: number): void;
  stopAll(): Promise<void>;
}

/** `runDir`: data (removed afterwards); `logDir`: the etcd, Patroni and HAProxy logs (kept). */
export function startCluster(runDir: string, logDir: string): Cluster {
  const runAs = resolveRunAs();
  const groups = new Set<number>();
  const pgDataDirs: Record<PgNode, string> = { pg1: path.join(runDir, 'pg1'), pg2: path.join(runDir, 'pg2') };
  const patroniChildren = new Map<PgNode, ChildProcess>();
  const own = (dir: string): void => {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (runAs !== null) chownSync(dir, runAs.uid, runAs.gid);
  };
  const spawnLogged = (name: string, command: string, args: string[], env: NodeJS.ProcessEnv): ChildProcess => {
    const output = createWriteStream(path.join(logDir, `${name}.log`), { flags: 'a' });
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true, cwd: runDir });
    child.stdout?.pipe(output);
    child.stderr?.pipe(output);
    if (child.pid !== undefined) groups.add(child.pid);
    return child;
  };

  // The run directory is read by the unprivileged user PostgreSQL runs as; the configs are copied in verbatim.
  own(runDir);
  const etcdEnv = { ...readEnvFile(path.join(DEPLOY_DIR, 'etcd.env')), ETCD_DATA_DIR: path.join(runDir, 'etcd') };
  spawnLogged('etcd', 'etcd', [], { PATH: process.env.PATH ?? '', ...etcdEnv });
  const startPatroni = (node: PgNode): void => {
    const config = path.join(runDir, `patroni-${node}.yml`);
    copyFileSync(path.join(DEPLOY_DIR, `patroni-${node}.yml`), config);
    if (runAs !== null) chownSync(config, runAs.uid, runAs.gid);
    mkdirSync(path.dirname(pgDataDirs[node]), { recursive: true });
    const env = { PATH: process.env.PATH ?? '', LANG: 'C.UTF-8', PATRONI_POSTGRESQL_DATA_DIR: pgDataDirs[node], PATRONI_POSTGRESQL_PGPASS: path.join(runDir, `pgpass-${node}`) };
    const [command, args] = runAs === null ? ['patroni', [config]] : ['runuser', ['-u', runAs.user, '--', 'patroni', config]];
    patroniChildren.set(node, spawnLogged(`patroni-${node}`, command, args as string[], env));
  };
  startPatroni('pg1');
  startPatroni('pg2');
  spawnLogged('haproxy', 'haproxy', ['-db', '-f', path.join(DEPLOY_DIR, 'haproxy.cfg')], { PATH: process.env.PATH ?? '' });

  const primary = async (): Promise<PgNode | null> => {
    for (const node of PG_NODES) if (await patroniSays(node, '/primary')) return node;
    return null;
  };
  return {
    runDir,
    killPgNode(node) {
      const patroni = patroniChildren.get(node);
      if (patroni?.pid !== undefined) kill(-patroni.pid);
      // Patroni starts the postmaster in its own session (setsid): its group holds every backend.
      for (const pid of postmasterGroup(pgDataDirs[node])) kill(-pid);
    },
    primary,
    async waitHealthy(boundMs, withSyncStandby) {
      const deadline = Date.now() + boundMs;
      while (Date.now() < deadline) {
        const leader = await primary();
        const other = PG_NODES.find((n) => n !== leader);
        if (leader !== null && (!withSyncStandby || (other !== undefined && (await patroniSays(other, '/sync'))))) return leader;
        await sleep(500);
      }
      return null;
    },
    registerGroup(pgid) {
      groups.add(pgid);
    },
    async stopAll() {
      for (const node of PG_NODES) for (const pid of postmasterGroup(pgDataDirs[node])) kill(-pid);
      for (const pgid of groups) kill(-pgid);
      await sleep(300);
    },
  };
}

async function patroniSays(node: PgNode, route: string): Promise<boolean> {
  try {
    const response = await fetch(`http://127.0.0.1:${PORTS.patroni[node]}${route}`, { signal: AbortSignal.timeout(1_500) });
    await response.arrayBuffer();
    return response.status === 200;
  } catch {
    return false;
  }
}

/** The postmaster's pid (its process group), when its data dir has a postmaster.pid whose process lives. */
function postmasterGroup(dataDir: string): number[] {
  try {
    const pid = Number(readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    return Number.isInteger(pid) && pid > 1 && readdirSync('/proc').includes(String(pid)) ? [pid] : [];
  } catch {
    return [];
  }
}

function kill(pidOrGroup: number): void {
  try {
    process.kill(pidOrGroup, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
