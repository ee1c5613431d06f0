/**
 * Koban as a real child process (`node src/main.ts`), as an operator runs it: started, SIGKILLed, started
 * again. Output goes to files in the run directory; every exit is recorded so the harness can tell its own
 * SIGKILL from Koban dying by itself.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const MAIN = path.join(REPO_ROOT, 'src/main.ts');
const READY_POLL_MS = 200;
const PROBE_TIMEOUT_MS = 2_000;

export interface ExitRecord { readonly atMs: number; readonly code: number | null; readonly signal: string | null; readonly expected: boolean }

export interface KobanProcess {
  start(): void;
  /** SIGKILL, as the kernel's OOM killer or a pulled plug would; resolves once the process is gone. */
  kill(): Promise<void>;
  /** Polls /readyz until 200; false if the bound passes first. */
  waitReady(boundMs: number): Promise<boolean>;
  readonly running: boolean;
  readonly exits: readonly ExitRecord[];
  /** Graceful stop (SIGTERM), then SIGKILL after the bound. `last: false` keeps the log open for a start() after it (a rolling restart). */
  stop(boundMs: number, last?: boolean): Promise<void>;
}

/** `onSpawn`: Koban runs in its own process group, handed over so a watchdog can kill it if the harness dies. */
export function kobanProcess(input: { env: NodeJS.ProcessEnv; baseUrl: string; logDir: string; onSpawn: (pgid: number) => void }): KobanProcess {
  let child: ChildProcess | null = null;
  let expectingExit = false;
  let starts = 0;
  const exits: ExitRecord[] = [];
  const output = createWriteStream(path.join(input.logDir, 'koban.log'), { flags: 'a' });

  const exited = (target: ChildProcess): Promise<void> => new Promise((resolve) => {
    if (target.exitCode !== null || target.signalCode !== null) resolve();
    else target.once('exit', () => resolve());
  });

  return {
    start() {
      starts++;
      output.write(`\n===== start ${starts} at ${new Date().toISOString()} =====\n`);
      expectingExit = false;
      const started = spawn(process.execPath, [MAIN], { cwd: REPO_ROOT, env: input.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
      if (started.pid !== undefined) input.onSpawn(started.pid);
      started.stdout?.pipe(output, { end: false });
      started.stderr?.pipe(output, { end: false });
      started.on('exit', (code, signal) => {
        exits.push({ atMs: Date.now(), code, signal, expected: expectingExit });
        output.write(`===== exit code ${code} signal ${signal}${expectingExit ? '' : ' (unexpected)'} at ${new Date().toISOString()} =====\n`);
        if (child === started) child = null;
      });
      child = started;
    },
    async kill() {
      const target = child;
      if (target === null) return;
      expectingExit = true;
      target.kill('SIGKILL');
      await exited(target);
    },
    async waitReady(boundMs) {
      const deadline = Date.now() + boundMs;
      while (Date.now() < deadline) {
        if (child !== null && (await probe(`${input.baseUrl}/readyz`))) return true;
        await new Promise((resolve) => setTimeout(resolve, READY_POLL_MS));
      }
      return false;
    },
    get running() {
      return child !== null;
    },
    exits,
    async stop(boundMs, last = true) {
      const target = child;
      if (target !== null) {
        expectingExit = true;
        target.kill('SIGTERM');
        const timer = setTimeout(() => target.kill('SIGKILL'), boundMs);
        await exited(target);
        clearTimeout(timer);
      }
      if (last) output.end();
    },
  };
}

async function probe(url: string): Promise<boolean> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
    await response.arrayBuffer();
    return response.status === 200;
  } catch {
    return false;
  }
}
