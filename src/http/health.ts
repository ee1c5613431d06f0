import { Type } from 'typebox';
import type { Database } from '../platform/db/database.ts';
import { migrationsAreCurrent } from '../platform/db/migrate.ts';
import type { App } from './app.ts';

/** `node`: which of several Koban processes answered (KOBAN_NODE_ID, else hostname:pid). */
const Health = Type.Object({ status: Type.Literal('ok'), node: Type.String() });
const Readiness = Type.Object({
  status: Type.Union([Type.Literal('ready'), Type.Literal('not_ready')]),
  /** `not_checked`: the node is draining and answers at once, whatever the database. */
  database: Type.Union([Type.Literal('reachable'), Type.Literal('unreachable'), Type.Literal('too_slow'), Type.Literal('not_checked')]),
  migrations: Type.Union([Type.Literal('current'), Type.Literal('pending'), Type.Literal('unknown')]),
  durability: Type.Union([Type.Literal('durable'), Type.Literal('trial')]),
  /** Why it is not ready, for the operator reading a probe's output. */
  reason: Type.Optional(Type.String()),
});

/** /readyz answers within this even when the database or the pool is stuck (issue 12). */
export const READINESS_CHECK_TIMEOUT_MS = 2_000;

type Check = { database: 'reachable' | 'unreachable' | 'too_slow'; migrations: 'current' | 'pending' | 'unknown'; reason?: string };

/** /healthz: the process answers. /readyz: it can serve traffic (database up, schema current). */
/** `draining`: true once the node was told to stop (src/http/drain.ts): /readyz then fails, so the balancer stops sending first. */
export function registerHealthRoutes(app: App, db: Database, nodeId: string, draining: () => boolean = () => false): void {
  app.get('/healthz', { schema: { tags: ['operations'], summary: 'Liveness, and which node answered', response: { 200: Health } } }, async () => ({ status: 'ok' as const, node: nodeId }));
  app.get('/readyz', { schema: { tags: ['operations'], summary: 'Readiness (answers within 2 s; `reason` says why not ready)', response: { 200: Readiness, 503: Readiness } } }, async (_request, reply) => {
    if (draining()) {
      // At once, so the balancer's check never times out on a busy database while this node leaves.
      reply.code(503).header('retry-after', '2');
      return { status: 'not_ready' as const, database: 'not_checked' as const, migrations: 'unknown' as const, durability: db.durability, reason: 'draining: this node is shutting down' };
    }
    const check = await checkReadiness(db, READINESS_CHECK_TIMEOUT_MS);
    const ready = check.database === 'reachable' && check.migrations === 'current';
    reply.code(ready ? 200 : 503);
    if (!ready) reply.header('retry-after', '2');
    return { status: ready ? 'ready' as const : 'not_ready' as const, ...check, durability: db.durability };
  });
}

async function checkReadiness(db: Database, timeoutMs: number): Promise<Check> {
  let timer: NodeJS.Timeout | undefined;
  const tooSlow = new Promise<Check>((resolve) => {
    timer = setTimeout(() => resolve({ database: 'too_slow', migrations: 'unknown', reason: `the database did not answer within ${timeoutMs} ms (stalled, or every pool connection busy)` }), timeoutMs);
  });
  const probe = migrationsAreCurrent(db).then(
    (current): Check => current ? { database: 'reachable', migrations: 'current' } : { database: 'reachable', migrations: 'pending', reason: 'migrations are pending' },
    (error: unknown): Check => ({ database: 'unreachable', migrations: 'unknown', reason: `the database is unreachable: ${error instanceof Error ? error.message : String(error)}` }),
  );
  try {
    return await Promise.race([probe, tooSlow]);
  } finally {
    clearTimeout(timer);
  }
}
