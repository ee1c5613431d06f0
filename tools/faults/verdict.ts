/**
 * The end every harness shares (test:faults and test:ha): read the final state, run `koban ledger verify`,
 * judge the load generator's own log with the checker, and write the report beside the run's logs. Also
 * the start they share (migrations before Koban's first start) and the clean-up loop.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { migrate } from '../../src/platform/db/migrate.ts';
import { openPostgres } from '../../src/platform/db/postgres.ts';
import { check } from './checker.ts';
import { ledgerVerify, readFinalState, type Baseline } from './db-state.ts';
import { parseLog, type AttemptRecord, type FaultRecord } from './log.ts';
import { formatReport } from './report.ts';
import { disableRiskRules } from './setup.ts';

export interface RunToJudge {
  readonly databaseUrl: string;
  readonly walletIds: readonly string[];
  readonly baseline: Baseline;
  /** The load generator's JSONL log of every request and its answer. */
  readonly loadLog: string;
  readonly faultsLog: string;
  readonly runDir: string;
  readonly seed: number;
  /** How to run the same again, printed with the report. */
  readonly command: string;
  readonly recoveryBoundMs: number;
  /** Lines a harness adds under the checker's report (test:ha: the time without service). */
  readonly extraLines?: (attempts: readonly AttemptRecord[], faults: readonly FaultRecord[]) => string[];
}

/** Writes report.json and report.txt into the run's folder, prints the report; true when every check passed. */
export async function judgeRun(run: RunToJudge): Promise<boolean> {
  const final = await readFinalState(run.databaseUrl, run.walletIds, run.baseline);
  const verify = await ledgerVerify(run.databaseUrl);
  const attempts = parseLog(readFileSync(run.loadLog, 'utf8')).filter((r): r is AttemptRecord => r.kind === 'attempt');
  const faults = parseLog(readFileSync(run.faultsLog, 'utf8')).filter((r): r is FaultRecord => r.kind === 'fault');
  const report = check(attempts, faults, { ...final, ledgerVerify: verify }, { recoveryBoundMs: run.recoveryBoundMs });
  writeFileSync(path.join(run.runDir, 'report.json'), JSON.stringify(report, null, 2));
  const extra = run.extraLines?.(attempts, faults) ?? [];
  const text = [formatReport(report, { seed: run.seed, runDir: run.runDir, command: run.command }), ...(extra.length > 0 ? ['', ...extra] : [])].join('\n');
  writeFileSync(path.join(run.runDir, 'report.txt'), `${text}\n`);
  process.stdout.write(`\n${text}\n`);
  return report.ok;
}

/** Taken out of the list as they run, so an interrupt during the normal clean-up does not run one twice. */
export async function runCleanups(cleanups: Array<() => Promise<void>>, log: (line: string) => void): Promise<void> {
  for (let cleanup = cleanups.pop(); cleanup !== undefined; cleanup = cleanups.pop()) {
    try {
      await cleanup();
    } catch (error) {
      log(`cleanup: ${(error as Error).message}`);
    }
  }
}

/** Migrations applied before Koban's first start, so the risk rules can be switched off before it reads them. */
export async function prepareDatabase(url: string): Promise<void> {
  const db = await openPostgres(url, 2);
  try {
    await migrate(db);
  } finally {
    await db.close();
  }
  await disableRiskRules(url);
}
