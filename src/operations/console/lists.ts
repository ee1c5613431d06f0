/**
 * Smaller read models for console screens: the case queue (by status and assignee), a rule's version
 * history, compensation batches and the flagged transfers waiting for one, and the operator directory
 * (names shown next to ids: who proposed, who is assigned).
 */
import type { Database } from '../../platform/db/database.ts';
import { isUuid } from '../../platform/ids.ts';
import { decodeCursor, pageLimit, pageAtSql, pageOf } from '../../platform/cursor.ts';
import { maskContact } from '../../identity/contacts/normalize.ts';
import type { Masker } from './masking.ts';
import { transferCodeName } from './accounts.ts';

const QUEUE_MAX = 200;

export type AssigneeFilter = { readonly kind: 'any' } | { readonly kind: 'none' } | { readonly kind: 'operator'; readonly operatorId: string };

/** Most recently active first, a page at a time (`before`: the previous page's `nextBefore`; a case worked meanwhile moves to the top). */
export async function caseQueue(db: Database, filter: { status: 'open' | 'closed' | null; assignee: AssigneeFilter; limit?: number; before?: string }, masker: Masker) {
  const limit = pageLimit(filter.limit);
  const before = decodeCursor(filter.before);
  const assigneeId = filter.assignee.kind === 'operator' && isUuid(filter.assignee.operatorId) ? filter.assignee.operatorId : null;
  const rows = await db.pool.query<{ id: string; account_id: string; status: string; source: string; assignee_id: string | null; alert_count: number; outcome: string | null;
    opened_at: Date; updated_at: Date; email: string | null; wallet_status: string | null; merchant_name: string | null; page_at: string }>(
    `select c.id, c.account_id, c.status, c.source, c.assignee_id, c.alert_count, c.outcome, c.opened_at, c.updated_at, ${pageAtSql('c.updated_at')} as page_at,
            (select value from customer_contacts k where k.customer_id::text = c.account_id and k.kind = 'email') as email,
            (select a.status from customer_wallets w join accounts a on a.id = w.account_id where w.customer_id::text = c.account_id) as wallet_status,
            -- A merchant's case (merchant_convergence) is named by the merchant.
            case when c.account_id ~ '^merchant:[0-9a-f-]{36}$' then (select m.name from merchants m where m.id = substr(c.account_id, 10)::uuid) end as merchant_name
     from cases c
     where ($1::text is null or c.status = $1)
       and case $2::text when 'none' then c.assignee_id is null when 'operator' then c.assignee_id = $3::uuid else true end
       and ($5::timestamptz is null or (c.updated_at, c.id) < ($5, $6::uuid))
     order by c.updated_at desc, c.id desc limit $4`,
    [filter.status, filter.assignee.kind, assigneeId, Math.min(limit, QUEUE_MAX) + 1, before?.at ?? null, before !== null && isUuid(before.id) ? before.id : null]);
  const page = pageOf(rows.rows, Math.min(limit, QUEUE_MAX), (c) => ({ at: c.page_at, id: c.id }));
  return { nextBefore: page.nextBefore, cases: page.items.map((c) => ({
    id: c.id, accountId: c.account_id, status: c.status, source: c.source, assigneeId: c.assignee_id, alertCount: c.alert_count, outcome: c.outcome,
    openedAt: c.opened_at.toISOString(), updatedAt: c.updated_at.toISOString(),
    customerLabel: c.email === null ? null : masker.masked ? maskContact('email', c.email) : c.email, walletStatus: c.wallet_status, merchantName: c.merchant_name,
  })) };
}

export async function ruleHistory(db: Database, ruleId: string) {
  const rows = await db.pool.query<{ version: number; enabled: boolean; action: string; params: Record<string, unknown>; reason: string; changed_by: string; changed_at: Date }>(
    'select version, enabled, action, params, reason, changed_by, changed_at from risk_rule_settings where rule_id = $1 order by version desc limit 200', [ruleId.slice(0, 64)]);
  return rows.rows.map((r) => ({ version: r.version, enabled: r.enabled, action: r.action, params: r.params, reason: r.reason, changedBy: r.changed_by, changedAt: r.changed_at.toISOString() }));
}

/** Compensation batches, newest first, a page at a time (`before`: the previous page's `nextBefore`). */
export async function compensationBatches(db: Database, query: { limit?: number; before?: string } = {}) {
  const limit = pageLimit(query.limit);
  const before = decodeCursor(query.before);
  const rows = await db.pool.query<{ id: string; title: string; status: string; created_by: string; created_at: Date; proposal_id: string | null; executed_at: Date | null; total_minor: bigint; item_count: number; page_at: string }>(
    `select id, title, status, created_by, created_at, proposal_id, executed_at, total_minor, item_count, ${pageAtSql('created_at')} as page_at from compensation_batches
     where ($2::timestamptz is null or (created_at, id) < ($2, $3::uuid)) order by created_at desc, id desc limit $1`,
    [limit + 1, before?.at ?? null, before !== null && isUuid(before.id) ? before.id : null]);
  const page = pageOf(rows.rows, limit, (b) => ({ at: b.page_at, id: b.id }));
  return {
    nextBefore: page.nextBefore,
    batches: page.items.map((b) => ({ id: b.id, title: b.title, status: b.status, createdBy: b.created_by, createdAt: b.created_at.toISOString(), proposalId: b.proposal_id,
      executedAt: b.executed_at?.toISOString() ?? null, totalMinor: b.total_minor.toString(), victims: b.item_count })),
  };
}

/**
 * Flagged transfers no batch has taken yet (what "create a batch from flags" would compensate), newest first, a page
 * at a time (`before`: the previous page's `nextBefore`). It used to stop at 500 without saying so.
 */
export async function pendingFlags(db: Database, query: { limit?: number; before?: string } = {}) {
  const limit = pageLimit(query.limit);
  const before = decodeCursor(query.before);
  const rows = await db.pool.query<{ transfer_id: string; case_id: string | null; reason: string; flagged_by: string; amount: bigint; code: number; created_at: Date; page_at: string }>(
    `select f.transfer_id, f.case_id, f.reason, f.flagged_by, t.amount, t.code, t.created_at, ${pageAtSql('t.created_at')} as page_at
     from fraud_flags f join transfers t on t.id = f.transfer_id
     where not exists (select 1 from compensated_transfers c where c.transfer_id = f.transfer_id)
       and ($2::timestamptz is null or (t.created_at, f.transfer_id) < ($2, $3::uuid))
     order by t.created_at desc, f.transfer_id desc limit $1`,
    [limit + 1, before?.at ?? null, before !== null && isUuid(before.id) ? before.id : null]);
  const page = pageOf(rows.rows, limit, (f) => ({ at: f.page_at, id: f.transfer_id }));
  return {
    nextBefore: page.nextBefore,
    flags: page.items.map((f) => ({ transferId: f.transfer_id, caseId: f.case_id, reason: f.reason, flaggedBy: f.flagged_by, amountMinor: f.amount.toString(),
      code: transferCodeName(f.code), createdAt: f.created_at.toISOString() })),
  };
}

export async function operatorDirectory(db: Database) {
  const rows = await db.pool.query<{ id: string; display_name: string; role: string; status: string }>('select id, display_name, role, status from operators order by display_name limit 1000');
  return rows.rows.map((o) => ({ id: o.id, displayName: o.display_name, role: o.role, status: o.status }));
}
