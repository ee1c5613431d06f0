/**
 * Top-ups whose confirmation never came (no webhook, no 3-D Secure return, a provider timeout) are asked about
 * by status query, with backoff and a bounded number of attempts. After the last attempt a card top-up is
 * voided at the acquirer (nothing was captured, so nothing was taken) and a bank top-up is marked failed;
 * either way it ends in exactly one of completed or failed.
 */
import type { WalletDeps } from './deps.ts';
import { advanceTopUp, finishTopUp, providerKey } from './settle.ts';
import type { TopUpRow } from './top-ups.ts';

export const RECONCILE_BATCH_MAX = 50;
const BACKOFF_MAX_MS = 60 * 60_000;

export interface ReconcileOptions {
  /** Look at every open top-up now, whatever its schedule (tests and operators). */
  readonly ignoreSchedule?: boolean;
  readonly limit?: number;
}

/** One round; returns how many top-ups it looked at. */
export async function reconcileTopUps(deps: WalletDeps, options: ReconcileOptions = {}): Promise<number> {
  const limit = Math.min(options.limit ?? RECONCILE_BATCH_MAX, RECONCILE_BATCH_MAX);
  const due = await deps.db.pool.query<{ id: string }>(
    `select id from top_ups where status in ('processing', 'requires_action') and ($1 or next_check_at <= now()) order by next_check_at limit $2`,
    [options.ignoreSchedule === true, limit]);
  for (const { id } of due.rows) {
    try {
      await reconcileOne(deps, id);
    } catch (error) {
      deps.log.error({ err: error, topUpId: id }, 'top-up reconciliation failed');
    }
  }
  return due.rows.length;
}

async function reconcileOne(deps: WalletDeps, id: string): Promise<void> {
  // Claiming the attempt first bounds the work even when the provider call below hangs or throws.
  const claimed = await deps.db.pool.query<{ reconcile_attempts: number }>(
    `update top_ups set reconcile_attempts = reconcile_attempts + 1, updated_at = now(),
       next_check_at = now() + make_interval(secs => least($2::double precision * power(2, reconcile_attempts), $3::double precision) / 1000)
     where id = $1 and status in ('processing', 'requires_action') returning reconcile_attempts`,
    [id, deps.config.reconcileDelayMs, BACKOFF_MAX_MS]);
  const attempts = claimed.rows[0]?.reconcile_attempts;
  if (attempts === undefined) return;
  const row = await advanceTopUp(deps, id);
  if (row === null || (row.status !== 'processing' && row.status !== 'requires_action')) return;
  if (attempts >= deps.config.reconcileAttemptsMax) await giveUp(deps, row);
}

async function giveUp(deps: WalletDeps, row: TopUpRow): Promise<void> {
  if (row.kind === 'card' && row.provider_ref !== null && deps.acquirer !== null) {
    const voided = await deps.acquirer.void({ authorizationId: row.provider_ref, idempotencyKey: providerKey(row.id, 'void') });
    // Refused means it moved on (captured, declined): the next read settles it either way.
    const after = await advanceTopUp(deps, row.id);
    if (!voided.ok && voided.error.kind === 'outcome_unknown') return;
    if (after !== null && (after.status === 'completed' || after.status === 'failed')) return;
  }
  deps.log.warn({ topUpId: row.id, kind: row.kind }, 'top-up not confirmed after the last status query; marked failed');
  await finishTopUp(deps, row.id, 'failed', 'not_confirmed');
}
