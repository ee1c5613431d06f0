/**
 * `koban <command>`: operational tasks against the configured database (DATABASE_URL, or the
 * embedded data folder when no Koban is running on it). Exit codes: 0 fine, 1 a check failed,
 * 2 the command could not run.
 */
import { ConfigError, loadConfig } from '../platform/config.ts';
import { openDatabase } from '../platform/db/open.ts';
import { migrate } from '../platform/db/migrate.ts';
import { formatReport, verifyLedger } from '../ledger/verify.ts';
import type { Database } from '../platform/db/database.ts';
import { OPERATIONS_COMMANDS } from '../operations/cli.ts';
import { PAYMENTS_COMMANDS } from '../payments/cli.ts';
import { TILL_COMMANDS } from '../payments/terminal/cli.ts';
import { runningKoban, type LocalAdminAddress } from '../platform/local-admin.ts';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

interface Command {
  readonly words: readonly string[];
  readonly summary: string;
  /** Options after the words (`--role administrator`); commands without it take none. */
  readonly usage?: string;
  /** false: needs no database, so it also runs while `npm start` holds the embedded folder's lock. */
  readonly opensDatabase?: false;
  run(db: Database, args: readonly string[]): Promise<number>;
  /** How to do it by asking the Koban that runs on the embedded folder (PGlite allows one process on it). */
  viaRunningKoban?(koban: LocalAdminAddress, args: readonly string[]): Promise<number>;
}

/** What a command that opens no database is given: any use of it is a bug, and says so. */
const NO_DATABASE = new Proxy({}, { get() { throw new Error('this command opens no database'); } }) as Database;

const COMMANDS: readonly Command[] = [
  {
    words: ['ledger', 'verify'],
    summary: 'recompute every balance from the transfers and check the ledger invariants',
    async run(db) {
      const report = await verifyLedger(db);
      process.stdout.write(`${formatReport(report)}\n`);
      return report.ok ? 0 : 1;
    },
  },
  {
    words: ['db', 'migrate'],
    summary: 'apply pending database migrations',
    async run(db) {
      const { applied } = await migrate(db);
      process.stdout.write(applied.length === 0 ? 'migrations: up to date\n' : `migrations: applied ${applied.join(', ')}\n`);
      return 0;
    },
  },
  ...OPERATIONS_COMMANDS,
  ...PAYMENTS_COMMANDS,
  ...TILL_COMMANDS,
];

function usage(): string {
  return ['usage: koban <command>', '', 'commands:', ...COMMANDS.map((c) => `  ${[...c.words, c.usage ?? ''].join(' ').trim().padEnd(16)} ${c.summary}`),
    `  ${'start [--workers N]'.padEnd(16)} run Koban (as npm start); N worker processes sharing its ports (KOBAN_WORKERS; needs DATABASE_URL)`,
    `  ${'drill [options]'.padEnd(16)} replay a 7pay-style attack against a running Koban and measure it (koban drill --help)`, '',
    'The database is DATABASE_URL, or the embedded folder KOBAN_DATA_DIR (default .koban/data).'].join('\n');
}

export async function runCli(argv: readonly string[]): Promise<number> {
  // The drill talks to a running Koban over HTTP and never opens the database.
  if (argv[0] === 'drill') return (await import('../drill/cli.ts')).drillCommand(argv.slice(1));
  if (argv[0] === 'start') return startCommand(argv.slice(1));
  const command = COMMANDS.find((c) => (c.words.length === argv.length || (c.usage !== undefined && argv.length > c.words.length))
    && c.words.every((word, i) => argv[i] === word));
  if (command === undefined) {
    process.stderr.write(`${usage()}\n`);
    return argv.length === 0 || argv[0] === 'help' || argv[0] === '--help' ? 0 : 2;
  }
  if (command.opensDatabase === false) return command.run(NO_DATABASE, argv.slice(command.words.length));
  let db: Database | null = null;
  try {
    const config = loadConfig();
    const running = command.viaRunningKoban === undefined || config.databaseUrl !== null ? null : runningKoban(config.dataDir);
    if (running !== null && command.viaRunningKoban !== undefined) return await command.viaRunningKoban(running, argv.slice(command.words.length));
    db = await openDatabase({ ...config, demoData: false });
    return await command.run(db, argv.slice(command.words.length));
  } catch (error) {
    process.stderr.write(`koban ${command.words.join(' ')}: ${error instanceof ConfigError ? error.message : (error as Error).message}\n`);
    return 2;
  } finally {
    await db?.close();
  }
}

/**
 * `koban start [--workers N]`: runs `src/main.ts` (what `npm start` runs) as a child with KOBAN_WORKERS from the
 * option, and exits with its status. SIGTERM is passed on; Ctrl-C reaches the child from the terminal itself.
 */
async function startCommand(args: readonly string[]): Promise<number> {
  const workers = args[0] === '--workers' && args.length === 2 ? args[1] : args.length === 0 ? undefined : null;
  if (workers === null || (workers !== undefined && !/^[1-9][0-9]?$/.test(workers))) {
    process.stderr.write('usage: koban start [--workers N]   (N from 1 to 64)\n');
    return 2;
  }
  const child = spawn(process.execPath, [fileURLToPath(new URL('../main.ts', import.meta.url))], {
    stdio: 'inherit', env: { ...process.env, ...(workers === undefined ? {} : { KOBAN_WORKERS: workers }) },
  });
  process.on('SIGTERM', () => child.kill('SIGTERM'));
  process.on('SIGINT', () => undefined);
  const [code, signal] = await once(child, 'exit') as [number | null, NodeJS.Signals | null];
  return code ?? (signal === null ? 1 : 128);
}

if (import.meta.main) {
  process.exitCode = await runCli(process.argv.slice(2));
}
