/**
 * A merchant's stores and tills, managed by its staff (portal) or an operator (console). Every read and
 * write names the merchant: a store or terminal of another merchant is "not found", never shown. Every
 * change is audited in its own transaction. A suspended or closed store takes no payment (standing.ts,
 * uncached); a revoked terminal's till sessions are refused at once (the till session check reads the
 * terminal's state on every request, src/payments/terminal/access.ts).
 */
import { recordAudit, type AuditActor } from '../operations/audit/audit-log.ts';
import { assert } from '../platform/assert.ts';
import { withTransaction, type Database, type Queryable } from '../platform/db/database.ts';
import { KobanError, type FieldError } from '../platform/errors.ts';
import { isUuid, uuidv7 } from '../platform/ids.ts';
import type { StaffRequestContext } from './staff.ts';

export interface StoreFields {
  readonly name: string; readonly address: string;
  /** For the store QR: city in Latin script (≤ 15, tag 60), as written locally (≤ 15, tag 64), postal code (≤ 10, tag 61). */
  readonly city: string; readonly cityLocal: string | null; readonly postalCode: string;
}

export interface Store extends StoreFields { readonly id: string; readonly merchantId: string; readonly status: 'active' | 'suspended' | 'closed'; readonly createdAt: Date }

export interface Terminal {
  readonly id: string; readonly storeId: string; readonly name: string; readonly status: 'active' | 'disabled'; readonly createdAt: Date;
  /** The newest till session's last request, null when never activated. */
  readonly lastActiveAt: Date | null;
}

export interface DirectoryDeps { readonly db: Database; readonly now: () => Date }

const contextOf = (context: StaffRequestContext | null) => ({ ip: context?.ip ?? null, requestId: context?.requestId ?? null });

function validateStore(fields: Partial<StoreFields>): void {
  const problems: FieldError[] = [];
  if (fields.name !== undefined && (fields.name.trim().length === 0 || fields.name.length > 200)) problems.push({ pointer: '/body/name', message: 'is 1–200 characters' });
  if (fields.address !== undefined && fields.address.length > 400) problems.push({ pointer: '/body/address', message: 'is at most 400 characters' });
  if (fields.city !== undefined && !/^[\x20-\x7e]{1,15}$/.test(fields.city)) problems.push({ pointer: '/body/city', message: 'is 1–15 printable Latin characters (QR tag 60)' });
  if (fields.cityLocal !== undefined && fields.cityLocal !== null && (fields.cityLocal.length === 0 || fields.cityLocal.length > 15)) problems.push({ pointer: '/body/cityLocal', message: 'is 1–15 characters (QR tag 64)' });
  if (fields.postalCode !== undefined && !/^[0-9]{3}-?[0-9]{4}$/.test(fields.postalCode)) problems.push({ pointer: '/body/postalCode', message: 'is a Japanese postal code (123-4567)' });
  if (problems.length > 0) throw new KobanError('validation_failed', { errors: problems });
}

export async function createStore(deps: DirectoryDeps, merchantId: string, fields: StoreFields, actor: AuditActor, context: StaffRequestContext | null): Promise<Store> {
  validateStore(fields);
  const id = uuidv7(deps.now().getTime());
  return withTransaction(deps.db, async (client) => {
    const merchant = await client.query<{ status: string }>('select status from merchants where id = $1 for share', [merchantId]);
    const status = merchant.rows[0]?.status;
    if (status === undefined) throw new KobanError('merchant_not_found');
    if (status === 'closed' || status === 'applied') throw new KobanError('merchant_not_active', { detail: `a ${status} merchant cannot open stores` });
    await client.query(`insert into stores (id, merchant_id, name, address, latitude, longitude, city, city_local, postal_code, created_at) values ($1, $2, $3, $4, null, null, $5, $6, $7, $8)`,
      [id, merchantId, fields.name.trim(), fields.address.trim(), fields.city, fields.cityLocal, fields.postalCode, deps.now()]);
    await recordAudit(client, { actor, action: 'store.created', target: { kind: 'store', id }, outcome: 'success', details: { merchantId, name: fields.name }, ...contextOf(context) });
    return readStore(client, merchantId, id);
  });
}

/** Name, address, city (tag 60), local city (tag 64) and postal code (tag 61): the setters the store QR needs. */
export async function updateStore(deps: DirectoryDeps, merchantId: string, storeId: string, fields: Partial<StoreFields>, actor: AuditActor, context: StaffRequestContext | null): Promise<Store> {
  validateStore(fields);
  return withTransaction(deps.db, async (client) => {
    const before = await readStore(client, merchantId, storeId, true);
    const after = { ...before, ...Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined)) } as Store;
    await client.query(`update stores set name = $3, address = $4, city = $5, city_local = $6, postal_code = $7 where id = $1 and merchant_id = $2`,
      [storeId, merchantId, after.name.trim(), after.address.trim(), after.city, after.cityLocal, after.postalCode]);
    await recordAudit(client, { actor, action: 'store.updated', target: { kind: 'store', id: storeId }, outcome: 'success',
      details: { merchantId, changed: Object.keys(fields).filter((key) => fields[key as keyof StoreFields] !== undefined) }, ...contextOf(context) });
    return readStore(client, merchantId, storeId);
  });
}

