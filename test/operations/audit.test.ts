/** The audit chain: append-only, sealed in blocks off the request path, and any tampering detected. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAuditLog, type AuditLog } from '../../src/operations/audit/audit-log.ts';
import { sealPending } from '../../src/operations/audit/sealer.ts';
import { verifyAudit } from '../../src/operations/audit/verify.ts';
import { koban } from '../support/cli.ts';
import { createTestDatabase, openAnotherConnection, type TestDatabase } from '../support/database.ts';

let db: TestDatabase;
let audit: AuditLog;

beforeEach(async () => {
  db = await createTestDatabase();
  audit = createAuditLog(db);
});
afterEach(async () => db.close());

async function recordSome(count: number, prefix = 'test.event'): Promise<void> {
  for (let i = 0; i < count; i++) {
    await audit.record({ actor: { kind: 'operator', id: `op-${i % 3}` }, action: prefix, target: { kind: 'account', id: `acc-${i}` },
      reason: `reason ${i}`, details: { i, amountMinor: BigInt(i * 100), nested: { z: 1, a: [1, 2] } }, ip: '203.0.113.7', outcome: 'success' });
  }
}

/** Tampering needs the immutability triggers out of the way, as an attacker with database access would. */
async function tamper(sql: string, values: unknown[] = []): Promise<void> {
  const client = await db.pool.connect();
  try {
    await client.query('begin');
    await client.query('set local session_replication_role = replica');
    await client.query(sql, values);
    await client.query('commit');
  } finally {
    client.release();
  }
}

async function eventIds(): Promise<string[]> {
  const result = await db.pool.query<{ id: bigint }>('select id from audit_events order by id');
  return result.rows.map((row) => row.id.toString());
}

const cli = (...args: string[]) => koban(db.url, ...args);

