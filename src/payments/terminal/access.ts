/**
 * How a store tablet becomes one terminal without ever holding the merchant's API secret: someone with
 * access to Koban (the CLI, the demo seed) issues a short one-time activation code for a terminal; the
 * tablet types it once and receives a terminal session (a 256-bit reference token in a `__Host-` cookie).
 *
 * - Codes: 8 characters from a 32-letter alphabet without look-alikes (40 bits), one-time, 15 minutes,
 *   stored as an HMAC under a key derived from KOBAN_SECRET_KEY (a stolen table cannot be brute-forced
 *   offline without the key). Issuing a new code retires the terminal's older unused ones.
 * - Guessing is throttled per address, per network and globally (identity's shared failure counters);
 *   while a limit is reached even a right code is refused, so a throttled guesser learns nothing.
 * - Sessions: only the token's SHA-256 is stored; 30 days absolute, 7 days idle (a till is used daily,
 *   a store may close for a long weekend). Activating a terminal again ends its older sessions (one
 *   tablet per terminal: a lost tablet dies when its replacement is activated), and so does `revoke`.
 *   Every request re-checks that the terminal is enabled, its store open and its merchant active.
 * - CSRF: the token for state-changing requests is an HMAC of the session token (as identity's), so the
 *   app can read it again after a reload from GET /v1/till/session, which a cross-site page cannot read.
 */
import { createHmac, randomInt, timingSafeEqual } from 'node:crypto';
import { hitCounter, networkOf, peekCounter } from '../../identity/login/throttle.ts';
import { randomToken, sha256 } from '../../identity/secrets.ts';
import { deriveKey } from '../../merchants/secret-box.ts';
import { withTransaction, type Database } from '../../platform/db/database.ts';
import { KobanError } from '../../platform/errors.ts';
import { uuidv7 } from '../../platform/ids.ts';

export const ACTIVATION_CODE_ALPHABET = '23456789ABCDEFGHJKLMNPQRSTUVWXYZ';
export const ACTIVATION_CODE_LENGTH = 8;
export const ACTIVATION_CODE_TTL_MS = 15 * 60_000;
export const TERMINAL_SESSION_ABSOLUTE_MS = 30 * 24 * 3600_000;
export const TERMINAL_SESSION_IDLE_MS = 7 * 24 * 3600_000;
/** Wrong codes allowed per window before activation is refused: per address, per /24 or /64, for everyone. */
export const ACTIVATION_FAILURES = { window: 15 * 60_000, perIp: 10, perNetwork: 30, global: 500 } as const;

const SESSION_TOKEN = /^[A-Za-z0-9_-]{43}$/;

/** The terminal a session speaks for, with the names the till shows. */
export interface TerminalPrincipal {
  readonly sessionId: string;
  readonly terminalId: string;
  readonly terminalName: string;
  readonly storeId: string;
  readonly storeName: string;
  readonly merchantId: string;
  readonly merchantName: string;
  /** The cookie value this request presented (the CSRF token is derived from it). */
  readonly token: string;
}

export interface IssuedActivationCode {
  readonly terminalId: string;
  /** Shown once, grouped for reading aloud: `ABCD-EFGH`. */
  readonly code: string;
  readonly expiresAt: Date;
}

export interface RequestFacts {
  readonly ip: string | null;
  readonly userAgent: string | null;
}

export interface TerminalAccess {
  issueActivationCode(terminalId: string, issuedBy: string): Promise<IssuedActivationCode>;
  activate(code: string, request: RequestFacts): Promise<{ principal: TerminalPrincipal; expiresAt: Date }>;
  authenticate(token: string): Promise<TerminalPrincipal | null>;
  csrfTokenFor(principal: Pick<TerminalPrincipal, 'token'>): string;
  csrfMatches(principal: Pick<TerminalPrincipal, 'token'>, given: string | undefined): boolean;
  signOut(principal: TerminalPrincipal): Promise<void>;
  /** Ends every session of the terminal and retires its unused codes; answers how many sessions ended. */
  revoke(terminalId: string): Promise<number>;
}

