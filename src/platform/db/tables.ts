/**
 * Row types for Kysely. Each module declares its own tables; this file only joins them so one
 * Kysely instance can query across modules where a read needs it.
 */
import type { LedgerTables } from '../../ledger/tables.ts';
import type { MerchantTables } from '../../merchants/tables.ts';

export interface KobanTables extends LedgerTables, MerchantTables {
  schema_migrations: { version: number; name: string; checksum: string; applied_at: Date };
}
