/**
 * Accounts: created idempotently by a caller-chosen id, read in O(1) (totals live on the row), and
 * moved between active, frozen (no debits, credits still allowed so refunds land) and closed.
 */
import { assert } from '../platform/assert.ts';
import { withTransaction, type Database, type Queryable } from '../platform/db/database.ts';
import { KobanError, type FieldError } from '../platform/errors.ts';
import { isUuid } from '../platform/ids.ts';
import { AccountFlags, type Account, type AccountStatus } from './types.ts';

export interface NewAccount {
  readonly id: string;
  readonly ledger: number;
  readonly code: number;
  readonly flags: number;
  readonly reference: string | null;
}

export const ACCOUNTS_PER_REQUEST_MAX = 1000;

interface AccountRow {
  id: string; ledger: number; code: number; flags: number; status: AccountStatus;
  debits_pending: bigint; debits_posted: bigint; credits_pending: bigint; credits_posted: bigint;
  reference: string | null; created_at: Date;
}

const ACCOUNT_COLUMNS = 'id, ledger, code, flags, status, debits_pending, debits_posted, credits_pending, credits_posted, reference, created_at';

function toAccount(row: AccountRow): Account {
  return {
    id: row.id, ledger: row.ledger, code: row.code, flags: row.flags, status: row.status,
    debitsPending: row.debits_pending, debitsPosted: row.debits_posted,
    creditsPending: row.credits_pending, creditsPosted: row.credits_posted,
    reference: row.reference, createdAt: row.created_at,
  };
}

export async function insertAccounts(db: Database, accounts: readonly NewAccount[]): Promise<Account[]> {
  validateNewAccounts(accounts);
  await refuseUnknownLedgersAndCodes(db, accounts);
  await db.pool.query(
    `insert into accounts (id, ledger, code, flags, reference)
     select * from unnest($1::uuid[], $2::int[], $3::smallint[], $4::int[], $5::text[])
     on conflict (id) do nothing`,
    [accounts.map((a) => a.id), accounts.map((a) => a.ledger), accounts.map((a) => a.code), accounts.map((a) => a.flags), accounts.map((a) => a.reference)],
  );
  const stored = await readAccounts(db.pool, accounts.map((a) => a.id));
  const byId = new Map(stored.map((account) => [account.id, account]));
  return accounts.map((wanted) => {
    const account = byId.get(wanted.id);
    assert(account !== undefined, 'an inserted account can be read back');
    const differs = account.ledger !== wanted.ledger || account.code !== wanted.code || account.flags !== wanted.flags || account.reference !== wanted.reference;
    if (differs) throw new KobanError('account_exists_with_different_fields', { detail: `account ${wanted.id} exists with different fields` });
    return account;
  });
}

function validateNewAccounts(accounts: readonly NewAccount[]): void {
  if (accounts.length === 0 || accounts.length > ACCOUNTS_PER_REQUEST_MAX) {
    throw new KobanError('batch_too_large', { detail: `between 1 and ${ACCOUNTS_PER_REQUEST_MAX} accounts per request` });
  }
  const errors: FieldError[] = [];
  const seen = new Set<string>();
  accounts.forEach((account, index) => {
    const at = `/accounts/${index}`;
    if (!isUuid(account.id)) errors.push({ pointer: `${at}/id`, message: 'must be a UUID' });
    if (seen.has(account.id)) errors.push({ pointer: `${at}/id`, message: 'appears twice in the request' });
    seen.add(account.id);
    const knownFlags = AccountFlags.debitsMustNotExceedCredits | AccountFlags.creditsMustNotExceedDebits;
    if (!Number.isInteger(account.flags) || (account.flags & ~knownFlags) !== 0 || account.flags === knownFlags) {
      errors.push({ pointer: `${at}/flags`, message: 'must be 0, 1 (debits must not exceed credits) or 2 (credits must not exceed debits)' });
    }
    if (account.reference !== null && account.reference.length > 128) errors.push({ pointer: `${at}/reference`, message: 'is longer than 128 characters' });
  });
  if (errors.length > 0) throw new KobanError('validation_failed', { detail: errors.map((e) => `${e.pointer} ${e.message}`).join('; '), errors });
}

async function refuseUnknownLedgersAndCodes(db: Database, accounts: readonly NewAccount[]): Promise<void> {
  const ledgers = [...new Set(accounts.map((a) => a.ledger))];
  const codes = [...new Set(accounts.map((a) => a.code))];
  const known = await db.pool.query<{ kind: string; value: number }>(
    `select 'ledger' as kind, id as value from ledgers where id = any($1::int[])
     union all select 'code', code from account_codes where code = any($2::smallint[])`, [ledgers, codes]);
  const knownLedgers = new Set(known.rows.filter((r) => r.kind === 'ledger').map((r) => r.value));
  const knownCodes = new Set(known.rows.filter((r) => r.kind === 'code').map((r) => r.value));
  const missingLedger = ledgers.find((ledger) => !knownLedgers.has(ledger));
  if (missingLedger !== undefined) throw new KobanError('ledger_not_found', { detail: `no ledger ${missingLedger}` });
  const missingCode = codes.find((code) => !knownCodes.has(code));
  if (missingCode !== undefined) throw new KobanError('account_code_unknown', { detail: `no account code ${missingCode}` });
}

export async function readAccount(db: Queryable, id: string): Promise<Account | null> {
  if (!isUuid(id)) return null;
  // Named (prepared per connection): read on every payment (the wallet's balance for the risk engine).
  const result = await db.query<AccountRow>({ name: 'ledger_read_account', text: `select ${ACCOUNT_COLUMNS} from accounts where id = $1`, values: [id] });
  const row = result.rows[0];
  return row === undefined ? null : toAccount(row);
}

export async function readAccounts(db: Queryable, ids: readonly string[]): Promise<Account[]> {
  const valid = ids.filter(isUuid);
  if (valid.length === 0) return [];
  const result = await db.query<AccountRow>(`select ${ACCOUNT_COLUMNS} from accounts where id = any($1::uuid[])`, [valid]);
  return result.rows.map(toAccount);
}

/**
 * Freezing stops debits at once (the batch writer reads the status under the same row lock).
 * Closing is final and needs an empty account: nothing posted on balance, nothing held.
 */
export async function changeAccountStatus(db: Database, id: string, status: AccountStatus): Promise<Account> {
  return withTransaction(db, async (client) => {
    const locked = await client.query<AccountRow>(`select ${ACCOUNT_COLUMNS} from accounts where id = $1 for update`, [isUuid(id) ? id : null]);
    const row = locked.rows[0];
    if (row === undefined) throw new KobanError('account_not_found', { detail: `no account ${id}` });
    if (row.status === 'closed' && status !== 'closed') throw new KobanError('account_closed', { detail: `account ${id} is closed for good` });
    const empty = row.debits_pending === 0n && row.credits_pending === 0n && row.debits_posted === row.credits_posted;
    if (status === 'closed' && !empty) throw new KobanError('account_not_empty', { detail: `account ${id} must have a zero balance and no holds to close` });
    const updated = await client.query<AccountRow>(`update accounts set status = $2 where id = $1 returning ${ACCOUNT_COLUMNS}`, [id, status]);
    const after = updated.rows[0];
    assert(after !== undefined && after.status === status, 'status written');
    return toAccount(after);
  });
}
