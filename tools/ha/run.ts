/**
 * `npm run test:ha` (issue 18): Koban on several nodes behind HAProxy, on two PostgreSQL nodes under Patroni
 * and etcd, all from deploy/. Under signed payments and refunds from a separate load generator (the fault
 * harness's, tools/faults/load.ts, retrying by id), it SIGKILLs the primary PostgreSQL node (Patroni and its
 * postmaster: Patroni promotes the synchronous standby) and one Koban node. Then the fault harness's checker
 * reads the load generator's own log: no acknowledged operation missing or duplicated, no contradiction,
 * balances recomputed, `koban ledger verify` clean on the new primary; and it prints the time without service
 * and the requests that failed during it. Then it rolling-restarts the surviving nodes (SIGTERM: each drains —
 * /readyz fails, HAProxy takes it out, in-flight requests finish — and is started again), and fails if any
 * request sent during the rolling restart got no answer or a 502/503/504: a drained node loses no request.
 * The whole run is bounded (OVERALL_BOUND_MS): past it the harness says so, cleans up and exits 3.
 *
 *   npm run test:ha                 # as root it installs etcd-server, patroni, haproxy if missing
 *   npm run test:ha -- --seed 42
 * Exit 0 only when every check passes; 1 when a check fails; 2 when the cluster could not be made.
 */
