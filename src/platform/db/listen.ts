/**
 * One held PostgreSQL connection LISTENing on a channel, for the modules that must hear a NOTIFY at once
 * (settings changes, customer feed entries). `ensure()` connects when there is no connection yet (call
 * it from a timer: a broken connection is dropped and the next call listens again); callers keep their
 * own poll for what a broken connection misses. On PGlite it does nothing: PGlite has one connection,
 * and holding it for LISTEN would stop everything else.
 */
import type pg from 'pg';
import type { Database } from './database.ts';

export interface NotificationListener {
  ensure(): Promise<void>;
  close(): void;
}

export function createNotificationListener(db: Database, channel: string, onPayload: (payload: string) => void): NotificationListener {
  let listener: pg.PoolClient | null = null;
  let connecting = false;
  let closed = false;

  const connect = async (): Promise<void> => {
    const client = await db.pool.connect();
    // A broken connection can report more than one error (the server's notice, then the socket
    // closing) and pg-pool throws on a second release: release exactly once.
    let released = false;
    const drop = (): void => {
      if (listener === client) listener = null;
      if (released) return;
      released = true;
      client.release(true);
    };
    client.on('notification', (message) => {
      if (message.channel === channel && message.payload !== undefined) onPayload(message.payload);
    });
    client.on('error', drop);
    try {
      await client.query(`listen ${channel}`);
    } catch (error) {
      drop();
      throw error;
    }
    if (closed) drop();
    else {
      listener = client;
      closeListener = drop;
    }
  };
  let closeListener: () => void = () => undefined;

  return {
    async ensure() {
      if (db.kind !== 'postgres' || listener !== null || connecting || closed) return;
      connecting = true;
      try {
        await connect();
      } finally {
        connecting = false;
      }
    },
    close() {
      closed = true;
      closeListener();
    },
  };
}
