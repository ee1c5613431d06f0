/**
 * `npm run test:faults`: Koban under faults, checked like Jepsen's bank test (tools/faults/README.md).
 *
 * A throwaway PostgreSQL (fsync on) behind a TCP proxy the harness controls; Koban as a child process
 * (`node src/main.ts`) on it; the sandbox acquirer and bank in this process (the outside world survives Koban's
 * crashes); customers signed up and funded; the load generator in its own process. Then, under load, one
 * phase per fault, each bounded: SIGKILL of Koban (restarted as a supervisor would), an immediate PostgreSQL
 * restart, PostgreSQL paused, the link blackholed, the link reset, a retry storm. After each fault the harness
 * waits (bounded) for Koban to be ready again; a Koban that exited by itself is restarted by hand and the phase
 * fails. Then the load stops, Koban finishes what it staged, and the checker compares the log with the database.
 *
 *   npm run test:faults                       # every fault, a random seed (printed)
 *   npm run test:faults -- --seed 42          # the same choices again
 *   npm run test:faults -- --faults pg_pause  # one fault alone (comma-separated for several)
 *   npm run test:faults -- --eager 0          # no eager duplicates (a fault's own effect alone)
 *   npm run test:faults -- --port-base 3500   # ports used: base .. base+6
 * Exits 0 only when the checker passes.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { once } from 'node:events';
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { DEMO } from '../../src/demo/seed.ts';
import { seededRandom, shuffle } from '../../src/drill/journal.ts';
import { DEMO_PAYMENTS } from '../../src/demo/demo-payments.ts';
import { startDevSandboxes } from '../../src/demo/sandboxes.ts';
import { devTlsPaths } from '../../src/platform/tls/dev-ca.ts';
import { adminQuery } from '../postgres/admin.ts';
import { startThrowawayPostgres, type ThrowawayPostgres } from '../postgres/throwaway.ts';
import { readBaseline, unfinishedWork } from './db-state.ts';
import { kobanProcess, type KobanProcess } from './koban-process.ts';
import { FAULT_NAMES, type FaultName, type FaultRecord } from './log.ts';
import { pause, restartImmediate, resume } from './postgres-faults.ts';
import { startFaultProxy, type FaultProxy } from './proxy.ts';
import { judgeRun, prepareDatabase, runCleanups } from './verdict.ts';
import { seedCustomers, type SetupFile } from './setup.ts';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const HOST = '127.0.0.1';
const DATABASE = 'koban_faults';
/** The first start may build the web apps; later starts take seconds. */
const FIRST_START_BOUND_MS = 240_000;
const RESTART_BOUND_MS = 60_000;
/** After a fault ends, Koban must be answering again within this (a restart alone takes 10–20 s on a busy 2-core box). */
const RECOVERY_BOUND_MS = 45_000;
/** A Koban that exited by itself is given this long before the harness restarts it by hand. */
const DEAD_GRACE_MS = 3_000;
/** Load between phases, so every fault's recovery is measured on real operations. */
const GAP_MS = 6_000;
const WARMUP_MS = 8_000;
const STORM_BOUND_MS = 120_000;
const LOAD_STOP_BOUND_MS = 150_000;
const SETTLE_BOUND_MS = 90_000;
const SETTLE_POLL_MS = 1_000;
/** Every fault more than once: the first round in the order given, later rounds shuffled by the seed. */
const DEFAULT_ROUNDS = 2;
const ROUNDS_MAX = 5;
/** Till payments that also get a duplicate 0–25 ms after the original, as a till with a short timeout sends. */
const DEFAULT_EAGER_SHARE = 0.1;
const CUSTOMERS = ['till0', 'till1', 'till2', 'till3', 'till4', 'till5', 'topup', 'qr', 'storm'] as const;

interface Run {
  readonly seed: number;
  readonly rng: () => number;
  readonly runDir: string;
  readonly pg: ThrowawayPostgres;
  readonly proxy: FaultProxy;
  readonly koban: KobanProcess;
  readonly load: ChildProcess;
  readonly faultsLog: string;
  readonly directUrl: string;
}