import { fork } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { once } from 'node:events';
import { appendFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { DEMO } from '../../src/demo/seed.ts';
import { DEMO_PAYMENTS } from '../../src/demo/demo-payments.ts';
import { startDevSandboxes } from '../../src/demo/sandboxes.ts';
import { devTlsPaths } from '../../src/platform/tls/dev-ca.ts';
import { adminQuery } from '../postgres/admin.ts';
import { readBaseline, unfinishedWork } from '../faults/db-state.ts';
import { kobanProcess, type KobanProcess } from '../faults/koban-process.ts';
import { type AttemptRecord, type FaultRecord, verdictOf } from '../faults/log.ts';
import { judgeRun, prepareDatabase, runCleanups } from '../faults/verdict.ts';
import { seedCustomers, type SetupFile } from '../faults/setup.ts';
import { ensurePackages, PG_NODES, PORTS, REPO_ROOT, sleep, startCluster, type Cluster } from './cluster.ts';

const HOST = '127.0.0.1';
const DATABASE = 'koban_ha';
const CLUSTER_BOUND_MS = 120_000;
const FIRST_START_BOUND_MS = 240_000;
const NODE_START_BOUND_MS = 120_000;
/** Patroni's ttl (20 s) plus a loop and HAProxy's checks, with room for a busy machine. */
const RECOVERY_BOUND_MS = 60_000;
const WARMUP_MS = 8_000;
const GAP_MS = 10_000;
const LOAD_STOP_BOUND_MS = 150_000;
const SETTLE_BOUND_MS = 90_000;
/** Longer than any healthy run (4–6 minutes on the shared 2-core box) and shorter than CI's own timeout (10 min), so the message is ours. */
const OVERALL_BOUND_MS = 9 * 60_000;
/** How long cleanup may take after the overall bound before the harness exits anyway. */
const CLEANUP_BOUND_MS = 30_000;
/** HAProxy checks /readyz every second and needs 2 failures (deploy/haproxy.cfg): the drain waits longer than that. */
const DRAIN_DELAY_MS = 4_000;
/** A restarted node is back in HAProxy's rotation after 2 good checks a second apart. */
const BACK_IN_ROTATION_MS = 3_000;
/** What a request lost by a rolling restart looks like: no answer, or the balancer's/Koban's "unavailable". */
const LOST_STATUSES = new Set([0, 502, 503, 504]);
const CUSTOMERS = ['till0', 'till1', 'till2', 'till3', 'till4', 'till5', 'topup', 'qr', 'storm'] as const;

function log(line: string): void {
  process.stdout.write(`[ha ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { seed: { type: 'string' }, nodes: { type: 'string' } } });
  const seed = values.seed === undefined ? randomInt(1, 2 ** 31 - 1) : Number(values.seed);
  const nodeCount = Number(values.nodes ?? 3);
  if (!Number.isSafeInteger(seed) || seed < 1) throw new Error('--seed must be a positive integer');
  if (!Number.isSafeInteger(nodeCount) || nodeCount < 2 || nodeCount > PORTS.kobanHttp.length) throw new Error(`--nodes must be 2 to ${PORTS.kobanHttp.length}`);
  ensurePackages(log);
  const stamp = `${new Date().toISOString().replace(/[:.]/g, '-')}-seed${seed}`;
  const logDir = path.join(REPO_ROOT, 'test-results/ha', stamp);
  mkdirSync(logDir, { recursive: true });
  // PostgreSQL's data must be readable by the unprivileged user it runs as, which /work may not be.
  const clusterDir = path.join('/tmp', `koban-ha-${stamp}`);
  log(`seed ${seed}; ${nodeCount} Koban nodes; logs in ${logDir}, cluster in ${clusterDir}`);
  const cleanups: Array<() => Promise<void>> = [];
  const interrupted = (signal: NodeJS.Signals): void => {
    log(`${signal}: cleaning up`);
    void runCleanups(cleanups, log).finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  // The watchdog: test:ha can never hang CI, whatever waits forever (a process, a socket, the cluster).
  const watchdog = setTimeout(() => {
    log(`test:ha exceeded its overall bound of ${OVERALL_BOUND_MS / 60_000} minutes: cleaning up and failing (logs in ${logDir})`);
    setTimeout(() => process.exit(3), CLEANUP_BOUND_MS).unref();
    void runCleanups(cleanups, log).finally(() => process.exit(3));
  }, OVERALL_BOUND_MS);
  watchdog.unref();
  try {
    const cluster = startCluster(clusterDir, logDir);
    cleanups.push(async () => {
      await cluster.stopAll();
      rmSync(clusterDir, { recursive: true, force: true });
    });
    log('etcd, Patroni (pg1, pg2) and HAProxy started; waiting for a primary and its synchronous standby');
    const firstPrimary = await cluster.waitHealthy(CLUSTER_BOUND_MS, true);
    if (firstPrimary === null) throw new Error(`no primary with a synchronous standby within ${CLUSTER_BOUND_MS / 1000} s; see ${logDir}/patroni-*.log`);
    log(`primary ${firstPrimary}, synchronous standby ${PG_NODES.find((n) => n !== firstPrimary)}`);
    const superUrl = `postgres://postgres@${HOST}:${PORTS.haproxyPostgres}/postgres`;
    await adminQuery(superUrl, `create role koban login superuser`);
    await adminQuery(superUrl, `create database ${DATABASE} owner koban`);
    // Every Koban connection, the checker's included, goes through HAProxy: after the failover it is the new primary.
    const databaseUrl = `postgres://koban@${HOST}:${PORTS.haproxyPostgres}/${DATABASE}`;
    await prepareDatabase(databaseUrl);

    const baseUrl = `http://${HOST}:${PORTS.haproxyHttp}`;
    const sandboxes = await startDevSandboxes({ NODE_ENV: 'development', KOBAN_HOST: HOST, KOBAN_PORT: String(PORTS.haproxyHttp), KOBAN_SANDBOX_ACQUIRER_PORT: String(PORTS.acquirer), KOBAN_SANDBOX_BANK_PORT: String(PORTS.bank) });
    cleanups.push(() => sandboxes.close());
    const ledgerToken = randomBytes(24).toString('hex');
    const tlsDir = path.join(logDir, 'tls');
    const shared: NodeJS.ProcessEnv = {
      ...process.env, ...sandboxes.env, NODE_ENV: 'development', DATABASE_URL: databaseUrl, KOBAN_HOST: HOST, KOBAN_OPA_HOST: HOST,
      KOBAN_PUBLIC_URL: baseUrl, KOBAN_DEV_IDP: 'false', KOBAN_TLS_DIR: tlsDir,
      KOBAN_SECRET_KEY: randomBytes(32).toString('base64url'), KOBAN_LEDGER_API_TOKEN: ledgerToken, KOBAN_LOG_LEVEL: 'warn', KOBAN_DEMO_DATA: 'true',
      KOBAN_SETTLEMENT_DIR: path.join(logDir, 'settlement'), KOBAN_TOPUP_RECONCILE_DELAY_MS: '1000',
      KOBAN_DRAIN_DELAY_MS: String(DRAIN_DELAY_MS), KOBAN_SHUTDOWN_GRACE_MS: '15000',
    };
    const nodes: KobanProcess[] = [];
    for (let i = 0; i < nodeCount; i++) {
      const nodeDir = path.join(logDir, `koban${i + 1}`);
      mkdirSync(nodeDir, { recursive: true });
      const env = { ...shared, KOBAN_PORT: String(PORTS.kobanHttp[i]), KOBAN_OPA_PORT: String(PORTS.kobanOpa[i]), KOBAN_NODE_ID: `koban${i + 1}`, KOBAN_OPA_RATE_PER_SECOND: '10000', KOBAN_OPA_RATE_BURST: '100000' };
      const node = kobanProcess({ env, baseUrl: `http://${HOST}:${PORTS.kobanHttp[i]}`, logDir: nodeDir, onSpawn: (pgid) => cluster.registerGroup(pgid) });
      nodes.push(node);
      cleanups.push(() => node.stop(10_000));
    }
    // The first node creates the dev CA and the OPA certificate the others then read; it also builds the web apps.
    log('starting koban1 (the first start may build the web apps)');
    nodes[0]?.start();
    if (!(await nodes[0]?.waitReady(FIRST_START_BOUND_MS))) throw new Error(`koban1 did not become ready; see ${logDir}/koban1/koban.log`);
    for (const node of nodes.slice(1)) node.start();
    for (const [i, node] of nodes.entries()) {
      if (!(await node.waitReady(NODE_START_BOUND_MS))) throw new Error(`koban${i + 1} did not become ready; see ${logDir}/koban${i + 1}/koban.log`);
    }
    log(`${nodeCount} Koban nodes ready behind HAProxy; signing up and funding the customers`);
    const customers = await seedCustomers({ baseUrl, directUrl: databaseUrl, ledgerToken, bankUrl: sandboxes.env.KOBAN_BANK_URL ?? '', names: CUSTOMERS, topUpCustomer: 'topup', runTag: `ha${seed}`, log });
    const walletIds = customers.map((c) => c.walletAccountId);
    const setup: SetupFile = {
      seed, baseUrl, opaUrl: `https://${HOST}:${PORTS.haproxyOpa}`, caPemPath: devTlsPaths(tlsDir).caCertPath,
      apiKey: DEMO_PAYMENTS.credential.apiKey, apiSecret: DEMO_PAYMENTS.credential.apiSecret, storeId: DEMO.merchant.stores[0].id,
      terminalIds: DEMO.merchant.stores[0].terminals.map((t) => t.id), customers, logPath: path.join(logDir, 'requests.jsonl'), eagerShare: 0,
    };
    writeFileSync(path.join(logDir, 'setup.json'), JSON.stringify(setup, null, 2));
    const baseline = await readBaseline(databaseUrl, walletIds);
    const load = fork(path.join(REPO_ROOT, 'tools/faults/load.ts'), [path.join(logDir, 'setup.json')], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], detached: true });
    if (load.pid !== undefined) cluster.registerGroup(load.pid);
    cleanups.push(async () => {
      if (load.exitCode === null && load.signalCode === null) load.kill('SIGKILL');
    });
    const faultsLog = path.join(logDir, 'faults.jsonl');
    writeFileSync(faultsLog, '');
    log(`load running; warm-up ${WARMUP_MS / 1000} s`);
    await sleep(WARMUP_MS);

    await failover(cluster, nodes, faultsLog);
    await sleep(GAP_MS);
    await killKobanNode(nodes, nodeCount - 1, faultsLog);
    await sleep(GAP_MS);
    const rolling = await rollingRestart(nodes.slice(0, nodeCount - 1), faultsLog);
    await sleep(GAP_MS);

    log('stopping the load (operations in flight settle first)');
    load.send({ type: 'stop' });
    const stopped = await Promise.race([once(load, 'exit').then(() => true), sleep(LOAD_STOP_BOUND_MS).then(() => false)]);
    if (!stopped) {
      log('the load generator did not stop in time; killed');
      load.kill('SIGKILL');
    }
    await settle(databaseUrl, walletIds);
    log('reading the final state through HAProxy (the new primary) and running koban ledger verify');
    const ok = await judgeRun({
      databaseUrl, walletIds, baseline, loadLog: setup.logPath, faultsLog, runDir: logDir, seed, recoveryBoundMs: RECOVERY_BOUND_MS,
      command: `npm run test:ha -- --seed ${seed} --nodes ${nodeCount}`,
      extraLines: (attempts, faults) => [...serviceGaps(attempts, faults), ...rollingRestartLines(attempts, rolling, lostInRestart)],
    });
    if (lostInRestart.count > 0) log(`FAIL: ${lostInRestart.count} requests sent during the rolling restart got no answer or 502/503/504`);
    return ok && rolling.ok && lostInRestart.count === 0 ? 0 : 1;
  } finally {
    await runCleanups(cleanups, log);
  }
}

