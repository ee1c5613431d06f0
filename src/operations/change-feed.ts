/**
 * How every Koban process learns of a change to shared settings (switches, risk rules) within one
 * second: each subscriber reloads its small table on a timer (≤ 1 s), and on PostgreSQL a LISTEN on
 * one held connection makes the reload immediate. PGlite is one process with one connection, so it
 * only polls (holding its single connection for LISTEN would stop everything else).
 */
import type pg from 'pg';
import type { Database } from '../platform/db/database.ts';
import { createNotificationListener } from '../platform/db/listen.ts';

export const CHANGE_CHANNEL = 'koban_changes';

export interface ChangeFeed {
  /** `topic` is the NOTIFY payload that triggers an immediate reload (e.g. `switches`). */
  subscribe(topic: string, reload: () => Promise<void>): void;
  start(): void;
  close(): Promise<void>;
}

export function createChangeFeed(db: Database, options: { intervalMs: number; onError: (error: unknown) => void }): ChangeFeed {
  const subscribers = new Map<string, { reload: () => Promise<void>; running: boolean; again: boolean }>();
  let timer: NodeJS.Timeout | null = null;
  let closed = false;

  const run = (topic: string): void => {
    const subscriber = subscribers.get(topic);
    if (subscriber === undefined || closed) return;
    // A notification during a reload asks for one more reload afterwards, never a pile of them.
    if (subscriber.running) {
      subscriber.again = true;
      return;
    }
    subscriber.running = true;
    subscriber.reload().catch(options.onError).finally(() => {
      subscriber.running = false;
      if (subscriber.again) {
        subscriber.again = false;
        run(topic);
      }
    });
  };

  const listener = createNotificationListener(db, CHANGE_CHANNEL, run);

  return {
    subscribe(topic, reload) {
      subscribers.set(topic, { reload, running: false, again: false });
    },
    start() {
      if (timer !== null) return;
      timer = setInterval(() => {
        for (const topic of subscribers.keys()) run(topic);
        listener.ensure().catch(options.onError);
      }, options.intervalMs);
      timer.unref();
      listener.ensure().catch(options.onError);
    },
    async close() {
      closed = true;
      if (timer !== null) clearInterval(timer);
      listener.close();
    },
  };
}

/** Inside the transaction that changed something: delivered to every listener when it commits. */
export async function notifyChange(client: Pick<pg.PoolClient, 'query'>, topic: string): Promise<void> {
  await client.query('select pg_notify($1, $2)', [CHANGE_CHANNEL, topic]);
}
