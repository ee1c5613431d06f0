import type { Generated } from 'kysely';

export interface AuditTables {
  audit_events: {
    id: Generated<bigint>;
    occurred_at: Generated<Date>;
    actor_kind: 'operator' | 'customer' | 'system' | 'cli' | 'merchant_user';
    actor_id: string;
    action: string;
    target_kind: string | null;
    target_id: string | null;
    reason: string | null;
    details: unknown;
    ip: string | null;
    outcome: 'success' | 'denied' | 'failure';
    request_id: string | null;
  };
  audit_unsealed: { event_id: bigint };
  security_events_unsealed: { event_id: string; seq: bigint };
  audit_blocks: {
    block_no: bigint; previous_hash: string; hash: string; event_ids: bigint[]; security_event_ids: string[]; sealed_at: Generated<Date>;
  };
}
