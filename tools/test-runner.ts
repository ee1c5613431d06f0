/**
 * `npm test` = `node tools/test-runner.ts [vitest args...]`.
 *
 * Starts a throwaway PostgreSQL (KOBAN_TEST_PG_URL), runs `vitest run` in its own process group registered
 * with the server's watchdog, stops the server on every exit path, and closes with one plain
 * `N passed, N failed[, N skipped]` line. If this runner is SIGKILLed, the watchdog kills vitest's group and the
 * server; nothing is left behind.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { startThrowawayPostgres, type ThrowawayPostgres } from './postgres/throwaway.ts';
import { ensureChromium } from './chromium.ts';

const VITEST_CLI = path.join(path.dirname(createRequire(import.meta.url).resolve('vitest/package.json')), 'vitest.mjs');
const FORWARDED_SIGNALS = ['SIGINT', 'SIGTERM'] as const;

type Report = { numPassedTests: number; numFailedTests: number; numPendingTests: number; numTodoTests: number; numTotalTests: number; numFailedTestSuites: number };

async function main(args: string[]): Promise<number> {
  ensureChromium((message) => console.log(message));
  const server = await startThrowawayPostgres({ label: 'test' });
  const { binaries } = server;
  console.log(`test database: ${binaries.version} from ${binaries.binDir} (${binaries.source}) at ${server.adminUrl}`);
  // Inside the server's data dir, so the watchdog removes it too if we are SIGKILLed.
  const reportFile = path.join(server.dataDir, 'koban-vitest-report.json');
  let vitestCode = 1;
  let report: Report | undefined;
  try {
    vitestCode = await runVitest(server, [...args, '--reporter=default', '--reporter=json', `--outputFile.json=${reportFile}`]);
    report = readReport(reportFile);
  } finally {
    await server.stop();
  }
  return summarize(report, vitestCode);
}

async function runVitest(server: ThrowawayPostgres, args: string[]): Promise<number> {
  const env = { ...process.env, KOBAN_TEST_PG_URL: server.adminUrl };
  // detached: vitest leads its own process group, so the watchdog can kill it with all its workers at once.
  const vitest = spawn(process.execPath, [VITEST_CLI, 'run', ...args], { detached: true, stdio: 'inherit', env });
  if (vitest.pid === undefined) throw new Error(`could not start vitest (${VITEST_CLI})`);
  server.registerProcessGroup(vitest.pid);
  const stopForwarding = forwardSignals(vitest.pid);
  try {
    return await exitCodeOf(vitest);
  } finally {
    stopForwarding();
    // Workers that outlive vitest's main process (a hung test) would still hold connections to the server.
    killGroup(vitest.pid, 'SIGKILL');
  }
}

/** Ctrl-C reaches only our group; pass it on. A second signal means "now": SIGKILL the whole group. */
function forwardSignals(pgid: number): () => void {
  let received = 0;
  const forward = (signal: NodeJS.Signals) => {
    received += 1;
    killGroup(pgid, received === 1 ? signal : 'SIGKILL');
  };
  for (const signal of FORWARDED_SIGNALS) process.on(signal, forward);
  return () => {
    for (const signal of FORWARDED_SIGNALS) process.off(signal, forward);
  };
}

function killGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // The group is already gone.
  }
}

async function exitCodeOf(child: ChildProcess): Promise<number> {
  const [code, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
  if (code !== null) return code;
  // The shell convention for "killed by a signal".
  return 128 + (signal === null ? 0 : os.constants.signals[signal]);
}

function readReport(reportFile: string): Report | undefined {
  try {
    return JSON.parse(readFileSync(reportFile, 'utf8')) as Report;
  } catch {
    return undefined;
  }
}

/** Prints the closing line last and decides the exit code: a run that executed no test is a failure. */
function summarize(report: Report | undefined, vitestCode: number): number {
  const failing = vitestCode === 0 ? 1 : vitestCode;
  if (report === undefined) {
    console.error(`vitest wrote no JSON report (exit code ${vitestCode}): it was interrupted or crashed before finishing`);
    return failing;
  }
  if (report.numFailedTestSuites > 0) console.error(`${report.numFailedTestSuites} test file(s) or suite(s) failed`);
  if (report.numTotalTests === 0) console.error('vitest ran no tests');
  const skipped = report.numPendingTests + report.numTodoTests;
  console.log(`${report.numPassedTests} passed, ${report.numFailedTests} failed${skipped > 0 ? `, ${skipped} skipped` : ''}`);
  return report.numTotalTests === 0 ? failing : vitestCode;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
