/**
 * Per-terminal throttle on customer-code guessing (issue 14: 300 random codes from one till in 0.4 s were all
 * evaluated). Every unknown, expired or used code a terminal presents counts against it, in PostgreSQL so every
 * node sees the same count. From `slowDownFrom` failures within the window each further code must wait
 * (doubling from `slowDownBaseMs`, at most a minute; `terminal_slowed_down` 429, not evaluated); at `lockAt`
 * the terminal locks (`terminal_locked` 423, nothing evaluated) until an operator unlocks it, and the risk
 * engine records a `terminal_code_guessing` signal operators see. Attempts refused while slowed down count
 * too: a till that keeps hammering through the wait is not a cashier re-scanning a crumpled code. A right code
 * does not reset the count, so an attacker cannot launder guesses with one real code.
 */
import { withTransaction, type Queryable } from '../../platform/db/database.ts';
import { KobanError, isKobanError } from '../../platform/errors.ts';
import { recordAudit, type AuditActor } from '../../operations/audit/audit-log.ts';
import type { PaymentsDeps } from '../deps.ts';

const CODE_REFUSALS = new Set(['payment_code_not_found', 'payment_code_expired', 'payment_code_used']);
const SLOW_DOWN_MAX_MS = 60_000;

export interface ThrottleRow { failures: number; last_failure_at: Date; locked_at: Date | null; window_started_at: Date }

/**
 * Refuses a locked or slowed-down terminal before its code is looked at; a refusal while slowed down counts as a failure.
 * `known`: the terminal's row as read a moment ago with the payment's other facts (null: none), else read here.
 */
export async function requireTerminalNotThrottled(deps: PaymentsDeps, terminalId: string, known?: ThrottleRow | null): Promise<void> {
  const row = known !== undefined ? known : (await deps.db.pool.query<ThrottleRow>({ name: 'payments_terminal_throttle',
    text: 'select failures, last_failure_at, locked_at, window_started_at from terminal_code_failures where terminal_id = $1', values: [terminalId] })).rows[0];
  if (row == null) return;
  if (row.locked_at !== null) throw lockedError(terminalId);
  const limits = deps.config.terminalCodeFailures;
  const now = deps.now();
  if (now.getTime() - row.window_started_at.getTime() >= limits.windowMs) return;
  if (row.failures < limits.slowDownFrom) return;
  const waitMs = slowDownMs(row.failures, limits) - (now.getTime() - row.last_failure_at.getTime());
  if (waitMs <= 0) return;
  await countCodeFailure(deps, terminalId);
  throw new KobanError('terminal_slowed_down', { extensions: { retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)) } });
}

/** Runs the code check; a code refusal is counted against the terminal (and may lock it) before it is rethrown. */
export async function countingCodeFailures<T>(deps: PaymentsDeps, terminalId: string, check: () => T): Promise<T> {
  try {
    return check();
  } catch (error) {
    if (isKobanError(error) && CODE_REFUSALS.has(error.code)) await countCodeFailure(deps, terminalId);
    throw error;
  }
}

function slowDownMs(failures: number, limits: PaymentsDeps['config']['terminalCodeFailures']): number {
  const doublings = Math.min(16, failures - limits.slowDownFrom);
  return Math.min(SLOW_DOWN_MAX_MS, limits.slowDownBaseMs * 2 ** doublings);
}

/**
 * One statement: a failure outside the window starts a new one; the statement that reaches `lockAt` locks the
 * terminal (the row lock orders concurrent failures, so exactly one sees the count reach it) and raises the
 * signal. Throws `terminal_locked` when the terminal is (now) locked.
 */
async function countCodeFailure(deps: PaymentsDeps, terminalId: string): Promise<void> {
  const limits = deps.config.terminalCodeFailures;
  const now = deps.now();
  const windowStart = new Date(now.getTime() - limits.windowMs);
  const counted = (await deps.db.pool.query<{ failures: number; locked_at: Date | null }>(
    `insert into terminal_code_failures (terminal_id, failures, window_started_at, last_failure_at) values ($1, 1, $2, $2)
     on conflict (terminal_id) do update set
       failures = case when terminal_code_failures.locked_at is null and terminal_code_failures.window_started_at <= $3 then 1 else terminal_code_failures.failures + 1 end,
       window_started_at = case when terminal_code_failures.locked_at is null and terminal_code_failures.window_started_at <= $3 then $2 else terminal_code_failures.window_started_at end,
       last_failure_at = $2,
       locked_at = case when terminal_code_failures.locked_at is not null then terminal_code_failures.locked_at
                        when terminal_code_failures.window_started_at > $3 and terminal_code_failures.failures + 1 >= $4 then $2 end
     returning failures, locked_at`, [terminalId, now, windowStart, limits.lockAt])).rows[0];
  if (counted === undefined || counted.locked_at === null) return;
  if (counted.failures === limits.lockAt) {
    await deps.risk.recordSignal?.({ signal: 'terminal_code_guessing', accountId: null, ref: terminalId,
      message: `till ${terminalId} locked after ${limits.lockAt} unknown, expired or used codes` });
    deps.log.warn({ terminalId, failures: counted.failures }, 'till locked after repeated code failures');
  }
  throw lockedError(terminalId);
}

function lockedError(terminalId: string): KobanError {
  return new KobanError('terminal_locked', { extensions: { terminalId } });
}

export interface LockedTerminal { terminalId: string; failures: number; lockedAt: Date }

/** Terminals locked now, newest first (the console's merchant page and its alerts). */
export async function lockedTerminals(db: Queryable, limit = 200): Promise<LockedTerminal[]> {
  const rows = await db.query<{ terminal_id: string; failures: number; locked_at: Date }>(
    'select terminal_id, failures, locked_at from terminal_code_failures where locked_at is not null order by locked_at desc limit $1', [limit]);
  return rows.rows.map((row) => ({ terminalId: row.terminal_id, failures: row.failures, lockedAt: row.locked_at }));
}

/** An operator lifts the lock (and the count) with a reason; audited in the same transaction. */
export async function unlockTerminal(deps: PaymentsDeps, terminalId: string, actor: AuditActor, reason: string, context: { ip: string | null; requestId: string | null }): Promise<void> {
  await withTransaction(deps.db, async (client) => {
    const unlocked = await client.query<{ failures: number; locked_at: Date }>(
      `update terminal_code_failures set failures = 0, locked_at = null, window_started_at = $2, unlocked_by = $3, unlocked_at = $2
       where terminal_id = $1 and locked_at is not null returning failures, locked_at`, [terminalId, deps.now(), `${actor.kind}:${actor.id}`]);
    if (unlocked.rowCount !== 1) throw new KobanError('terminal_not_locked', { detail: `terminal ${terminalId} is not locked` });
    await recordAudit(client, { actor, action: 'terminal.unlocked', target: { kind: 'terminal', id: terminalId }, reason, outcome: 'success', ip: context.ip, requestId: context.requestId });
  });
}