export function createTerminalAccess(db: Database, secretKey: Buffer, now: () => Date = () => new Date()): TerminalAccess {
  const codeKey = deriveKey(secretKey, 'terminal-activation-code v1');
  const csrfKey = deriveKey(secretKey, 'terminal-csrf v1');
  const hashCode = (normalised: string): Buffer => createHmac('sha256', codeKey).update(normalised).digest();
  const csrfTokenFor = (principal: Pick<TerminalPrincipal, 'token'>): string => createHmac('sha256', csrfKey).update(principal.token).digest('base64url');
  return {
    issueActivationCode: (terminalId, issuedBy) => issueActivationCode(db, hashCode, now, terminalId, issuedBy),
    activate: (code, request) => activate(db, hashCode, now, code, request),
    authenticate: (token) => authenticate(db, now, token),
    csrfTokenFor,
    csrfMatches(principal, given) {
      if (typeof given !== 'string' || given.length > 128) return false;
      const expected = Buffer.from(csrfTokenFor(principal));
      const actual = Buffer.from(given);
      return actual.length === expected.length && timingSafeEqual(actual, expected);
    },
    async signOut(principal) {
      await db.pool.query('update terminal_sessions set revoked_at = $2 where id = $1 and revoked_at is null', [principal.sessionId, now()]);
    },
    revoke: (terminalId) => revoke(db, now, terminalId),
  };
}

/** Upper case, no spaces or dashes: what staff type is forgiving, what is compared is exact. */
export function normaliseActivationCode(typed: string): string | null {
  const compact = typed.toUpperCase().replace(/[\s-]/g, '');
  if (compact.length !== ACTIVATION_CODE_LENGTH) return null;
  for (const char of compact) if (!ACTIVATION_CODE_ALPHABET.includes(char)) return null;
  return compact;
}

function newActivationCode(): string {
  let code = '';
  for (let i = 0; i < ACTIVATION_CODE_LENGTH; i++) code += ACTIVATION_CODE_ALPHABET[randomInt(0, ACTIVATION_CODE_ALPHABET.length)];
  return code;
}

async function issueActivationCode(db: Database, hashCode: (code: string) => Buffer, now: () => Date, terminalId: string, issuedBy: string): Promise<IssuedActivationCode> {
  const at = now();
  const expiresAt = new Date(at.getTime() + ACTIVATION_CODE_TTL_MS);
  const code = newActivationCode();
  await withTransaction(db, async (client) => {
    const terminal = await client.query('select 1 from terminals where id = $1 for update', [terminalId]);
    if (terminal.rowCount !== 1) throw new KobanError('terminal_not_found');
    // Only the newest code works: a code read aloud twice, or issued twice by mistake, cannot pile up.
    await client.query('update terminal_activation_codes set used_at = $2 where terminal_id = $1 and used_at is null', [terminalId, at]);
    await client.query('insert into terminal_activation_codes (id, terminal_id, code_hash, expires_at, issued_by, created_at) values ($1, $2, $3, $4, $5, $6)',
      [uuidv7(), terminalId, hashCode(code), expiresAt, issuedBy.slice(0, 100), at]);
  });
  return { terminalId, code: `${code.slice(0, 4)}-${code.slice(4)}`, expiresAt };
}

function throttleKeys(ip: string | null): string[] {
  const keys = ['till_activation:global'];
  if (ip !== null) keys.push(`till_activation:ip:${ip}`, `till_activation:net:${networkOf(ip)}`);
  return keys;
}

function limitOf(key: string): number {
  if (key.startsWith('till_activation:ip:')) return ACTIVATION_FAILURES.perIp;
  if (key.startsWith('till_activation:net:')) return ACTIVATION_FAILURES.perNetwork;
  return ACTIVATION_FAILURES.global;
}