/** SIGKILL of the primary's Patroni and PostgreSQL; the fault ends when the standby has been promoted. */
async function failover(cluster: Cluster, nodes: readonly KobanProcess[], faultsLog: string): Promise<void> {
  const old = await cluster.primary();
  if (old === null) throw new Error('no primary to kill');
  const exitsBefore = nodes.map((n) => n.exits.length);
  const startedAtMs = Date.now();
  cluster.killPgNode(old);
  log(`SIGKILL of ${old} (Patroni and its PostgreSQL); waiting for Patroni to promote the standby`);
  const promoted = await cluster.waitHealthy(RECOVERY_BOUND_MS, false);
  const endedAtMs = Date.now();
  const detail = promoted === null ? `${old} killed; no node promoted within ${RECOVERY_BOUND_MS / 1000} s` : `${old} killed; ${promoted} primary after ${((endedAtMs - startedAtMs) / 1000).toFixed(1)} s`;
  log(detail);
  // Koban must reconnect by itself: no node may exit, and the load must see acknowledgements again.
  const unexpectedExits = nodes.reduce((sum, n, i) => sum + n.exits.slice(exitsBefore[i]).filter((e) => !e.expected).length, 0);
  const record: FaultRecord = { kind: 'fault', fault: 'pg_failover', startedAtMs, endedAtMs: promoted === null ? startedAtMs : endedAtMs, detail, unexpectedExits, manualRestartAtMs: null };
  appendFileSync(faultsLog, `${JSON.stringify(record)}\n`);
}