/** Suspend (stops its payments at once), reopen, or close a store, with a reason. */
export async function setStoreStatus(deps: DirectoryDeps, merchantId: string, storeId: string, status: 'active' | 'suspended' | 'closed', reason: string, actor: AuditActor, context: StaffRequestContext | null): Promise<Store> {
  const why = reason.trim();
  if (why.length === 0 || why.length > 2000) throw new KobanError('validation_failed', { errors: [{ pointer: '/body/reason', message: 'is required (1–2000 characters)' }] });
  return withTransaction(deps.db, async (client) => {
    const before = await readStore(client, merchantId, storeId, true);
    if (before.status === 'closed' && status !== 'closed') throw new KobanError('merchant_state_conflict', { detail: 'a closed store stays closed' });
    await client.query('update stores set status = $3 where id = $1 and merchant_id = $2', [storeId, merchantId, status]);
    await recordAudit(client, { actor, action: `store.${status === 'active' ? 'reactivated' : status}`, target: { kind: 'store', id: storeId }, reason: why, outcome: 'success',
      details: { merchantId, from: before.status }, ...contextOf(context) });
    return readStore(client, merchantId, storeId);
  });
}

export async function listStores(db: Database, merchantId: string): Promise<Store[]> {
  const result = await db.pool.query<StoreRow>(`select ${STORE_COLUMNS} from stores where merchant_id = $1 order by created_at, id limit 1000`, [merchantId]);
  return result.rows.map(toStore);
}

export async function getStore(db: Database, merchantId: string, storeId: string): Promise<Store> {
  return readStore(db.pool, merchantId, storeId);
}

export async function createTerminal(deps: DirectoryDeps, merchantId: string, storeId: string, name: string, actor: AuditActor, context: StaffRequestContext | null): Promise<Terminal> {
  if (name.trim().length === 0 || name.length > 100) throw new KobanError('validation_failed', { errors: [{ pointer: '/body/name', message: 'is 1–100 characters' }] });
  const id = uuidv7(deps.now().getTime());
  return withTransaction(deps.db, async (client) => {
    const store = await readStore(client, merchantId, storeId, true);
    if (store.status === 'closed') throw new KobanError('store_not_found', { detail: 'the store is closed' });
    await client.query('insert into terminals (id, store_id, name, created_at) values ($1, $2, $3, $4)', [id, storeId, name.trim(), deps.now()]);
    await recordAudit(client, { actor, action: 'terminal.created', target: { kind: 'terminal', id }, outcome: 'success', details: { merchantId, storeId, name }, ...contextOf(context) });
    return readTerminal(client, merchantId, id);
  });
}

/** A revoked till stops at once: its session check reads `terminals.status` on every request. */
export async function revokeTerminal(deps: DirectoryDeps, merchantId: string, terminalId: string, actor: AuditActor, context: StaffRequestContext | null): Promise<Terminal> {
  return withTransaction(deps.db, async (client) => {
    await readTerminal(client, merchantId, terminalId);
    await client.query(`update terminals set status = 'disabled' where id = $1`, [terminalId]);
    await recordAudit(client, { actor, action: 'terminal.revoked', target: { kind: 'terminal', id: terminalId }, outcome: 'success', details: { merchantId }, ...contextOf(context) });
    return readTerminal(client, merchantId, terminalId);
  });
}

export async function listTerminals(db: Database, merchantId: string): Promise<Terminal[]> {
  const result = await db.pool.query<TerminalRow>(`${TERMINAL_SELECT} where s.merchant_id = $1 order by t.created_at, t.id limit 2000`, [merchantId]);
  return result.rows.map(toTerminal);
}

/** The terminal, if it belongs to this merchant; "not found" otherwise (issuing an activation code checks this first). */
export async function getTerminal(db: Database, merchantId: string, terminalId: string): Promise<Terminal> {
  return readTerminal(db.pool, merchantId, terminalId);
}

interface StoreRow { id: string; merchant_id: string; name: string; address: string; city: string | null; city_local: string | null; postal_code: string | null; status: Store['status']; created_at: Date }
const STORE_COLUMNS = 'id, merchant_id, name, address, city, city_local, postal_code, status, created_at';

async function readStore(client: Queryable, merchantId: string, storeId: string, lock = false): Promise<Store> {
  if (!isUuid(storeId)) throw new KobanError('store_not_found');
  const result = await client.query<StoreRow>(`select ${STORE_COLUMNS} from stores where id = $1 and merchant_id = $2${lock ? ' for update' : ''}`, [storeId, merchantId]);
  const row = result.rows[0];
  if (row === undefined) throw new KobanError('store_not_found');
  return toStore(row);
}

function toStore(row: StoreRow): Store {
  return { id: row.id, merchantId: row.merchant_id, name: row.name, address: row.address, city: row.city ?? '', cityLocal: row.city_local, postalCode: row.postal_code ?? '', status: row.status, createdAt: row.created_at };
}

interface TerminalRow { id: string; store_id: string; name: string; status: Terminal['status']; created_at: Date; last_active_at: Date | null }
const TERMINAL_SELECT = `select t.id, t.store_id, t.name, t.status, t.created_at,
    (select max(ts.last_seen_at) from terminal_sessions ts where ts.terminal_id = t.id) as last_active_at
  from terminals t join stores s on s.id = t.store_id`;

async function readTerminal(client: Queryable, merchantId: string, terminalId: string): Promise<Terminal> {
  if (!isUuid(terminalId)) throw new KobanError('terminal_not_found');
  const result = await client.query<TerminalRow>(`${TERMINAL_SELECT} where t.id = $1 and s.merchant_id = $2`, [terminalId, merchantId]);
  const row = result.rows[0];
  if (row === undefined) throw new KobanError('terminal_not_found');
  return toTerminal(row);
}

function toTerminal(row: TerminalRow): Terminal {
  assert(row.id.length > 0, 'a terminal row has an id');
  return { id: row.id, storeId: row.store_id, name: row.name, status: row.status, createdAt: row.created_at, lastActiveAt: row.last_active_at };
}
