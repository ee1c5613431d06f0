/**
 * Row types for Kysely: only the platform's own bookkeeping. A module that queries its tables through
 * Kysely widens the instance with its own declaration (`db.kysely.withTables<…>()`, see src/merchants/directory.ts), so the
 * platform never imports a domain module's tables.
 */
export interface KobanTables {
  schema_migrations: { version: number; name: string; checksum: string; applied_at: Date };
}