function log(line: string): void {
  process.stdout.write(`[faults ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function options(): { seed: number; faults: FaultName[]; rounds: number; eagerShare: number; portBase: number; outDir: string } {
  const { values } = parseArgs({ options: { seed: { type: 'string' }, faults: { type: 'string' }, rounds: { type: 'string' }, eager: { type: 'string' }, 'port-base': { type: 'string' }, out: { type: 'string' } } });
  const seed = values.seed === undefined ? randomInt(1, 2 ** 31 - 1) : Number(values.seed);
  if (!Number.isSafeInteger(seed) || seed < 1) throw new Error('--seed must be a positive integer');
  const faults = (values.faults ?? FAULT_NAMES.join(',')).split(',').map((f) => f.trim()).filter((f) => f !== '');
  for (const fault of faults) if (!(FAULT_NAMES as readonly string[]).includes(fault)) throw new Error(`unknown fault ${fault}; one of ${FAULT_NAMES.join(', ')}`);
  const portBase = Number(values['port-base'] ?? process.env.KOBAN_FAULTS_PORT_BASE ?? 3500);
  if (!Number.isSafeInteger(portBase) || portBase < 1024 || portBase > 65_000) throw new Error('--port-base must be a port number');
  const rounds = Number(values.rounds ?? DEFAULT_ROUNDS);
  if (!Number.isSafeInteger(rounds) || rounds < 1 || rounds > ROUNDS_MAX) throw new Error(`--rounds must be 1 to ${ROUNDS_MAX}`);
  const eagerShare = Number(values.eager ?? DEFAULT_EAGER_SHARE);
  if (!(eagerShare >= 0 && eagerShare <= 1)) throw new Error('--eager must be a share from 0 to 1');
  return { seed, faults: faults as FaultName[], rounds, eagerShare, portBase, outDir: values.out ?? path.join(REPO_ROOT, 'test-results/faults') };
}

async function main(): Promise<number> {
  const opts = options();
  const runDir = path.join(opts.outDir, `${new Date().toISOString().replace(/[:.]/g, '-')}-seed${opts.seed}`);
  mkdirSync(runDir, { recursive: true });
  const command = `npm run test:faults -- --seed ${opts.seed} --faults ${opts.faults.join(',')} --rounds ${opts.rounds} --eager ${opts.eagerShare}`;
  log(`seed ${opts.seed}; faults ${opts.faults.join(', ')}; ${opts.rounds} round(s); logs in ${runDir}`);
  const ports = { pg: opts.portBase, proxy: opts.portBase + 1, http: opts.portBase + 2, opa: opts.portBase + 3, acquirer: opts.portBase + 4, bank: opts.portBase + 5, idp: opts.portBase + 6 };
  const pg = await startThrowawayPostgres({ label: 'faults', port: ports.pg });
  const cleanups: Array<() => Promise<void>> = [() => pg.stop()];
  const interrupted = (signal: NodeJS.Signals): void => {
    log(`${signal}: cleaning up`);
    void runCleanups(cleanups, log).finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  try {
    await adminQuery(pg.adminUrl, `create database ${DATABASE}`);
    const directUrl = `postgres://koban@${HOST}:${pg.port}/${DATABASE}`;
    const proxiedUrl = `postgres://koban@${HOST}:${ports.proxy}/${DATABASE}`;
    await prepareDatabase(directUrl);
    const proxy = await startFaultProxy({ host: HOST, port: ports.proxy, upstreamHost: HOST, upstreamPort: pg.port });
    cleanups.push(() => proxy.close());
    const baseUrl = `http://${HOST}:${ports.http}`;
    const sandboxes = await startDevSandboxes({ NODE_ENV: 'development', KOBAN_HOST: HOST, KOBAN_PORT: String(ports.http), KOBAN_SANDBOX_ACQUIRER_PORT: String(ports.acquirer), KOBAN_SANDBOX_BANK_PORT: String(ports.bank) });
    cleanups.push(() => sandboxes.close());
    const ledgerToken = randomBytes(24).toString('hex');
    const tlsDir = path.join(runDir, 'tls');
    const env: NodeJS.ProcessEnv = {
      ...process.env, ...sandboxes.env, NODE_ENV: 'development', DATABASE_URL: proxiedUrl, KOBAN_HOST: HOST, KOBAN_PORT: String(ports.http),
      KOBAN_OPA_HOST: HOST, KOBAN_OPA_PORT: String(ports.opa),
      // One merchant key drives every till here: its rate limit is not what this harness tests.
      KOBAN_OPA_RATE_PER_SECOND: '10000', KOBAN_OPA_RATE_BURST: '100000', KOBAN_DEV_IDP_PORT: String(ports.idp), KOBAN_TLS_DIR: tlsDir,
      KOBAN_SECRET_KEY: randomBytes(32).toString('base64url'), KOBAN_LEDGER_API_TOKEN: ledgerToken, KOBAN_LOG_LEVEL: 'warn', KOBAN_DEMO_DATA: 'true',
      KOBAN_SETTLEMENT_DIR: path.join(runDir, 'settlement'), KOBAN_TOPUP_RECONCILE_DELAY_MS: '1000',
    };
    // Koban and the load run in their own process groups, registered with the PostgreSQL watchdog: if the harness
    // dies (even by SIGKILL), the watchdog kills them with the database instead of leaving them on our ports.
    const koban = kobanProcess({ env, baseUrl, logDir: runDir, onSpawn: (pgid) => pg.registerProcessGroup(pgid) });
    cleanups.push(() => koban.stop(10_000));
    log('starting Koban (the first start may build the web apps)');
    koban.start();
    if (!(await koban.waitReady(FIRST_START_BOUND_MS))) throw new Error(`Koban did not become ready; see ${runDir}/koban.log`);
    log('Koban ready; signing up and funding the customers');
    const customers = await seedCustomers({ baseUrl, directUrl, ledgerToken, bankUrl: sandboxes.env.KOBAN_BANK_URL ?? '', names: CUSTOMERS, topUpCustomer: 'topup', runTag: String(opts.seed), log });
    const walletIds = customers.map((c) => c.walletAccountId);
    const setup: SetupFile = {
      seed: opts.seed, baseUrl, opaUrl: `https://${HOST}:${ports.opa}`, caPemPath: devTlsPaths(tlsDir).caCertPath,
      apiKey: DEMO_PAYMENTS.credential.apiKey, apiSecret: DEMO_PAYMENTS.credential.apiSecret, storeId: DEMO.merchant.stores[0].id,
      terminalIds: DEMO.merchant.stores[0].terminals.map((t) => t.id), customers, logPath: path.join(runDir, 'requests.jsonl'), eagerShare: opts.eagerShare,
    };
    writeFileSync(path.join(runDir, 'setup.json'), JSON.stringify(setup, null, 2));
    const baseline = await readBaseline(directUrl, walletIds);
    const load = fork(path.join(REPO_ROOT, 'tools/faults/load.ts'), [path.join(runDir, 'setup.json')], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], detached: true });
    if (load.pid !== undefined) pg.registerProcessGroup(load.pid);
    cleanups.push(async () => {
      if (load.exitCode === null && load.signalCode === null) load.kill('SIGKILL');
    });
    const run: Run = { seed: opts.seed, rng: seededRandom(opts.seed ^ 0x9e3779b9), runDir, pg, proxy, koban, load, faultsLog: path.join(runDir, 'faults.jsonl'), directUrl };
    writeFileSync(run.faultsLog, '');
    log(`load running; warm-up ${WARMUP_MS / 1000} s`);
    await sleep(WARMUP_MS);
    for (const fault of schedule(opts.faults, opts.rounds, run.rng)) await phase(run, fault);
    await stopLoad(run);
    await settle(run, walletIds);
    log('reading the final state and running koban ledger verify');
    const ok = await judgeRun({ databaseUrl: directUrl, walletIds, baseline, loadLog: setup.logPath, faultsLog: run.faultsLog, runDir, seed: opts.seed, command, recoveryBoundMs: RECOVERY_BOUND_MS });
    return ok ? 0 : 1;
  } finally {
    await runCleanups(cleanups, log);
  }
}

