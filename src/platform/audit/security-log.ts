/**
 * The security audit log (append-only table `security_events`, migration 0010). Written inside the
 * transaction of the event it records, so a recorded event happened and a happened event is recorded.
 * A failed attempt that changes nothing is written on its own (there is no transaction to join).
 */
import { createHash } from 'node:crypto';
import type { Queryable } from '../db/database.ts';
import { uuidv7 } from '../ids.ts';
import { assert } from '../assert.ts';

export type SecurityOutcome = 'success' | 'failure' | 'refused';
export type SecurityActor = 'customer' | 'anonymous' | 'system';

/** Where a request came from, as far as Koban can tell. */
export interface RequestOrigin {
  readonly ip: string | null;
  readonly userAgent: string | null;
  /** The raw device cookie value, if the request had one; only a short hash of it is logged. */
  readonly deviceToken: string | null;
}

export interface SecurityEvent {
  readonly type: string;
  readonly outcome: SecurityOutcome;
  readonly actor: SecurityActor;
  readonly customerId?: string | null;
  readonly sessionId?: string | null;
  readonly origin?: RequestOrigin | null;
  readonly reasons?: readonly string[];
  readonly details?: Readonly<Record<string, string | number | boolean | null>>;
}

const EVENT_TYPE = /^[a-z][a-z0-9_.]{1,63}$/;
export const REASONS_MAX = 16;
const USER_AGENT_LENGTH_MAX = 512;
const IP_LENGTH_MAX = 64;

export function deviceRef(deviceToken: string | null): string | null {
  if (deviceToken === null) return null;
  return createHash('sha256').update(deviceToken).digest('hex').slice(0, 16);
}

export async function recordSecurityEvent(db: Queryable, event: SecurityEvent): Promise<void> {
  assert(EVENT_TYPE.test(event.type), `security event type ${event.type}`);
  const reasons = event.reasons ?? [];
  assert(reasons.length <= REASONS_MAX, 'too many reasons on a security event');
  const origin = event.origin ?? null;
  await db.query(
    `insert into security_events (id, event_type, outcome, actor, customer_id, session_id, device_ref, ip, user_agent, reasons, details)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
    [
      uuidv7(), event.type, event.outcome, event.actor, event.customerId ?? null, event.sessionId ?? null,
      deviceRef(origin?.deviceToken ?? null),
      origin?.ip?.slice(0, IP_LENGTH_MAX) ?? null,
      origin?.userAgent?.slice(0, USER_AGENT_LENGTH_MAX) ?? null,
      reasons, JSON.stringify(event.details ?? {}),
    ],
  );
}
