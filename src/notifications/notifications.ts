/**
 * The notifications module: picks a transport per channel from configuration (SMTP / HTTP SMS, or
 * the development outbox when they are not configured) and runs the one dispatcher over every outbound
 * queue: its own e-mail/SMS queue and the queues other modules register (payments' merchant webhooks).
 */
import type { NotificationsConfig } from '../platform/config.ts';
import type { Database } from '../platform/db/database.ts';
import { every } from '../platform/every.ts';
import { createDevOutboxTransport } from './dev-outbox-transport.ts';
import { messageQueue, queuePass, type ClaimedRow, type Dispatcher, type OutboxQueue, type QueuePass } from './dispatcher.ts';
import { createHttpSmsTransport } from './http-sms-transport.ts';
import { createSmtpTransport } from './smtp-transport.ts';
import type { Channel, Transport } from './types.ts';

export interface Notifications extends Dispatcher {
  /** True when at least one channel writes to the development outbox (so /dev/outbox is useful). */
  readonly usesDevOutbox: boolean;
  /** Adds a queue to the dispatcher, polled every `intervalMs` (its own pace; the same loop). Before `startPolling`. */
  addQueue<Row extends ClaimedRow>(queue: OutboxQueue<Row>, intervalMs: number): void;
  /** One timer per queue, on every node: the rows are claimed with a lease, so nodes share them. */
  startPolling(onError: (error: unknown) => void): NodeJS.Timeout[];
  close(): Promise<void>;
}

export function createNotifications(config: NotificationsConfig, db: Database): Notifications {
  const devOutbox = createDevOutboxTransport(db);
  const transports: Record<Channel, Transport> = {
    email: config.smtpUrl === null ? devOutbox : createSmtpTransport(config.smtpUrl, config.mailFrom),
    sms: config.smsUrl === null ? devOutbox : createHttpSmsTransport(config.smsUrl, config.smsApiToken),
  };
  const passes: Array<{ name: string; pass: QueuePass; intervalMs: number }> = [{ name: 'messages', pass: queuePass(db, messageQueue(transports)), intervalMs: config.pollIntervalMs }];
  return {
    usesDevOutbox: config.smtpUrl === null || config.smsUrl === null,
    addQueue(queue, intervalMs) {
      passes.push({ name: queue.name, pass: queuePass(db, queue), intervalMs });
    },
    async dispatchOnce() {
      let claimed = 0;
      for (const { pass } of passes) claimed += await pass();
      return claimed;
    },
    startPolling(onError) {
      return passes.map(({ pass, intervalMs }) => every(intervalMs, pass, onError));
    },
    async close() {
      await Promise.all(Object.values(transports).map((transport) => transport.close?.()));
    },
  };
}