function schedule(faults: readonly FaultName[], rounds: number, rng: () => number): FaultName[] {
  const phases = [...faults];
  for (let round = 1; round < rounds; round++) phases.push(...shuffle(faults, rng));
  return phases;
}

function between(rng: () => number, minMs: number, maxMs: number): number {
  return Math.round(minMs + rng() * (maxMs - minMs));
}

/** One fault under load, then the bounded wait for Koban to answer again, then load without faults. */
async function phase(run: Run, fault: FaultName): Promise<void> {
  const exitsBefore = run.koban.exits.length;
  const startedAtMs = Date.now();
  const detail = await inject(run, fault);
  const endedAtMs = Date.now();
  log(`${fault}: ${detail}; waiting for recovery`);
  let manualRestartAtMs = await awaitRecovery(run.koban, endedAtMs);
  await sleep(GAP_MS);
  if (manualRestartAtMs === null && !run.koban.running) manualRestartAtMs = await restartByHand(run.koban);
  const unexpectedExits = run.koban.exits.slice(exitsBefore).filter((e) => !e.expected).length;
  const record: FaultRecord = { kind: 'fault', fault, startedAtMs, endedAtMs, detail, unexpectedExits, manualRestartAtMs };
  appendFileSync(run.faultsLog, `${JSON.stringify(record)}\n`);
  log(`${fault}: done${unexpectedExits > 0 ? `; Koban exited by itself ${unexpectedExits}×` : ''}${manualRestartAtMs === null ? '' : '; restarted by hand'}`);
}

