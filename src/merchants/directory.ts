/**
 * The merchant directory's writes: merchants, their stores and their terminals (tills). Each call is
 * idempotent on the fixed id it is given (a second call changes nothing), so seeding twice is harmless.
 * Only this module writes these tables; others read them or call here.
 */
import type { Database } from '../platform/db/database.ts';
import type { MerchantTables } from './tables.ts';

export interface NewMerchant {
  readonly id: string; readonly name: string; readonly categoryCode: string; readonly receivableAccountId: string;
  /** Latin-script name for the store QR's tag 59 when `name` is not printable ASCII (≤ 25 characters). */
  readonly nameLatin?: string | null;
}
export interface NewStore {
  readonly id: string; readonly merchantId: string; readonly name: string; readonly address: string;
  readonly latitude: number | null; readonly longitude: number | null;
  /** For the store QR: city in Latin script (≤ 15, tag 60), as written locally (≤ 15, tag 64), postal code (≤ 10, tag 61). */
  readonly city: string; readonly cityLocal: string | null; readonly postalCode: string;
}
export interface NewTerminal { readonly id: string; readonly storeId: string; readonly name: string }

// A mapped copy: Kysely wants an index-signature shape, which an interface does not have.
type MerchantRows = { [Table in keyof MerchantTables]: MerchantTables[Table] };
const merchantTables = (db: Database) => db.kysely.withTables<MerchantRows>();

export async function ensureMerchant(db: Database, merchant: NewMerchant): Promise<void> {
  await merchantTables(db).insertInto('merchants')
    .values({ id: merchant.id, name: merchant.name, category_code: merchant.categoryCode, receivable_account_id: merchant.receivableAccountId, name_latin: merchant.nameLatin ?? null })
    .onConflict((c) => c.column('id').doNothing()).execute();
}

export async function ensureStore(db: Database, store: NewStore): Promise<void> {
  await merchantTables(db).insertInto('stores')
    .values({ id: store.id, merchant_id: store.merchantId, name: store.name, address: store.address, latitude: store.latitude, longitude: store.longitude,
      city: store.city, city_local: store.cityLocal, postal_code: store.postalCode })
    .onConflict((c) => c.column('id').doNothing()).execute();
}

export async function ensureTerminal(db: Database, terminal: NewTerminal): Promise<void> {
  await merchantTables(db).insertInto('terminals').values({ id: terminal.id, store_id: terminal.storeId, name: terminal.name })
    .onConflict((c) => c.column('id').doNothing()).execute();
}