describe('audit log', () => {
  it('records on the caller path without hashing, and the sealer chains blocks that verify', async () => {
    await recordSome(25);
    expect((await db.pool.query('select count(*)::int as n from audit_blocks')).rows[0].n).toBe(0);
    const first = await sealPending(db, { eventsPerBlockMax: 10 });
    expect(first).toEqual({ blocks: 3, events: 25 });
    await recordSome(4);
    expect(await sealPending(db)).toEqual({ blocks: 1, events: 4 });
    const report = await verifyAudit(db);
    expect(report).toMatchObject({ ok: true, blocks: 4, sealedEvents: 29, unsealedEvents: 0, headBlockNo: '4' });
    const fromCli = await cli('audit', 'verify');
    expect(fromCli.code).toBe(0);
    expect(fromCli.stdout).toContain('OK: the chain is intact');
  });

  it('refuses updates, deletes and truncation of events and blocks', async () => {
    await recordSome(2);
    await sealPending(db);
    await expect(db.pool.query(`update audit_events set reason = 'x'`)).rejects.toThrow(/append-only/);
    await expect(db.pool.query('delete from audit_events')).rejects.toThrow(/append-only/);
    await expect(db.pool.query('truncate audit_events cascade')).rejects.toThrow(/append-only/);
    await expect(db.pool.query(`update audit_blocks set hash = repeat('0', 64)`)).rejects.toThrow(/append-only/);
    await expect(db.pool.query('delete from audit_blocks')).rejects.toThrow(/append-only/);
  });

  it('detects an edited event, and the command line exits 1', async () => {
    await recordSome(12);
    await sealPending(db, { eventsPerBlockMax: 5 });
    const ids = await eventIds();
    await tamper(`update audit_events set details = jsonb_set(details, '{amountMinor}', '"1"') where id = $1`, [ids[6]]);
    const report = await verifyAudit(db);
    expect(report.ok).toBe(false);
    expect(report.problems.join('\n')).toContain('block 2: hash mismatch');
    const fromCli = await cli('audit', 'verify');
    expect(fromCli.code).toBe(1);
    expect(fromCli.stdout).toContain('FAILED');
  });

  it('detects an edit of only a timestamp by a microsecond', async () => {
    await recordSome(3);
    await sealPending(db);
    const ids = await eventIds();
    await tamper(`update audit_events set occurred_at = occurred_at + interval '1 microsecond' where id = $1`, [ids[1]]);
    expect((await verifyAudit(db)).problems.join('\n')).toContain('hash mismatch');
  });

  it('detects a deleted sealed event', async () => {
    await recordSome(6);
    await sealPending(db);
    const ids = await eventIds();
    await tamper('delete from audit_events where id = $1', [ids[2]]);
    const report = await verifyAudit(db);
    expect(report.ok).toBe(false);
    expect(report.problems.join('\n')).toContain(`event(s) ${ids[2]} deleted`);
  });

  it('detects reordered events within a block', async () => {
    await recordSome(6);
    await sealPending(db);
    await tamper('update audit_blocks set event_ids = array[event_ids[2], event_ids[1]] || event_ids[3:] where block_no = 1');
    expect((await verifyAudit(db)).problems.join('\n')).toContain('block 1: hash mismatch');
  });

  it('detects two events whose contents were swapped', async () => {
    await recordSome(4);
    await sealPending(db);
    const ids = await eventIds();
    await tamper(`update audit_events set target_id = case when id = $1 then 'acc-1' else 'acc-0' end where id in ($1, $2)`, [ids[0], ids[1]]);
    expect((await verifyAudit(db)).ok).toBe(false);
  });

  it('detects a deleted block in the middle of the chain', async () => {
    await recordSome(9);
    await sealPending(db, { eventsPerBlockMax: 3 });
    await tamper('delete from audit_blocks where block_no = 2');
    const problems = (await verifyAudit(db)).problems.join('\n');
    expect(problems).toContain('block 2 is missing');
    expect(problems).toContain('neither sealed nor queued');
  });

  it('detects a block rewritten with a recomputed hash, because the next block no longer links to it', async () => {
    await recordSome(6);
    await sealPending(db, { eventsPerBlockMax: 3 });
    await tamper(`update audit_blocks set hash = repeat('a', 64) where block_no = 1`);
    const problems = (await verifyAudit(db)).problems.join('\n');
    expect(problems).toContain('block 1: hash mismatch');
    expect(problems).toContain('block 2: previous_hash does not link');
  });

  it('detects an unsealed event deleted from the queue before sealing, and an event removed while waiting', async () => {
    await recordSome(3);
    const ids = await eventIds();
    await tamper('delete from audit_unsealed where event_id = $1', [ids[0]]);
    await tamper('delete from audit_events where id = $1', [ids[1]]);
    await sealPending(db);
    const problems = (await verifyAudit(db)).problems.join('\n');
    expect(problems).toContain(`event(s) ${ids[0]} are neither sealed nor queued`);
    expect(problems).toContain(`event(s) ${ids[1]} were queued for sealing and then deleted`);
  });

  it('two processes sealing at once still build one unbroken chain', async () => {
    const other = await openAnotherConnection(db);
    try {
      const otherAudit = createAuditLog(other);
      await Promise.all([recordSome(40), (async () => {
        for (let i = 0; i < 40; i++) await otherAudit.record({ actor: { kind: 'system', id: 'b' }, action: 'test.other', outcome: 'success' });
      })(), (async () => {
        for (let i = 0; i < 10; i++) await Promise.all([sealPending(db, { eventsPerBlockMax: 7 }), sealPending(other, { eventsPerBlockMax: 7 })]);
      })()]);
      await sealPending(db);
      const report = await verifyAudit(db);
      expect(report.problems).toEqual([]);
      expect(report.sealedEvents).toBe(80);
    } finally {
      await other.close();
    }
  });
});

describe('audit chain over identity security events', () => {
  it('seals security events with the operator audit events and detects an edit to one', async () => {
    await recordSome(2);
    const id = '01900000-0000-7000-8000-00000000abcd';
    await db.pool.query(`insert into security_events (id, event_type, outcome, actor, ip, reasons, details) values ($1, 'sign_in.password', 'failure', 'anonymous', '198.51.100.9', '{bad_password}', '{"n": 1}')`, [id]);
    expect(await sealPending(db)).toEqual({ blocks: 1, events: 3 });
    expect((await verifyAudit(db)).ok).toBe(true);
    await tamper(`update security_events set outcome = 'success' where id = $1`, [id]);
    expect((await verifyAudit(db)).problems.join('\n')).toContain('block 1: hash mismatch');
  });

  it('detects a deleted security event', async () => {
    const id = '01900000-0000-7000-8000-00000000abce';
    await db.pool.query(`insert into security_events (id, event_type, outcome, actor) values ($1, 'sign_in.password', 'success', 'customer')`, [id]);
    await sealPending(db);
    await tamper('delete from security_events where id = $1', [id]);
    expect((await verifyAudit(db)).problems.join('\n')).toContain(`event(s) ${id} deleted`);
  });
});
