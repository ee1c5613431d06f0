/**
 * Server-side sessions (SES-01..04): a 256-bit random token in the cookie, only its SHA-256 in the
 * database. A new token at sign-in and at every step-up (the old one dies at once), an idle timeout
 * and an absolute timeout checked in the same statement that marks the session used.
 */
import type { Queryable } from '../../platform/db/database.ts';
import { uuidv7 } from '../../platform/ids.ts';
import type { RequestOrigin } from '../../platform/audit/security-log.ts';
import { randomToken, sha256 } from '../secrets.ts';

export type AuthMethod = 'password' | 'sms' | 'totp' | 'passkey' | 'recovery_code' | 'social' | 'signup';

export interface Session {
  readonly id: string;
  readonly customerId: string;
  readonly deviceId: string | null;
  /**
   * The device as the risk engine knows it on every path (issue 13: one device identity): the SHA-256 (hex)
   * of the device cookie, which sign-in reports too. Null when the session has no remembered device.
   */
  readonly deviceKey: string | null;
  readonly authMethods: readonly AuthMethod[];
  /** The customer pays with a passkey (payment-passkey.ts): read with the session, so a payment costs no extra statement. */
  readonly paysWithPasskey: boolean;
  /** The cookie value this request presented (needed to derive the CSRF token). */
  readonly token: string;
}

/**
 * Whether the customer pays with a passkey (identity's payment-passkey.ts), as SQL over a `customers` row
 * aliased `c`: a passkey, and no opt-out. Here because the session's one statement reads it.
 */
export const PAYS_WITH_PASSKEY_SQL = '(not c.payment_passkey_opt_out and exists (select 1 from passkeys pk where pk.customer_id = c.id))';

export interface SessionTimeouts {
  readonly idleMs: number;
  readonly absoluteMs: number;
}

export const SESSIONS_LIST_MAX = 100;

export async function createSession(db: Queryable, input: { customerId: string; deviceId: string | null; authMethods: readonly AuthMethod[]; origin: RequestOrigin }): Promise<{ id: string; token: string }> {
  const token = randomToken();
  const id = uuidv7();
  await db.query(
    `insert into sessions (id, customer_id, token_hash, device_id, auth_methods, ip, user_agent) values ($1, $2, $3, $4, $5, $6, $7)`,
    [id, input.customerId, sha256(token), input.deviceId, [...new Set(input.authMethods)], input.origin.ip, input.origin.userAgent?.slice(0, 512) ?? null],
  );
  return { id, token };
}

/** What the guard needs to hold a session to its device key (device-proof.ts). */
export interface SessionBinding {
  /** RFC 7638 thumbprint of the device key, or null while the session is not bound. */
  readonly keyThumbprint: string | null;
  /** Milliseconds since the last accepted proof (null: none yet). */
  readonly proofAgeMs: number | null;
  readonly proofNetwork: string | null;
}

/** The most a session's stored last use may lag behind its real one: a minute, or 1/30 of a short idle timeout. */
export const TOUCH_SLACK_MAX_MS = 60_000;

export function touchSlackMs(idleMs: number): number {
  return Math.min(TOUCH_SLACK_MAX_MS, Math.floor(idleMs / 30));
}

/**
 * Looks the token up and marks the session used, unless it is revoked, idle too long or too old. The use is
 * written only when the stored one is older than the slack (`touchSlackMs`): rewriting the row on every request
 * was 9 % of a code mint's server time (issue 11). The idle check reads the stored value, so a session may end
 * up to the slack before its idle timeout, never after it.
 */