async function inject(run: Run, fault: FaultName): Promise<string> {
  switch (fault) {
    case 'kill': {
      const downMs = between(run.rng, 500, 3_000);
      await run.koban.kill();
      await sleep(downMs);
      run.koban.start();
      return `SIGKILL, restarted after ${downMs} ms`;
    }
    case 'pg_restart': {
      const t0 = Date.now();
      await restartImmediate(run.pg);
      return `pg_ctl restart -m immediate (${Date.now() - t0} ms)`;
    }
    case 'pg_pause': {
      const pausedMs = between(run.rng, 10_000, 20_000);
      const pids = pause(run.pg);
      await sleep(pausedMs);
      resume(pids);
      return `SIGSTOP of ${pids.length} PostgreSQL processes for ${(pausedMs / 1000).toFixed(1)} s`;
    }
    case 'blackhole': {
      const heldMs = between(run.rng, 10_000, 20_000);
      run.proxy.blackhole();
      await sleep(heldMs);
      run.proxy.heal();
      return `link blackholed for ${(heldMs / 1000).toFixed(1)} s`;
    }
    case 'reset': {
      let cut = 0;
      for (let i = 0; i < 3; i++) {
        cut += run.proxy.reset();
        await sleep(between(run.rng, 300, 1_500));
      }
      return `3 link resets, ${cut} connections cut`;
    }
    case 'storm': {
      run.load.send({ type: 'storm' });
      const done = await Promise.race([
        new Promise<boolean>((resolve) => run.load.on('message', (m: { type?: string }) => { if (m.type === 'storm-done') resolve(true); })),
        sleep(STORM_BOUND_MS).then(() => false),
      ]);
      return done ? '50 identical till payments, refunds and QR payments at once' : `storm did not finish within ${STORM_BOUND_MS / 1000} s`;
    }
  }
}

/** Waits until Koban answers /readyz; a Koban that died on its own is restarted by hand (and the phase fails). */
async function awaitRecovery(koban: KobanProcess, endedAtMs: number): Promise<number | null> {
  const deadline = endedAtMs + RECOVERY_BOUND_MS;
  while (Date.now() < deadline) {
    if (!koban.running) {
      await sleep(DEAD_GRACE_MS);
      if (!koban.running) return restartByHand(koban);
    }
    if (await koban.waitReady(1_000)) return null;
  }
  return koban.running ? null : restartByHand(koban);
}

async function restartByHand(koban: KobanProcess): Promise<number> {
  const at = Date.now();
  log('Koban is down and nothing restarts it: restarting it by hand (this phase fails)');
  koban.start();
  await koban.waitReady(RESTART_BOUND_MS);
  return at;
}

async function stopLoad(run: Run): Promise<void> {
  log('stopping the load (operations in flight settle first)');
  run.load.send({ type: 'stop' });
  const exited = once(run.load, 'exit');
  const finished = await Promise.race([exited.then(() => true), sleep(LOAD_STOP_BOUND_MS).then(() => false)]);
  if (!finished) {
    log('the load generator did not stop in time; killed');
    run.load.kill('SIGKILL');
  }
}

/** Koban's maintenance loop finishes what was staged when a fault hit; the final state is read after it has. */
async function settle(run: Run, walletIds: readonly string[]): Promise<void> {
  if (!run.koban.running) {
    log('Koban is down at the end: started again so it can finish staged work');
    run.koban.start();
    await run.koban.waitReady(RESTART_BOUND_MS);
  }
  const deadline = Date.now() + SETTLE_BOUND_MS;
  let left = await unfinishedWork(run.directUrl, walletIds);
  while (left > 0 && Date.now() < deadline) {
    await sleep(SETTLE_POLL_MS);
    left = await unfinishedWork(run.directUrl, walletIds);
  }
  log(left === 0 ? 'no staged work left' : `${left} operations still unfinished after ${SETTLE_BOUND_MS / 1000} s (the checker sees them as they are)`);
}

main().then((code) => process.exit(code), (error: unknown) => {
  process.stderr.write(`fault run failed: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(2);
});
