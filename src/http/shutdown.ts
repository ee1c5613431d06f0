/**
 * Bounded shutdown (issues 10 and 12): SIGINT or SIGTERM stops Koban within `graceMs` plus a short
 * margin, whatever is in flight. `stop` closes the listeners (no new connections; open notification
 * streams are ended by their own preClose hook), waits for in-flight requests and closes the database.
 * If that has not finished after `graceMs`, every remaining connection is destroyed; if it still has
 * not finished a moment later (a request stuck on a database that does not answer), the process exits
 * with status 1. A second signal exits at once.
 */
import type { Server } from 'node:http';

export interface ShutdownOptions {
  readonly graceMs: number;
  /** Closes everything in order; resolves when Koban is fully stopped. */
  readonly stop: () => Promise<void>;
  /** The listening servers, whose connections are destroyed when the grace period is over. */
  readonly servers: () => readonly Server[];
  readonly log: (message: string, level: 'info' | 'warn') => void;
  readonly exit?: (code: number) => void;
  /**
   * Graceful drain behind a load balancer (src/http/drain.ts): `begin` makes /readyz fail at once, and
   * `stop` starts `delayMs` later, once the balancer has seen it. The delay is part of `graceMs`.
   */
  readonly drain?: { readonly delayMs: number; begin(): void };
  /** Which signals stop Koban (default SIGINT and SIGTERM); a cluster worker listens to its primary's SIGTERM only. */
  readonly signals?: readonly NodeJS.Signals[];
}

/** After the connections are destroyed, how long closing may still take before the process exits anyway. */
export const FORCED_EXIT_MARGIN_MS = 2_000;

export function stopOnSignals(options: ShutdownOptions): void {
  const exit = options.exit ?? ((code: number) => process.exit(code));
  let stopping = false;
  const onSignal = (signal: string): void => {
    if (stopping) {
      options.log(`${signal} again: exiting now`, 'warn');
      exit(1);
      return;
    }
    stopping = true;
    options.drain?.begin();
    const delayMs = options.drain?.delayMs ?? 0;
    options.log(`${signal}: stopping (${delayMs > 0 ? `draining: /readyz fails, listeners close in ${delayMs} ms; ` : ''}in-flight requests get ${options.graceMs} ms in all)`, 'info');
    void stopWithin(options, exit, delayMs);
  };
  const signals = options.signals ?? ['SIGINT', 'SIGTERM'];
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => { if (signals.includes(signal)) onSignal(signal); });
  }
}

async function stopWithin(options: ShutdownOptions, exit: (code: number) => void, delayMs: number): Promise<void> {
  const forceClose = setTimeout(() => {
    options.log(`still stopping after ${options.graceMs} ms: closing every open connection`, 'warn');
    for (const server of options.servers()) server.closeAllConnections();
  }, options.graceMs);
  const forceExit = setTimeout(() => {
    options.log('could not stop cleanly in time: exiting', 'warn');
    exit(1);
  }, options.graceMs + FORCED_EXIT_MARGIN_MS);
  try {
    if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
    await options.stop();
    clearTimeout(forceClose);
    clearTimeout(forceExit);
    exit(0);
  } catch (error) {
    options.log(`stopping failed: ${error instanceof Error ? error.message : String(error)}`, 'warn');
    exit(1);
  }
}