interface RollingRestart { readonly ok: boolean; readonly startedAtMs: number; readonly endedAtMs: number }
const lostInRestart = { count: 0 };

/**
 * SIGTERM to each node in turn, start it again, wait until it is ready and back in HAProxy's rotation, then
 * the next: the rolling restart of a deployment. Each stop is a drain (src/http/drain.ts).
 */
async function rollingRestart(nodes: readonly KobanProcess[], faultsLog: string): Promise<RollingRestart> {
  const startedAtMs = Date.now();
  let ok = true;
  for (const [i, node] of nodes.entries()) {
    const before = node.exits.length;
    await node.stop(20_000, false);
    const exit = node.exits[before];
    log(`rolling restart: koban${i + 1} stopped by SIGTERM (exit ${exit?.code ?? exit?.signal}); starting it again`);
    if (exit?.code !== 0) ok = false;
    node.start();
    if (!(await node.waitReady(NODE_START_BOUND_MS))) {
      log(`rolling restart: koban${i + 1} did not become ready again`);
      ok = false;
      break;
    }
    await sleep(BACK_IN_ROTATION_MS);
  }
  const endedAtMs = Date.now();
  const detail = `SIGTERM and restart of koban1..${nodes.length}, one at a time${ok ? '' : ' (a node did not drain cleanly or come back)'}`;
  log(detail);
  const record: FaultRecord = { kind: 'fault', fault: 'rolling_restart', startedAtMs, endedAtMs, detail, unexpectedExits: nodes.reduce((sum, n) => sum + n.exits.filter((e) => !e.expected).length, 0), manualRestartAtMs: null };
  appendFileSync(faultsLog, `${JSON.stringify(record)}\n`);
  return { ok, startedAtMs, endedAtMs };
}

