/** Reading the audit log for the console: newest first, filtered, paged by id. */
import type { Queryable } from '../../platform/db/database.ts';

export const AUDIT_PAGE_MAX = 200;

/**
 * Reads of customers' personal data, audited so it is known who looked at whom: their own category,
 * kept out of the default list so they do not bury the actions that changed something. (Reading the
 * audit log itself is not audited any more: every view wrote a row that buried real actions; the old
 * `audit.read` rows count as data access.)
 */
export const DATA_ACCESS_ACTIONS: readonly string[] = ['customer.viewed', 'console.searched', 'security_events.read', 'audit.read'];
export const AUDIT_CATEGORIES = ['actions', 'data_access', 'all'] as const;
export type AuditCategory = (typeof AUDIT_CATEGORIES)[number];

export interface AuditQuery {
  readonly targetKind: string | null;
  readonly targetId: string | null;
  /** An action, or a prefix ending in a dot (`case.`). */
  readonly action: string | null;
  readonly actorId: string | null;
  /** `actions` (what changed something; the default), `data_access` (reads of personal data) or `all`. */
  readonly category?: AuditCategory;
  /** Events with a smaller id only (the previous page's `nextBefore`); null from the newest. */
  readonly before: bigint | null;
  readonly limit: number;
}

export interface AuditEvent {
  readonly id: bigint; readonly occurredAt: Date; readonly actorKind: string; readonly actorId: string; readonly action: string;
  readonly targetKind: string | null; readonly targetId: string | null; readonly reason: string | null; readonly details: unknown;
  readonly ip: string | null; readonly outcome: string;
}

interface AuditRow {
  id: bigint; occurred_at: Date; actor_kind: string; actor_id: string; action: string; target_kind: string | null; target_id: string | null;
  reason: string | null; details: unknown; ip: string | null; outcome: string;
}

export async function readAuditEvents(db: Queryable, query: AuditQuery): Promise<AuditEvent[]> {
  const limit = Math.min(Math.max(query.limit, 1), AUDIT_PAGE_MAX);
  const result = await db.query<AuditRow>(
    `select id, occurred_at, actor_kind, actor_id, action, target_kind, target_id, reason, details, ip, outcome from audit_events
     where ($1::text is null or target_kind = $1) and ($2::text is null or target_id = $2) and id < $3::bigint
       and ($5::text is null or action = $5 or (right($5, 1) = '.' and starts_with(action, $5))) and ($6::text is null or actor_id = $6)
       and ($7::text = 'all' or (action = any($8::text[])) = ($7::text = 'data_access'))
     order by id desc limit $4`,
    [query.targetKind, query.targetId, (query.before ?? 9223372036854775807n).toString(), limit, query.action, query.actorId, query.category ?? 'actions', DATA_ACCESS_ACTIONS]);
  return result.rows.map((row) => ({
    id: row.id, occurredAt: row.occurred_at, actorKind: row.actor_kind, actorId: row.actor_id, action: row.action, targetKind: row.target_kind,
    targetId: row.target_id, reason: row.reason, details: row.details, ip: row.ip, outcome: row.outcome,
  }));
}
