import { Type } from 'typebox';
import type { Database } from '../platform/db/database.ts';
import { migrationsAreCurrent } from '../platform/db/migrate.ts';
import type { App } from './app.ts';

const Health = Type.Object({ status: Type.Literal('ok') });
const Readiness = Type.Object({
  status: Type.Union([Type.Literal('ready'), Type.Literal('not_ready')]),
  database: Type.Union([Type.Literal('reachable'), Type.Literal('unreachable')]),
  migrations: Type.Union([Type.Literal('current'), Type.Literal('pending'), Type.Literal('unknown')]),
  durability: Type.Union([Type.Literal('durable'), Type.Literal('trial')]),
});

/** /healthz: the process answers. /readyz: it can serve traffic (database up, schema current). */
export function registerHealthRoutes(app: App, db: Database): void {
  app.get('/healthz', { schema: { tags: ['operations'], summary: 'Liveness', response: { 200: Health } } }, async () => ({ status: 'ok' as const }));
  app.get('/readyz', { schema: { tags: ['operations'], summary: 'Readiness', response: { 200: Readiness, 503: Readiness } } }, async (_request, reply) => {
    let database: 'reachable' | 'unreachable' = 'reachable';
    let migrations: 'current' | 'pending' | 'unknown' = 'unknown';
    try {
      migrations = (await migrationsAreCurrent(db)) ? 'current' : 'pending';
    } catch {
      database = 'unreachable';
    }
    const ready = database === 'reachable' && migrations === 'current';
    reply.code(ready ? 200 : 503);
    return { status: ready ? 'ready' as const : 'not_ready' as const, database, migrations, durability: db.durability };
  });
}
