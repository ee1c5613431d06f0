/**
 * The processes `npm run bench:pay` starts besides PostgreSQL: Koban itself (`node src/main.ts`, the same
 * entry point as `npm start`, configured only through its environment), the load generator and the
 * no-op ceiling server. Each is a child with its own pid, so /proc gives each its own CPU.
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CellResult, CellSpec, FromLoad, LoadSetup } from './protocol.ts';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = path.resolve(HERE, '..', '..');
const KOBAN_START_TIMEOUT_MS = 300_000;
const STOP_TIMEOUT_MS = 30_000;

export interface KobanProcess { readonly pid: number; readonly opaBase: string; readonly walletBase: string; stop(): Promise<void> }

/** Starts Koban and resolves once both listeners are up (its banner names the OPA listener last). */
export async function startKoban(env: Record<string, string>, log: (line: string) => void): Promise<KobanProcess> {
  const child = spawn(process.execPath, [...kobanNodeArgs(), path.join(REPO_ROOT, 'src/main.ts')], { cwd: REPO_ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const stderr: string[] = [];
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr.push(chunk.toString('utf8'));
    if (stderr.length > 200) stderr.shift();
  });
  // With KOBAN_WORKERS above 1 the primary says on stderr when every worker serves (src/workers.ts).
  const workers = Number(env.KOBAN_WORKERS ?? 1);
  const opaBase = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('Koban did not start in time')), KOBAN_START_TIMEOUT_MS);
    const check = (): void => {
      const match = /Merchant API \(OPA\)\s+(https?:\/\/\S+)/.exec(output);
      if (match?.[1] === undefined || (workers > 1 && !/Koban: \d+ workers serving/.test(stderr.join('')))) return;
      clearTimeout(timer);
      resolve(match[1]);
    };
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
      check();
    });
    child.stderr?.on('data', check);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`Koban exited (${code}) before it listened:\n${output}\n${stderr.join('')}`));
    });
  });
  // From here on Koban's stdout (its warn-level log) is drained, not kept: a long run must not grow our memory.
  child.stdout?.removeAllListeners('data');
  child.stdout?.resume();
  const walletBase = /API\s+(http:\/\/\S+)/.exec(output)?.[1] ?? `http://${env.KOBAN_HOST}:${env.KOBAN_PORT}`;
  log(`  Koban pid ${child.pid}: API ${walletBase}, OPA ${opaBase}`);
  return { pid: child.pid ?? -1, opaBase, walletBase, stop: () => stopChild(child, 'SIGTERM') };
}

/**
 * Node options for Koban's process alone, from KOBAN_BENCH_KOBAN_NODE_ARGS (space-separated), e.g.
 * `--cpu-prof --cpu-prof-dir=/tmp/prof` (which NODE_OPTIONS refuses); the profile is written when Koban exits.
 */
function kobanNodeArgs(): string[] {
  return (process.env.KOBAN_BENCH_KOBAN_NODE_ARGS ?? '').split(' ').filter((arg) => arg !== '');
}

async function stopChild(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}

export interface LoadProcess { readonly pid: number; run(spec: CellSpec, onWindowStart: () => Promise<void>, onWindowEnd: () => Promise<void>): Promise<CellResult>; stop(): Promise<void> }

export async function startLoad(setup: LoadSetup): Promise<LoadProcess> {
  const child = fork(path.join(HERE, 'loadgen.ts'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const exitedEarly = once(child, 'exit').then(([code]) => { throw new Error(`load generator exited (${String(code)})`); });
  exitedEarly.catch(() => undefined);
  const ready = waitFor(child, (m) => m.type === 'ready');
  child.send({ type: 'setup', setup });
  await Promise.race([ready, exitedEarly]);
  return {
    pid: child.pid ?? -1,
    async run(spec, onWindowStart, onWindowEnd) {
      return new Promise<CellResult>((resolve, reject) => {
        const onMessage = (message: FromLoad) => {
          if (message.type === 'window-start') void onWindowStart().then(() => child.send({ type: 'go' }), reject);
          else if (message.type === 'window-end') void onWindowEnd().catch(reject);
          else if (message.type === 'result') {
            child.off('message', onMessage);
            resolve(message.result);
          } else if (message.type === 'error') {
            child.off('message', onMessage);
            reject(new Error(`load generator: ${message.message}`));
          }
        };
        child.on('message', onMessage);
        child.send({ type: 'cell', spec });
      });
    },
    stop: () => stopChild(child, 'SIGTERM'),
  };
}

function waitFor(child: ChildProcess, match: (message: FromLoad) => boolean): Promise<FromLoad> {
  return new Promise((resolve) => {
    const onMessage = (message: FromLoad) => {
      if (!match(message)) return;
      child.off('message', onMessage);
      resolve(message);
    };
    child.on('message', onMessage);
  });
}

export interface NoopServer { readonly pid: number; readonly base: string; stop(): Promise<void> }

export async function startNoopServer(port: number, tlsDir: string, credential: { apiKey: string; apiSecret: string; merchantId: string }): Promise<NoopServer> {
  const child = fork(path.join(HERE, 'noop-server.ts'), [String(port), tlsDir, credential.apiKey, credential.apiSecret, credential.merchantId], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('exit', (code) => reject(new Error(`no-op server exited (${String(code)})`)));
  });
  return { pid: child.pid ?? -1, base: `https://127.0.0.1:${port}`, stop: () => stopChild(child, 'SIGTERM') };
}
