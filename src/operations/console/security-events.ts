/**
 * The security-event view for operators (issue 14): customers' sign-in successes and failures, second
 * factors and their locks, factor changes, SMS budget refusals, forged or mismatching provider callbacks
 * and platform-wide alerts (`platform.sign_in_alert`) — the append-only `security_events` log, per customer or platform-wide, newest first with keyset
 * paging on `seq`. IP addresses and user agents are masked for roles without `customers.read_unmasked`.
 */
import type { Queryable } from '../../platform/db/database.ts';
import type { Masker } from './masking.ts';

export const SECURITY_EVENTS_PAGE_MAX = 200;
export const SECURITY_EVENTS_PAGE_DEFAULT = 50;

/** Named groups of event types, so an operator does not need to know every type. A type or a prefix ending in a dot works too. */
export const SECURITY_EVENT_GROUPS: Readonly<Record<string, readonly string[]>> = {
  sign_in: ['login.', 'login', 'passkey.', 'social.'],
  factors: ['factor.', 'pin.', 'step_up', 'passkey.'],
  locks: ['factor.locked', 'pin.locked', 'factor.unlocked'],
  contacts: ['contact.', 'recovery.', 'password.', 'signup.'],
  callbacks: ['callback.'],
  sms: ['sms.'],
  /** Platform-wide alerts with no customer, e.g. `platform.sign_in_alert` (issue 13). */
  platform: ['platform.'],
};

export interface SecurityEventQuery {
  readonly customerId: string | null;
  /** A group name, an event type, or a prefix ending in a dot. */
  readonly type: string | null;
  readonly outcome: 'success' | 'failure' | 'refused' | 'not_success' | null;
  readonly before: string | null;
  readonly limit: number;
}

export interface SecurityEventView {
  readonly seq: string; readonly id: string; readonly occurredAt: string; readonly type: string; readonly outcome: string; readonly actor: string;
  readonly customerId: string | null; readonly sessionId: string | null; readonly deviceRef: string | null; readonly ip: string | null; readonly userAgent: string | null;
  readonly reasons: string[]; readonly details: unknown;
}

interface Row { seq: bigint; id: string; occurred_at: Date; event_type: string; outcome: string; actor: string; customer_id: string | null; session_id: string | null; device_ref: string | null; ip: string | null; user_agent: string | null; reasons: string[]; details: unknown }

function typePatterns(type: string | null): string[] | null {
  if (type === null) return null;
  return [...(SECURITY_EVENT_GROUPS[type] ?? [type])];
}

export async function securityEvents(db: Queryable, query: SecurityEventQuery, masker: Masker): Promise<{ events: SecurityEventView[]; nextBefore: string | null }> {
  const limit = Math.max(1, Math.min(query.limit, SECURITY_EVENTS_PAGE_MAX));
  const result = await db.query<Row>(
    `select seq, id, occurred_at, event_type, outcome, actor, customer_id, session_id, device_ref, ip, user_agent, reasons, details from security_events
     where ($1::uuid is null or customer_id = $1)
       and ($2::text[] is null or exists (select 1 from unnest($2::text[]) as p(pattern)
             where event_type = p.pattern or (right(p.pattern, 1) = '.' and starts_with(event_type, p.pattern))))
       and ($3::text is null or outcome = $3 or ($3 = 'not_success' and outcome <> 'success'))
       and seq < $4::bigint
     order by seq desc limit $5`,
    [query.customerId, typePatterns(query.type), query.outcome, query.before ?? '9223372036854775807', limit],
  );
  const events = result.rows.map((row): SecurityEventView => ({
    seq: row.seq.toString(), id: row.id, occurredAt: row.occurred_at.toISOString(), type: row.event_type, outcome: row.outcome, actor: row.actor,
    customerId: row.customer_id, sessionId: row.session_id, deviceRef: row.device_ref, ip: masker.ip(row.ip), userAgent: masker.userAgent(row.user_agent),
    reasons: row.reasons, details: row.details,
  }));
  const last = events[events.length - 1];
  return { events, nextBefore: events.length === limit && last !== undefined ? last.seq : null };
}