export async function authenticateToken(db: Queryable, token: string, timeouts: SessionTimeouts): Promise<(Session & { readonly binding: SessionBinding }) | null> {
  const result = await db.query<{ id: string; customer_id: string; device_id: string | null; device_key: string | null; auth_methods: AuthMethod[]; pays_with_passkey: boolean; device_key_thumbprint: string | null; proof_age_ms: number | null; proof_network: string | null }>({
    name: 'identity_authenticate_session',
    text: `with live as (
       select s.id, s.customer_id, s.device_id, s.auth_methods, s.device_key_thumbprint, s.proof_at, s.proof_network, s.last_seen_at, ${PAYS_WITH_PASSKEY_SQL} as pays_with_passkey
         from sessions s join customers c on c.id = s.customer_id
        where s.token_hash = $1 and s.revoked_at is null and c.status = 'active'
          and s.last_seen_at > now() - make_interval(secs => $2::double precision / 1000)
          and s.created_at > now() - make_interval(secs => $3::double precision / 1000)
     ), touched as (
       update sessions t set last_seen_at = now() from live
        where t.id = live.id and live.last_seen_at <= now() - make_interval(secs => $4::double precision / 1000)
     )
     select id, customer_id, device_id, (select encode(d.device_hash, 'hex') from devices d where d.id = live.device_id) as device_key, auth_methods, pays_with_passkey,
       device_key_thumbprint, (extract(epoch from now() - proof_at) * 1000)::float8 as proof_age_ms, proof_network
       from live`,
    values: [sha256(token), timeouts.idleMs, timeouts.absoluteMs, touchSlackMs(timeouts.idleMs)],
  });
  const row = result.rows[0];
  if (row === undefined) return null;
  return {
    id: row.id, customerId: row.customer_id, deviceId: row.device_id, deviceKey: row.device_key, authMethods: row.auth_methods, paysWithPasskey: row.pays_with_passkey, token,
    binding: { keyThumbprint: row.device_key_thumbprint, proofAgeMs: row.proof_age_ms, proofNetwork: row.proof_network },
  };
}

/** The live session a token names (the one sign-in just issued), or null. */
export async function sessionIdOfToken(db: Queryable, token: string): Promise<string | null> {
  const result = await db.query<{ id: string }>('select id from sessions where token_hash = $1 and revoked_at is null', [sha256(token)]);
  return result.rows[0]?.id ?? null;
}

/** A new token for the same session; the old token stops working in the same statement. */
export async function rotateSession(db: Queryable, sessionId: string, addedMethod: AuthMethod | null): Promise<string> {
  const token = randomToken();
  const result = await db.query(
    `update sessions set token_hash = $2, rotated_at = now(),
       auth_methods = case when $3::text is null or $3 = any(auth_methods) or cardinality(auth_methods) >= 4 then auth_methods else auth_methods || $3::text end
     where id = $1 and revoked_at is null`,
    [sessionId, sha256(token), addedMethod],
  );
  if (result.rowCount !== 1) throw new Error('rotating a session that is not live');
  return token;
}

export async function revokeSession(db: Queryable, customerId: string, sessionId: string): Promise<boolean> {
  const result = await db.query('update sessions set revoked_at = now() where id = $1 and customer_id = $2 and revoked_at is null', [sessionId, customerId]);
  return result.rowCount === 1;
}

export async function revokeAllSessions(db: Queryable, customerId: string, exceptSessionId: string | null = null): Promise<number> {
  const result = await db.query(
    'update sessions set revoked_at = now() where customer_id = $1 and revoked_at is null and ($2::uuid is null or id <> $2)',
    [customerId, exceptSessionId],
  );
  return result.rowCount ?? 0;
}

export interface SessionView {
  readonly id: string;
  readonly createdAt: Date;
  readonly lastSeenAt: Date;
  readonly ip: string | null;
  readonly userAgent: string | null;
  readonly authMethods: readonly string[];
}

export async function listSessions(db: Queryable, customerId: string, timeouts: SessionTimeouts): Promise<SessionView[]> {
  const result = await db.query<{ id: string; created_at: Date; last_seen_at: Date; ip: string | null; user_agent: string | null; auth_methods: string[] }>(
    `select id, created_at, last_seen_at, ip, user_agent, auth_methods from sessions
     where customer_id = $1 and revoked_at is null
       and last_seen_at > now() - make_interval(secs => $2::double precision / 1000)
       and created_at > now() - make_interval(secs => $3::double precision / 1000)
     order by last_seen_at desc limit $4`,
    [customerId, timeouts.idleMs, timeouts.absoluteMs, SESSIONS_LIST_MAX],
  );
  return result.rows.map((row) => ({ id: row.id, createdAt: row.created_at, lastSeenAt: row.last_seen_at, ip: row.ip, userAgent: row.user_agent, authMethods: row.auth_methods }));
}
