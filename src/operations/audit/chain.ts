/**
 * The audit chain's one definition of "the same events". PostgreSQL renders each event as a JSON
 * array (`json_build_array`: fixed field order, timestamps to the microsecond in UTC, jsonb details in
 * PostgreSQL's own stable text form), so the text hashed is exactly what is stored, whoever reads it.
 * A block hash is SHA-256 over a domain tag, the previous block's hash, the block number and the lines
 * of its events in order. Two sources are chained: operations' `audit_events` (lines start "a") and
 * identity's `security_events` (lines start "s").
 */
import { createHash } from 'node:crypto';

export const GENESIS_HASH = '0'.repeat(64);
const DOMAIN = 'koban-audit-chain-v1';
const UTC_MICROS = `'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'`;

export const AUDIT_EVENT_LINE = `json_build_array('a', id::text, to_char(occurred_at at time zone 'UTC', ${UTC_MICROS}), actor_kind, actor_id,
  action, target_kind, target_id, reason, details, ip, outcome, request_id)::text`;

export const SECURITY_EVENT_LINE = `json_build_array('s', id::text, seq::text, to_char(occurred_at at time zone 'UTC', ${UTC_MICROS}), event_type,
  outcome, actor, customer_id::text, session_id::text, device_ref, ip, user_agent, reasons, details)::text`;

export function blockHash(previousHash: string, blockNo: bigint, lines: readonly string[]): string {
  const hash = createHash('sha256');
  hash.update(`${DOMAIN}\n${previousHash}\n${blockNo.toString()}\n`);
  for (const line of lines) hash.update(`${line}\n`);
  return hash.digest('hex');
}
