/**
 * Merchant-chosen store and terminal ids (PayPay's `storeId`/`terminalId`: any string up to 255). A merchant
 * names its Koban stores and terminals with them; a request's id is mapped here to the Koban store or
 * terminal. A merchant's own name wins over a Koban id of the same spelling, so a merchant that names a
 * store with a UUID still reaches the store it named.
 */
import type { Database, Queryable } from '../platform/db/database.ts';
import { sqlState, withTransaction } from '../platform/db/database.ts';
import { KobanError } from '../platform/errors.ts';
import { isUuid } from '../platform/ids.ts';

export const EXTERNAL_ID_MAX = 255;
export type ExternalIdKind = 'store' | 'terminal';

export interface ResolvedRefs {
  /** Koban's store id, or null when the merchant's storeId names none of its stores. */
  readonly storeId: string | null;
  readonly terminalId: string | null;
}

/** Maps a request's storeId/terminalId (merchant-chosen or Koban's) to Koban's ids; unknown ones map to null. */
export async function resolveMerchantRefs(db: Queryable, merchantId: string, refs: { storeRef: string | null; terminalRef: string | null }): Promise<ResolvedRefs> {
  // Named (prepared per connection): every till payment resolves its refs, and planning cost more than running (issue 11).
  const result = await db.query<{ kind: ExternalIdKind; target_id: string }>({ name: 'merchants_resolve_refs', text:
    `select 'store' as kind, coalesce(
        (select target_id from merchant_external_ids where merchant_id = $1 and kind = 'store' and external_id = $2),
        (select s.id from stores s where s.merchant_id = $1 and $3::uuid is not null and s.id = $3::uuid)) as target_id
     union all
     select 'terminal', coalesce(
        (select target_id from merchant_external_ids where merchant_id = $1 and kind = 'terminal' and external_id = $4),
        (select t.id from terminals t join stores s on s.id = t.store_id where s.merchant_id = $1 and $5::uuid is not null and t.id = $5::uuid))`,
    values: [merchantId, refs.storeRef, uuidOrNull(refs.storeRef), refs.terminalRef, uuidOrNull(refs.terminalRef)] });
  const of = (kind: ExternalIdKind) => result.rows.find((r) => r.kind === kind)?.target_id ?? null;
  return { storeId: refs.storeRef === null ? null : of('store'), terminalId: refs.terminalRef === null ? null : of('terminal') };
}

function uuidOrNull(value: string | null): string | null {
  return value !== null && isUuid(value) ? value : null;
}

/**
 * Names one of the merchant's stores or terminals with the merchant's own id (null: removes the name).
 * The store or terminal must be the merchant's; an id another store of the merchant already has is refused.
 */
export async function setExternalId(db: Database, merchantId: string, kind: ExternalIdKind, targetId: string, externalId: string | null): Promise<void> {
  if (!isUuid(targetId) || !(await ownsTarget(db, merchantId, kind, targetId))) throw new KobanError(kind === 'store' ? 'store_not_found' : 'terminal_not_found');
  try {
    await withTransaction(db, async (client) => {
      await client.query(`delete from merchant_external_ids where kind = $1 and target_id = $2`, [kind, targetId]);
      if (externalId === null) return;
      await client.query(`insert into merchant_external_ids (merchant_id, kind, external_id, target_id) values ($1, $2, $3, $4)`, [merchantId, kind, externalId, targetId]);
    });
  } catch (error) {
    if (sqlState(error) === '23505') throw new KobanError('external_id_in_use', { detail: `another ${kind} of this merchant is already named ${JSON.stringify(externalId)}` });
    throw error;
  }
}

async function ownsTarget(db: Database, merchantId: string, kind: ExternalIdKind, targetId: string): Promise<boolean> {
  const sql = kind === 'store'
    ? `select 1 from stores where id = $2 and merchant_id = $1`
    : `select 1 from terminals t join stores s on s.id = t.store_id where t.id = $2 and s.merchant_id = $1`;
  return (await db.pool.query(sql, [merchantId, targetId])).rows.length === 1;
}

export interface MerchantIdsListing {
  readonly merchantId: string;
  readonly stores: ReadonlyArray<{
    readonly storeId: string; readonly externalId: string | null; readonly name: string; readonly status: string;
    readonly terminals: ReadonlyArray<{ readonly terminalId: string; readonly externalId: string | null; readonly name: string; readonly status: string }>;
  }>;
}

/** Bounded: a merchant with more stores or terminals than this pages through the portal instead. */
export const MERCHANT_IDS_LISTING_MAX = 1_000;

/** The merchant's own id, its stores and terminals with Koban's ids and the merchant's names for them. */
export async function listMerchantIds(db: Database, merchantId: string): Promise<MerchantIdsListing> {
  const rows = await db.pool.query<{ store_id: string; store_name: string; store_status: string; store_ext: string | null; terminal_id: string | null; terminal_name: string | null; terminal_status: string | null; terminal_ext: string | null }>(
    `select s.id as store_id, s.name as store_name, s.status as store_status, se.external_id as store_ext,
            t.id as terminal_id, t.name as terminal_name, t.status as terminal_status, te.external_id as terminal_ext
     from stores s
     left join merchant_external_ids se on se.kind = 'store' and se.target_id = s.id
     left join terminals t on t.store_id = s.id
     left join merchant_external_ids te on te.kind = 'terminal' and te.target_id = t.id
     where s.merchant_id = $1 order by s.created_at, s.id, t.created_at, t.id limit $2`, [merchantId, MERCHANT_IDS_LISTING_MAX]);
  const stores = new Map<string, { storeId: string; externalId: string | null; name: string; status: string; terminals: Array<{ terminalId: string; externalId: string | null; name: string; status: string }> }>();
  for (const row of rows.rows) {
    let store = stores.get(row.store_id);
    if (store === undefined) {
      store = { storeId: row.store_id, externalId: row.store_ext, name: row.store_name, status: row.store_status, terminals: [] };
      stores.set(row.store_id, store);
    }
    if (row.terminal_id !== null) store.terminals.push({ terminalId: row.terminal_id, externalId: row.terminal_ext, name: row.terminal_name ?? '', status: row.terminal_status ?? '' });
  }
  return { merchantId, stores: [...stores.values()] };
}
