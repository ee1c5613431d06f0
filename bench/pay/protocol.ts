/** Messages between bench/pay.ts and its load generator (a forked process, so its CPU is its own). */

export interface Credential { readonly apiKey: string; readonly apiSecret: string; readonly storeId: string; readonly terminalId: string }

export interface LoadSetup {
  /** The OPA-compatible listener (HTTPS, dev CA) and Koban's own API (wallet routes). */
  readonly opaBase: string;
  readonly walletBase: string | null;
  readonly caPath: string;
  readonly credential: Credential;
  /** JSON file: [{ token, csrf }] — customers' signed-in sessions on a remembered device. */
  readonly customersFile: string | null;
  readonly amountMinor: number;
}

/**
 * One measured cell. `closed`: `callers` loops, each awaiting its answer before the next request.
 * `open`: requests start on a fixed schedule (`ratePerSecond`) whatever the answers do; latency counts from
 * the scheduled start, so a stalled server is charged for the requests it delayed (no coordinated omission).
 * `work`: `payment` = mint a code through the wallet API, then charge it at the till; `charge` = charge codes
 * minted before the window; `noop` = the signed no-op route of the ceiling server.
 */
export interface CellSpec {
  readonly tag: string;
  readonly loop: 'closed' | 'open';
  readonly work: 'payment' | 'charge' | 'noop';
  readonly callers: number;
  readonly ratePerSecond: number;
  /** Closed loop: the warm-up also waits until every caller has finished one request (at most warmupMaxMs). */
  readonly warmupMs: number;
  /** The window lasts measureMs, longer if needed for minCompleted answers, never beyond measureMaxMs. */
  readonly measureMs: number;
  readonly minCompleted: number;
  readonly measureMaxMs: number;
  /** For `charge`: how many codes to mint before the warm-up (the cell ends early if they run out). */
  readonly premint: number;
  /** Open loop: most requests in flight before the generator counts the rest as not sent. */
  readonly inFlightMax: number;
  readonly path: string;
}

export interface CellResult {
  readonly tag: string;
  /** Completed in the window (successes and refusals). */
  readonly completed: number;
  readonly succeeded: number;
  readonly failures: Record<string, number>;
  /** Open loop: requests due in the window that could not be sent (in-flight cap reached). */
  readonly notSent: number;
  readonly offered: number;
  readonly windowMs: number;
  /** HdrHistograms in microseconds, compressed base64: mint+charge (or the one request), charge, mint. */
  readonly total: string;
  readonly charge: string;
  readonly mint: string;
  /** Open loop: latency from the actual send instead of the schedule (the uncorrected view). */
  readonly totalUncorrected: string;
}

export type ToLoad = { type: 'setup'; setup: LoadSetup } | { type: 'cell'; spec: CellSpec } | { type: 'go' } | { type: 'exit' };
export type FromLoad = { type: 'ready' } | { type: 'window-start' } | { type: 'window-end' } | { type: 'result'; result: CellResult } | { type: 'error'; message: string };