async function activate(db: Database, hashCode: (code: string) => Buffer, now: () => Date, typed: string, request: RequestFacts): Promise<{ principal: TerminalPrincipal; expiresAt: Date }> {
  const keys = throttleKeys(request.ip);
  for (const key of keys) {
    if (await peekCounter(db.pool, key, ACTIVATION_FAILURES.window) >= limitOf(key)) {
      throw new KobanError('rate_limited', { detail: 'too many wrong activation codes; wait 15 minutes' });
    }
  }
  const normalised = normaliseActivationCode(typed);
  const at = now();
  const activated = normalised === null ? null : await withTransaction(db, async (client) => {
    // Claim and check in one statement: two tablets racing one code, only one wins.
    const claimed = await client.query<{ terminal_id: string }>(
      `update terminal_activation_codes c set used_at = $2
       from terminals t join stores s on s.id = t.store_id join merchants m on m.id = s.merchant_id
       where c.code_hash = $1 and c.used_at is null and c.expires_at > $2 and t.id = c.terminal_id
         and t.status = 'active' and s.status = 'active' and m.status = 'active'
       returning c.terminal_id`, [hashCode(normalised), at]);
    const terminalId = claimed.rows[0]?.terminal_id;
    if (terminalId === undefined) return null;
    await client.query('update terminal_sessions set revoked_at = $2 where terminal_id = $1 and revoked_at is null', [terminalId, at]);
    const token = randomToken();
    const sessionId = uuidv7();
    const expiresAt = new Date(at.getTime() + TERMINAL_SESSION_ABSOLUTE_MS);
    await client.query(
      `insert into terminal_sessions (id, terminal_id, token_hash, created_at, last_seen_at, expires_at, ip, user_agent) values ($1, $2, $3, $4, $4, $5, $6, $7)`,
      [sessionId, terminalId, sha256(token), at, expiresAt, request.ip, request.userAgent?.slice(0, 512) ?? null]);
    return { token, expiresAt };
  });
  if (activated === null) {
    for (const key of keys) await hitCounter(db.pool, key, ACTIVATION_FAILURES.window);
    throw new KobanError('terminal_activation_failed');
  }
  const principal = await authenticate(db, now, activated.token);
  if (principal === null) throw new KobanError('terminal_activation_failed');
  return { principal, expiresAt: activated.expiresAt };
}

interface PrincipalRow { id: string; terminal_id: string; terminal_name: string; store_id: string; store_name: string; merchant_id: string; merchant_name: string }

/** Checks revocation, both lifetimes and that terminal, store and merchant may still trade, and slides the idle window. */
async function authenticate(db: Database, now: () => Date, token: string): Promise<TerminalPrincipal | null> {
  if (!SESSION_TOKEN.test(token)) return null;
  const at = now();
  const result = await db.pool.query<PrincipalRow>({
    name: 'terminal_session_authenticate',
    text: `update terminal_sessions ts set last_seen_at = $2
           from terminals t join stores s on s.id = t.store_id join merchants m on m.id = s.merchant_id
           where ts.token_hash = $1 and ts.revoked_at is null and ts.expires_at > $2 and ts.last_seen_at > $2::timestamptz - make_interval(secs => $3::double precision / 1000)
             and t.id = ts.terminal_id and t.status = 'active' and s.status = 'active' and m.status = 'active'
           returning ts.id, t.id as terminal_id, t.name as terminal_name, s.id as store_id, s.name as store_name, m.id as merchant_id, m.name as merchant_name`,
    values: [sha256(token), at, TERMINAL_SESSION_IDLE_MS],
  });
  const row = result.rows[0];
  if (row === undefined) return null;
  return {
    sessionId: row.id, terminalId: row.terminal_id, terminalName: row.terminal_name, storeId: row.store_id, storeName: row.store_name,
    merchantId: row.merchant_id, merchantName: row.merchant_name, token,
  };
}

async function revoke(db: Database, now: () => Date, terminalId: string): Promise<number> {
  return withTransaction(db, async (client) => {
    const terminal = await client.query('select 1 from terminals where id = $1', [terminalId]);
    if (terminal.rowCount !== 1) throw new KobanError('terminal_not_found');
    const at = now();
    await client.query('update terminal_activation_codes set used_at = $2 where terminal_id = $1 and used_at is null', [terminalId, at]);
    const ended = await client.query('update terminal_sessions set revoked_at = $2 where terminal_id = $1 and revoked_at is null', [terminalId, at]);
    return ended.rowCount ?? 0;
  });
}
