/**
 * How every Koban process learns of a change to shared settings (switches, risk rules) within one
 * second: each subscriber reloads its small table on a timer (≤ 1 s), and on PostgreSQL a LISTEN on
 * one held connection makes the reload immediate. PGlite is one process with one connection, so it
 * only polls (holding its single connection for LISTEN would stop everything else).
 */
import type pg from 'pg';
import type { Database } from '../platform/db/database.ts';

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
  let listener: pg.PoolClient | null = null;
  let connecting = false;
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

  const listen = async (): Promise<void> => {
    if (db.kind !== 'postgres' || listener !== null || connecting || closed) return;
    connecting = true;
    try {
      const client = await db.pool.connect();
      client.on('notification', (message) => {
        if (message.channel === CHANGE_CHANNEL && message.payload !== undefined) run(message.payload);
      });
      client.on('error', () => {
        // The connection broke: drop it; the poll keeps everyone current and the next tick listens again.
        if (listener === client) listener = null;
        client.release(true);
      });
      await client.query(`listen ${CHANGE_CHANNEL}`);
      if (closed) client.release(true);
      else listener = client;
    } finally {
      connecting = false;
    }
  };

  return {
    subscribe(topic, reload) {
      subscribers.set(topic, { reload, running: false, again: false });
    },
    start() {
      if (timer !== null) return;
      timer = setInterval(() => {
        for (const topic of subscribers.keys()) run(topic);
        listen().catch(options.onError);
      }, options.intervalMs);
      timer.unref();
      listen().catch(options.onError);
    },
    async close() {
      closed = true;
      if (timer !== null) clearInterval(timer);
      const client = listener;
      listener = null;
      client?.release(true);
    },
  };
}

/** Inside the transaction that changed something: delivered to every listener when it commits. */
export async function notifyChange(client: Pick<pg.PoolClient, 'query'>, topic: string): Promise<void> {
  await client.query('select pg_notify($1, $2)', [CHANGE_CHANNEL, topic]);
}
