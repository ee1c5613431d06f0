// A session's last use is written at most once per slack (issue 11: one row rewrite per authenticated request
// was 9 % of a code mint's server time); the idle timeout must still end a session that was idle too long.
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authenticateToken, createSession, touchSlackMs } from '../../src/identity/sessions/sessions.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';

const TIMEOUTS = { idleMs: 30 * 60_000, absoluteMs: 12 * 3_600_000 };
const ORIGIN = { ip: '192.0.2.10', userAgent: 'test', deviceToken: null };

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db?.close();
});

async function sessionLastSeen(secondsAgo: number): Promise<{ id: string; token: string; stored: Date }> {
  const customerId = randomUUID();
  await db.pool.query('insert into customers (id, webauthn_user_id) values ($1, $2)', [customerId, randomBytes(32).toString('base64url')]);
  const session = await createSession(db.pool, { customerId, deviceId: null, authMethods: ['password', 'sms'], origin: ORIGIN });
  const set = await db.pool.query<{ last_seen_at: Date }>(
    `update sessions set last_seen_at = now() - make_interval(secs => $2) where id = $1 returning last_seen_at`, [session.id, secondsAgo]);
  return { ...session, stored: set.rows[0]?.last_seen_at as Date };
}

async function storedLastSeen(id: string): Promise<Date> {
  const row = await db.pool.query<{ last_seen_at: Date }>('select last_seen_at from sessions where id = $1', [id]);
  return row.rows[0]?.last_seen_at as Date;
}

describe('session last use, written at most once per slack', () => {
  it('the slack is a minute, or a thirtieth of a short idle timeout', () => {
    expect(touchSlackMs(30 * 60_000)).toBe(60_000);
    expect(touchSlackMs(15 * 60_000)).toBe(30_000);
    expect(touchSlackMs(3_000)).toBe(100);
  });

  it('refuses a stolen cookie replayed after the idle timeout, even when its uses within the slack were not written', async () => {
    const session = await sessionLastSeen(TIMEOUTS.idleMs / 1000 - 30);
    // Used within the slack of the stored time: not written, so the stored time keeps counting towards the timeout.
    const near = await sessionLastSeen(20);
    expect(await authenticateToken(db.pool, near.token, TIMEOUTS)).not.toBeNull();
    expect(await storedLastSeen(near.id)).toEqual(near.stored);
    await db.pool.query(`update sessions set last_seen_at = now() - make_interval(secs => $2) where id = $1`, [near.id, TIMEOUTS.idleMs / 1000 + 1]);
    expect(await authenticateToken(db.pool, near.token, TIMEOUTS)).toBeNull();
    expect(await authenticateToken(db.pool, session.token, TIMEOUTS)).not.toBeNull();
  });

  it('keeps a session touched within the slack alive without rewriting its row', async () => {
    const session = await sessionLastSeen(10);
    const first = await authenticateToken(db.pool, session.token, TIMEOUTS);
    expect(first?.id).toBe(session.id);
    const second = await authenticateToken(db.pool, session.token, TIMEOUTS);
    expect(second?.id).toBe(session.id);
    expect(await storedLastSeen(session.id)).toEqual(session.stored);
  });

  it('writes the use once the stored one is older than the slack, so the idle timeout restarts', async () => {
    const session = await sessionLastSeen(TIMEOUTS.idleMs / 1000 - 5);
    expect(await authenticateToken(db.pool, session.token, TIMEOUTS)).not.toBeNull();
    const stored = await storedLastSeen(session.id);
    expect(stored.getTime()).toBeGreaterThan(session.stored.getTime() + TIMEOUTS.idleMs - 60_000);
    const fresh = await db.pool.query<{ fresh: boolean }>(`select last_seen_at > now() - interval '1 minute' as fresh from sessions where id = $1`, [session.id]);
    expect(fresh.rows[0]?.fresh).toBe(true);
  });

  it('refuses a session idle just past its timeout', async () => {
    const session = await sessionLastSeen(TIMEOUTS.idleMs / 1000 + 1);
    expect(await authenticateToken(db.pool, session.token, TIMEOUTS)).toBeNull();
    expect(await storedLastSeen(session.id)).toEqual(session.stored);
  });
});
