/**
 * `koban audit verify`: recompute the hash chain from the stored events, in one REPEATABLE READ
 * snapshot, and report every break: an edited event (its block's hash changes), a deleted event (a
 * block names an id that is gone), reordered events (the hash covers their order), a deleted, edited
 * or reordered block (numbers not consecutive, or a previous-hash link broken), and events that are
 * neither sealed nor waiting to be. It cannot see the removal of the newest blocks on its own: compare
 * the head hash it prints with one recorded elsewhere (README).
 */
import type pg from 'pg';
import { withTransaction, type Database } from '../../platform/db/database.ts';
import { AUDIT_EVENT_LINE, blockHash, GENESIS_HASH, SECURITY_EVENT_LINE } from './chain.ts';

export interface AuditVerifyReport {
  readonly ok: boolean;
  readonly blocks: number;
  readonly sealedEvents: number;
  readonly unsealedEvents: number;
  readonly headBlockNo: string | null;
  readonly headHash: string;
  readonly problems: string[];
}

const PROBLEMS_MAX = 100;
const BLOCKS_PER_PAGE = 200;

interface BlockRow {
  block_no: bigint;
  previous_hash: string;
  hash: string;
  event_ids: string[];
  security_event_ids: string[];
}

export async function verifyAudit(db: Database): Promise<AuditVerifyReport> {
  return withTransaction(db, async (client) => {
    await client.query('set transaction read only');
    const problems: string[] = [];
    const chain = await verifyChain(client, problems);
    await checkCoverage(client, problems);
    const unsealed = await client.query<{ n: bigint }>(
      'select (select count(*) from audit_unsealed) + (select count(*) from security_events_unsealed) as n');
    return {
      ok: problems.length === 0,
      blocks: chain.blocks,
      sealedEvents: chain.events,
      unsealedEvents: Number(unsealed.rows[0]?.n ?? 0n),
      headBlockNo: chain.headBlockNo,
      headHash: chain.headHash,
      problems: problems.slice(0, PROBLEMS_MAX),
    };
  }, { isolation: 'repeatable read' });
}

async function verifyChain(client: pg.PoolClient, problems: string[]) {
  let expectedNo = 1n;
  let previousHash = GENESIS_HASH;
  let blocks = 0;
  let events = 0;
  for (;;) {
    const page = await client.query<BlockRow>(
      `select block_no, previous_hash, hash, event_ids::text[] as event_ids, security_event_ids::text[] as security_event_ids
       from audit_blocks where block_no >= $1 order by block_no limit $2`, [expectedNo.toString(), BLOCKS_PER_PAGE]);
    for (const block of page.rows) {
      if (block.block_no !== expectedNo) problems.push(`block ${expectedNo} is missing (next block found is ${block.block_no})`);
      if (block.previous_hash !== previousHash) problems.push(`block ${block.block_no}: previous_hash does not link to the block before it`);
      const audit = await linesOf(client, `select id::text as id, ${AUDIT_EVENT_LINE} as line from audit_events where id = any($1::bigint[])`, block.event_ids);
      const security = await linesOf(client, `select id::text as id, ${SECURITY_EVENT_LINE} as line from security_events where id = any($1::uuid[])`, block.security_event_ids);
      const missing = [...audit.missing, ...security.missing];
      if (missing.length > 0) problems.push(`block ${block.block_no}: event(s) ${missing.slice(0, 10).join(', ')} deleted`);
      const recomputed = blockHash(block.previous_hash, block.block_no, [...audit.lines, ...security.lines]);
      if (missing.length === 0 && recomputed !== block.hash) problems.push(`block ${block.block_no}: hash mismatch (an event or the block was edited or reordered)`);
      previousHash = block.hash;
      expectedNo = block.block_no + 1n;
      blocks += 1;
      events += block.event_ids.length + block.security_event_ids.length;
    }
    if (page.rows.length < BLOCKS_PER_PAGE) break;
  }
  return { blocks, events, headBlockNo: blocks === 0 ? null : (expectedNo - 1n).toString(), headHash: previousHash };
}

/** The lines of a block's events in the block's order, and the ids that no longer exist. */
async function linesOf(client: pg.PoolClient, sql: string, ids: readonly string[]): Promise<{ lines: string[]; missing: string[] }> {
  if (ids.length === 0) return { lines: [], missing: [] };
  const rows = await client.query<{ id: string; line: string }>(sql, [ids]);
  const byId = new Map(rows.rows.map((row) => [row.id, row.line]));
  return { lines: ids.flatMap((id) => byId.get(id) ?? []), missing: ids.filter((id) => !byId.has(id)) };
}

/** Every event is sealed exactly once or waiting in a queue; every queued id has its event. */
async function checkCoverage(client: pg.PoolClient, problems: string[]): Promise<void> {
  const checks: ReadonlyArray<{ sql: string; message: string }> = [
    { sql: 'select id::text as id from (select unnest(event_ids) as id from audit_blocks) s group by id having count(*) > 1 limit 10', message: 'appear in more than one block' },
    { sql: 'select id::text as id from (select unnest(security_event_ids) as id from audit_blocks) s group by id having count(*) > 1 limit 10', message: 'appear in more than one block' },
    { sql: `select id::text as id from (select id from audit_events except select unnest(event_ids) from audit_blocks
            except select event_id from audit_unsealed) x order by 1 limit 10`, message: 'are neither sealed nor queued for sealing' },
    { sql: `select id::text as id from (select id from security_events except select unnest(security_event_ids) from audit_blocks
            except select event_id from security_events_unsealed) x order by 1 limit 10`, message: 'are neither sealed nor queued for sealing' },
    { sql: 'select event_id::text as id from audit_unsealed u where not exists (select 1 from audit_events e where e.id = u.event_id) order by 1 limit 10',
      message: 'were queued for sealing and then deleted' },
    { sql: 'select event_id::text as id from security_events_unsealed u where not exists (select 1 from security_events e where e.id = u.event_id) order by 1 limit 10',
      message: 'were queued for sealing and then deleted' },
  ];
  for (const check of checks) {
    const found = await client.query<{ id: string }>(check.sql);
    if (found.rows.length > 0) problems.push(`event(s) ${found.rows.map((r) => r.id).join(', ')} ${check.message}`);
  }
}

export function formatAuditReport(report: AuditVerifyReport): string {
  const lines = [
    `audit chain: ${report.blocks} block(s), ${report.sealedEvents} sealed event(s), ${report.unsealedEvents} waiting to be sealed`,
    `head: block ${report.headBlockNo ?? '-'} ${report.headHash}`,
  ];
  if (report.ok) lines.push('OK: the chain is intact');
  else lines.push(`FAILED: ${report.problems.length} problem(s)`, ...report.problems.map((p) => `  - ${p}`));
  return lines.join('\n');
}
