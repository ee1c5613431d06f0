/**
 * Appending to the audit log. One INSERT on the caller's path (inside the caller's transaction when
 * one is passed, so the action and its audit entry commit or vanish together); hashing happens later
 * in the sealer. Never pass a secret, token, password or PAN in `details`.
 */
import { assert } from '../../platform/assert.ts';
import type { Database, Queryable } from '../../platform/db/database.ts';

export type ActorKind = 'operator' | 'customer' | 'system' | 'cli' | 'merchant_user';
export type AuditOutcome = 'success' | 'denied' | 'failure';

export interface AuditActor {
  readonly kind: ActorKind;
  readonly id: string;
}

export interface AuditEntry {
  readonly actor: AuditActor;
  /** Dotted lower-case verb, e.g. `switch.changed`, `case.account_frozen`, `operator.sign_in`. */
  readonly action: string;
  readonly target?: { readonly kind: string; readonly id: string } | null;
  readonly reason?: string | null;
  readonly details?: Readonly<Record<string, unknown>>;
  readonly ip?: string | null;
  readonly outcome: AuditOutcome;
  readonly requestId?: string | null;
}

export const AUDIT_LIMITS = { reasonLengthMax: 2000, detailsBytesMax: 16_384 } as const;
const ACTION = /^[a-z][a-z0-9_.]{0,99}$/;

export interface AuditLog {
  record(entry: AuditEntry, client?: Queryable): Promise<void>;
}

export function createAuditLog(db: Database): AuditLog {
  return {
    record: (entry, client) => recordAudit(client ?? db.pool, entry),
  };
}

export async function recordAudit(client: Queryable, entry: AuditEntry): Promise<void> {
  assert(ACTION.test(entry.action), `audit action ${entry.action} is a dotted lower-case name`);
  assert(entry.actor.id.length > 0 && entry.actor.id.length <= 200, 'an audit actor has an id');
  const details = JSON.stringify(entry.details ?? {}, (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value));
  // Oversized details are cut, never dropped: the event itself must still be recorded.
  const boundedDetails = details.length <= AUDIT_LIMITS.detailsBytesMax ? details : JSON.stringify({ truncated: details.slice(0, 1000) });
  const reason = entry.reason === undefined || entry.reason === null ? null : entry.reason.slice(0, AUDIT_LIMITS.reasonLengthMax);
  await client.query(
    `insert into audit_events (actor_kind, actor_id, action, target_kind, target_id, reason, details, ip, outcome, request_id)
     values ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9, $10)`,
    [entry.actor.kind, entry.actor.id, entry.action, entry.target?.kind ?? null, entry.target?.id ?? null, reason, boundedDetails,
      entry.ip?.slice(0, 64) ?? null, entry.outcome, entry.requestId?.slice(0, 64) ?? null],
  );
}
