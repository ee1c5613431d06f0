/**
 * The sealer: off every request path, it takes unsealed events in order, writes them as the next block
 * of the hash chain and removes them from the queues, all in one transaction. One sealer at a time
 * across every Koban process (a transaction-scoped advisory lock): the chain is a single sequence.
 */
import type pg from 'pg';
import { assert } from '../../platform/assert.ts';
import { withTransaction, type Database } from '../../platform/db/database.ts';
import { AUDIT_EVENT_LINE, blockHash, GENESIS_HASH, SECURITY_EVENT_LINE } from './chain.ts';

export const SEALER_LIMITS = { eventsPerBlockMax: 1000, blocksPerRunMax: 50 } as const;
// Any constant works; it only has to be the same in every Koban process.
const SEAL_LOCK_KEY = 7_262_050;

export interface SealResult {
  readonly blocks: number;
  readonly events: number;
}

/** Seals everything waiting, a bounded number of blocks per run; the next run picks up the rest. */
export async function sealPending(db: Database, options: { eventsPerBlockMax?: number; beforeCommit?: (client: pg.PoolClient) => Promise<void> } = {}): Promise<SealResult> {
  const perBlock = options.eventsPerBlockMax ?? SEALER_LIMITS.eventsPerBlockMax;
  assert(perBlock >= 1 && perBlock <= SEALER_LIMITS.eventsPerBlockMax, 'block size within limits');
  let blocks = 0;
  let events = 0;
  for (let run = 0; run < SEALER_LIMITS.blocksPerRunMax; run++) {
    // A node that lost the sealer's lease (src/platform/leases.ts) commits no block: beforeCommit throws.
    const sealed = await withTransaction(db, async (client) => {
      const count = await sealOneBlock(client, perBlock);
      if (count > 0) await options.beforeCommit?.(client);
      return count;
    });
    if (sealed === 0) break;
    blocks += 1;
    events += sealed;
  }
  return { blocks, events };
}

interface Lines { ids: string[]; lines: string[] }

async function sealOneBlock(client: pg.PoolClient, perBlock: number): Promise<number> {
  const locked = await client.query<{ ok: boolean }>('select pg_try_advisory_xact_lock($1) as ok', [SEAL_LOCK_KEY]);
  if (locked.rows[0]?.ok !== true) return 0;
  // A queued id without its event was deleted by someone bypassing the triggers: it stays queued (the
  // lookup skips it), so `audit verify` keeps reporting it, and the rest is sealed.
  const audit = await pick(client, `select id::text as id, ${AUDIT_EVENT_LINE} as line from audit_events
    where id in (select event_id from audit_unsealed order by event_id limit $1) order by id`, perBlock);
  const security = await pick(client, `select id::text as id, ${SECURITY_EVENT_LINE} as line from security_events
    where id in (select event_id from security_events_unsealed order by seq limit $1) order by seq`, perBlock - audit.ids.length);
  const count = audit.ids.length + security.ids.length;
  if (count === 0) return 0;
  const head = await client.query<{ block_no: bigint; hash: string }>('select block_no, hash from audit_blocks order by block_no desc limit 1');
  const previous = head.rows[0];
  const blockNo = previous === undefined ? 1n : previous.block_no + 1n;
  const previousHash = previous?.hash ?? GENESIS_HASH;
  const hash = blockHash(previousHash, blockNo, [...audit.lines, ...security.lines]);
  await client.query('insert into audit_blocks (block_no, previous_hash, hash, event_ids, security_event_ids) values ($1, $2, $3, $4::bigint[], $5::uuid[])',
    [blockNo.toString(), previousHash, hash, audit.ids, security.ids]);
  await client.query('delete from audit_unsealed where event_id = any($1::bigint[])', [audit.ids]);
  await client.query('delete from security_events_unsealed where event_id = any($1::uuid[])', [security.ids]);
  return count;
}

async function pick(client: pg.PoolClient, sql: string, limit: number): Promise<Lines> {
  if (limit <= 0) return { ids: [], lines: [] };
  const result = await client.query<{ id: string; line: string }>(sql, [limit]);
  return { ids: result.rows.map((row) => row.id), lines: result.rows.map((row) => row.line) };
}
