/**
 * Koban as a real child process (`node src/main.ts`, exactly what `npm start` runs) on the test
 * PostgreSQL, for the tests that need a process that can crash, wait, or be signalled. The sandboxes,
 * the development identity provider and demo data are off; the web build is skipped by pointing
 * KOBAN_WEB_DIST at an empty folder whose build stamp is fresh.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { TEST_LEDGER_TOKEN } from '../support/koban.ts';

const REPO_ROOT = path.resolve(import.meta.dirname, '../..');

export interface KobanProcess {
  readonly child: ChildProcess;
  /** The main API, e.g. http://127.0.0.1:40123. */
  readonly base: string;
  readonly opaBase: string;
  /** Everything the process wrote so far (stdout and stderr). */
  output(): string;
  /** Resolves with the exit code (or signal) once the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(): void;
}

export interface SpawnedKoban {
  readonly child: ChildProcess;
  output(): string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves once Koban printed its banner; rejects if it exits first or takes longer than the bound. */
  readonly started: Promise<KobanProcess>;
  kill(): void;
}

/** Starts Koban; resolves once it printed its banner (or rejects if it exits first). */
export async function startKobanProcess(databaseUrl: string, env: Record<string, string> = {}): Promise<KobanProcess> {
  return spawnKoban(databaseUrl, env).started;
}

/** `args`: what node runs (`src/main.ts`, as npm start; or e.g. `src/cli/main.ts start --workers 2`). */
export function spawnKoban(databaseUrl: string, env: Record<string, string> = {}, startedWithinMs = 60_000, args: readonly string[] = ['src/main.ts']): SpawnedKoban {
  const scratch = mkdtempSync(path.join(tmpdir(), 'koban-proc-'));
  const webDist = path.join(scratch, 'web');
  mkdirSync(webDist);
  writeFileSync(path.join(webDist, '.built'), 'stand-in: no web apps in this test');
  const child = spawn(process.execPath, [...args], {
    cwd: REPO_ROOT,
    env: {
      PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? scratch,
      NODE_ENV: 'test', DATABASE_URL: databaseUrl, KOBAN_HOST: '127.0.0.1', KOBAN_PORT: '0', KOBAN_OPA_PORT: '0',
      KOBAN_DEMO_DATA: 'false', KOBAN_SANDBOXES: 'false', KOBAN_DEV_IDP: 'false', KOBAN_LOG_LEVEL: 'warn',
      KOBAN_WEB_DIST: webDist, KOBAN_TLS_DIR: path.join(scratch, 'tls'), KOBAN_SETTLEMENT_DIR: path.join(scratch, 'settlement'),
      KOBAN_LEDGER_API_TOKEN: TEST_LEDGER_TOKEN,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  child.stdout?.on('data', (chunk: Buffer) => { text += chunk.toString(); });
  child.stderr?.on('data', (chunk: Buffer) => { text += chunk.toString(); });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const kill = (): void => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL'); };
  const started = new Promise<KobanProcess>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`Koban did not start within ${startedWithinMs} ms:\n${text}`)), startedWithinMs);
    const check = (): void => {
      const api = /Health \/ readiness (http:\/\/[^/\s]+)\/healthz/.exec(text);
      const opa = /Merchant API \(OPA\) (https?:\/\/\S+)/.exec(text);
      if (api?.[1] === undefined || opa?.[1] === undefined) return;
      clearTimeout(timer);
      resolve({ child, base: api[1].replace('localhost', '127.0.0.1'), opaBase: opa[1], exited, output: () => text, kill });
    };
    child.stdout?.on('data', check);
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`Koban exited (${code ?? signal}) before it started:\n${text}`));
    });
  });
  started.catch(() => undefined);
  return { child, output: () => text, exited, started, kill };
}

/** The backends Koban holds on this database (its pool and its LISTEN connections). */
export const KOBAN_BACKENDS = "select pid from pg_stat_activity where application_name = 'koban' and datname = current_database() and pid <> pg_backend_pid()";
