/**
 * The two logs a fault run writes, one JSON object per line: the load generator's requests with their answers
 * (`requests.jsonl`) and the harness's fault timeline (`faults.jsonl`). The checker reads both; nothing else
 * connects the processes, so a run can be checked again later from its directory alone.
 */

/** The operations the load generator performs. Every one is retried by its id until an answer settles it. */
export type OpKind = 'pay' | 'refund' | 'cancel' | 'qr_pay' | 'topup';

/** One request and its answer. `status` 0 means no HTTP answer (reset, refused, timed out). */
export interface AttemptRecord {
  readonly kind: 'attempt';
  readonly op: OpKind;
  /** The client's id for the operation: merchantPaymentId, merchantRefundId or the top-up's idempotency key. */
  readonly opId: string;
  readonly attempt: number;
  readonly worker: string;
  /** The customer's wallet account this operation debits or credits. */
  readonly walletAccountId: string;
  readonly amountMinor: number;
  /** For refunds and cancels, the merchantPaymentId of the payment they reverse. */
  readonly paymentOpId?: string;
  readonly sentAtMs: number;
  readonly answeredAtMs: number;
  readonly status: number;
  /** The OPA resultInfo code, the problem code, the top-up status, or `network:<reason>`. */
  readonly result: string;
  /** The resource state the answer reported (payment status, refund status, top-up status), if any. */
  readonly state?: string;
  /** Part of a retry storm (many identical requests at once). */
  readonly storm?: boolean;
}

export type FaultName = 'kill' | 'pg_restart' | 'pg_pause' | 'blackhole' | 'reset' | 'storm';
export const FAULT_NAMES: readonly FaultName[] = ['kill', 'pg_restart', 'pg_pause', 'blackhole', 'reset', 'storm'];
/** The faults of the several-machine run (`npm run test:ha`, tools/ha/): a PostgreSQL node lost, a Koban node lost. */
export type HaFaultName = 'pg_failover' | 'node_kill' | 'rolling_restart';

/** One fault phase: when the fault started, when the harness removed it, and what it had to do by hand. */
export interface FaultRecord {
  readonly kind: 'fault';
  readonly fault: FaultName | HaFaultName;
  readonly startedAtMs: number;
  /** When the fault condition ended (Koban restarted after a kill, PostgreSQL resumed, the link healed). */
  readonly endedAtMs: number;
  readonly detail: string;
  /** Koban exited on its own during the phase (not by our SIGKILL). */
  readonly unexpectedExits: number;
  /** The harness restarted Koban because it stayed down: recovery needed a hand. */
  readonly manualRestartAtMs: number | null;
}

export type LogRecord = AttemptRecord | FaultRecord;

/** What an answer says about the operation. */
export type Verdict = 'ok' | 'failed' | 'unknown' | 'premature';

const INDETERMINATE_STATUSES = new Set([0, 408, 423, 425, 429]);
/** A 409 is "try again" only when it says so (in progress, busy); otherwise it is a final "no". */
const RETRY_CONFLICT = /progress|in_flight|busy|retry|pending/i;
/** Codes that say "try again", not "no": a refund of the same payment in flight, a rate limit. */
const RETRY_CODES = new Set(['THROTTLED_MULTIPLE_REFUND_REJECTED', 'RATE_LIMIT', 'MAINTENANCE_MODE', 'SERVICE_ERROR', 'INTERNAL_SERVER_ERROR']);
/** Payment states an answer may report for an operation that has not finished. */
const UNFINISHED_STATES = new Set(['CREATED', 'processing', 'requires_action', 'AUTHORIZED']);

/**
 * Reads an answer as the client must: a 2xx that reports a finished success is "ok", a 4xx that is not a
 * "retry later" is "failed" (the client stops and believes it), anything else — no answer, 5xx, 409, a rate
 * limit — is "unknown" and retried by id. A 2xx SUCCESS whose state is still unfinished is "premature": a
 * client reading only the result code would take it as paid.
 */
export function verdictOf(attempt: Pick<AttemptRecord, 'op' | 'status' | 'result' | 'state'>): Verdict {
  const { status, result, state } = attempt;
  if (INDETERMINATE_STATUSES.has(status) || status >= 500 || RETRY_CODES.has(result) || RETRY_CONFLICT.test(result)) return 'unknown';
  if (status >= 200 && status < 300) {
    if (attempt.op === 'topup') {
      if (state === 'completed') return 'ok';
      if (state === 'failed') return 'failed';
      return 'unknown';
    }
    if (state !== undefined && UNFINISHED_STATES.has(state)) return 'premature';
    if (state === 'REFUND_FAILED' || state === 'FAILED') return 'failed';
    return 'ok';
  }
  if (status >= 400 && status < 500) return 'failed';
  return 'unknown';
}

export function parseLog(text: string): LogRecord[] {
  const records: LogRecord[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    records.push(JSON.parse(line) as LogRecord);
  }
  return records;
}