/** Requests sent during the rolling restart that it lost: no answer, or 502/503/504 (each retried by id by the load). */
function rollingRestartLines(attempts: readonly AttemptRecord[], rolling: RollingRestart, lost: { count: number }): string[] {
  const during = attempts.filter((a) => a.sentAtMs >= rolling.startedAtMs && a.sentAtMs <= rolling.endedAtMs);
  const failed = during.filter((a) => LOST_STATUSES.has(a.status));
  lost.count = failed.length;
  const lines = [`Rolling restart (${((rolling.endedAtMs - rolling.startedAtMs) / 1000).toFixed(1)} s): ${during.length} requests sent, ${failed.length} lost (no answer or 502/503/504)${failed.length === 0 ? '' : ':'}`];
  for (const a of failed.slice(0, 20)) lines.push(`      ${a.op} ${a.status} ${a.result}`);
  return lines;
}

/** SIGKILL of one Koban node, not restarted: HAProxy takes it out and the others carry the load. */
async function killKobanNode(nodes: readonly KobanProcess[], index: number, faultsLog: string): Promise<void> {
  const startedAtMs = Date.now();
  await nodes[index]?.kill();
  const detail = `SIGKILL of koban${index + 1} (left down)`;
  log(detail);
  const unexpectedExits = nodes.reduce((sum, n) => sum + n.exits.filter((e) => !e.expected).length, 0);
  const record: FaultRecord = { kind: 'fault', fault: 'node_kill', startedAtMs, endedAtMs: Date.now(), detail, unexpectedExits, manualRestartAtMs: null };
  appendFileSync(faultsLog, `${JSON.stringify(record)}\n`);
}

async function settle(url: string, walletIds: readonly string[]): Promise<void> {
  const deadline = Date.now() + SETTLE_BOUND_MS;
  let left = await unfinishedWork(url, walletIds);
  while (left > 0 && Date.now() < deadline) {
    await sleep(1_000);
    left = await unfinishedWork(url, walletIds);
  }
  log(left === 0 ? 'no staged work left' : `${left} operations still unfinished after ${SETTLE_BOUND_MS / 1000} s`);
}

/**
 * For each fault: the time without service (the longest stretch with no acknowledgement at all, from the
 * fault's start to the recovery bound after its end) and the requests sent in that stretch that were not
 * acknowledged, by answer.
 */
function serviceGaps(attempts: readonly AttemptRecord[], faults: readonly FaultRecord[]): string[] {
  const acknowledged = attempts.filter((a) => verdictOf(a) === 'ok').map((a) => a.answeredAtMs).sort((a, b) => a - b);
  const lines = ['Time without service (longest stretch with no acknowledged operation around each fault):'];
  for (const fault of faults) {
    const windowEnd = fault.endedAtMs + RECOVERY_BOUND_MS;
    const lastBefore = acknowledged.filter((t) => t <= fault.startedAtMs).at(-1) ?? fault.startedAtMs;
    const marks = [lastBefore, ...acknowledged.filter((t) => t > fault.startedAtMs && t <= windowEnd)];
    let from = lastBefore;
    let to = marks.length > 1 ? (marks[1] ?? windowEnd) : windowEnd;
    for (let i = 1; i < marks.length - 1; i++) {
      const a = marks[i] ?? 0;
      const b = marks[i + 1] ?? 0;
      if (b - a > to - from) [from, to] = [a, b];
    }
    const failed = attempts.filter((a) => a.sentAtMs >= from && a.sentAtMs < to && verdictOf(a) !== 'ok');
    const byAnswer = new Map<string, number>();
    for (const a of failed) byAnswer.set(`${a.op} ${a.status} ${a.result}`, (byAnswer.get(`${a.op} ${a.status} ${a.result}`) ?? 0) + 1);
    lines.push(`  ${fault.fault.padEnd(12)} ${((to - from) / 1000).toFixed(1).padStart(6)} s  ${failed.length} requests sent in it not acknowledged${failed.length === 0 ? '' : ' (retried by id):'}`);
    for (const [answer, count] of [...byAnswer].sort((a, b) => b[1] - a[1])) lines.push(`      ${String(count).padStart(5)}  ${answer}`);
  }
  return lines;
}

main().then((code) => process.exit(code), (error: unknown) => {
  process.stderr.write(`test:ha failed: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(2);
});
