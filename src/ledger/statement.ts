/**
 * An account's history, newest first, with an opaque cursor. Two index range scans (debit side and
 * credit side) merged, so a hot merchant with millions of transfers pages as fast as a new wallet.
 */
import type { Database } from '../platform/db/database.ts';
import { KobanError } from '../platform/errors.ts';
import { isUuid } from '../platform/ids.ts';
import { toTransfer, type TransferRow } from './store.ts';
import type { PendingStatus, Transfer } from './types.ts';

export const STATEMENT_PAGE_MAX = 200;

export interface StatementQuery {
  readonly accountId: string;
  readonly limit?: number;
  readonly cursor?: string | null;
  /** Only transfers with one of these codes (e.g. a wallet's history filtered by kind). */
  readonly codes?: readonly number[] | null;
  /** Only transfers created at or after `from` and before `until`. */
  readonly from?: Date | null;
  readonly until?: Date | null;
}

export interface StatementEntry {
  readonly transfer: Transfer;
  /** Which side of the transfer this account is on. */
  readonly side: 'debit' | 'credit';
  /** For a pending transfer: whether the hold is still pending, posted, voided or expired. */
  readonly holdStatus: PendingStatus | null;
}

export interface Statement {
  readonly entries: StatementEntry[];
  /** Pass back as `cursor` to get the next (older) page; null on the last page. */
  readonly nextCursor: string | null;
}

export async function readStatement(db: Database, query: StatementQuery): Promise<Statement> {
  const limit = query.limit ?? 50;
  if (!Number.isInteger(limit) || limit < 1 || limit > STATEMENT_PAGE_MAX) {
    throw new KobanError('validation_failed', { detail: `limit must be from 1 to ${STATEMENT_PAGE_MAX}`, errors: [{ pointer: '/query/limit', message: `must be from 1 to ${STATEMENT_PAGE_MAX}` }] });
  }
  if (!isUuid(query.accountId)) throw new KobanError('account_not_found', { detail: `no account ${query.accountId}` });
  const before = decodeCursor(query.cursor ?? null);
  const result = await db.pool.query<TransferRow & { seq: bigint; hold_status: PendingStatus | null }>(
    `select t.*, p.status as hold_status from (
       (select * from transfers where debit_account_id = $1 and seq < $2 and ${FILTERS} order by seq desc limit $3)
       union all
       (select * from transfers where credit_account_id = $1 and seq < $2 and ${FILTERS} order by seq desc limit $3)
     ) t left join pending_transfers p on p.id = t.id
     order by t.seq desc limit $3`,
    [query.accountId, before, limit + 1, query.codes ?? null, query.from ?? null, query.until ?? null],
  );
  const rows = result.rows.slice(0, limit);
  const last = rows[rows.length - 1];
  return {
    entries: rows.map((row) => ({
      transfer: toTransfer(row),
      side: row.debit_account_id === query.accountId ? 'debit' : 'credit',
      holdStatus: row.hold_status,
    })),
    nextCursor: result.rows.length > limit && last !== undefined ? encodeCursor(last.seq) : null,
  };
}

/** The optional filters; a null parameter filters nothing. */
const FILTERS = '($4::smallint[] is null or code = any($4)) and ($5::timestamptz is null or created_at >= $5) and ($6::timestamptz is null or created_at < $6)';

function encodeCursor(seq: bigint): string {
  return Buffer.from(`s:${seq}`).toString('base64url');
}

function decodeCursor(cursor: string | null): bigint {
  if (cursor === null || cursor === '') return 9_223_372_036_854_775_807n;
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const match = /^s:([1-9][0-9]{0,18})$/.exec(text);
  if (match?.[1] === undefined) {
    throw new KobanError('validation_failed', { detail: 'cursor is not one this API returned', errors: [{ pointer: '/query/cursor', message: 'is not valid' }] });
  }
  return BigInt(match[1]);
}
