/**
 * The notifications module: picks a transport per channel from configuration (SMTP / HTTP SMS, or
 * the development outbox when they are not configured) and runs the dispatcher.
 */
import type { NotificationsConfig } from '../platform/config.ts';
import type { Database } from '../platform/db/database.ts';
import { createDevOutboxTransport } from './dev-outbox-transport.ts';
import { createDispatcher, type Dispatcher } from './dispatcher.ts';
import { createHttpSmsTransport } from './http-sms-transport.ts';
import { createSmtpTransport } from './smtp-transport.ts';
import type { Channel, Transport } from './types.ts';

export interface Notifications extends Dispatcher {
  /** True when at least one channel writes to the development outbox (so /dev/outbox is useful). */
  readonly usesDevOutbox: boolean;
  startPolling(onError: (error: unknown) => void): NodeJS.Timeout;
  close(): Promise<void>;
}

export function createNotifications(config: NotificationsConfig, db: Database): Notifications {
  const devOutbox = createDevOutboxTransport(db);
  const transports: Record<Channel, Transport> = {
    email: config.smtpUrl === null ? devOutbox : createSmtpTransport(config.smtpUrl, config.mailFrom),
    sms: config.smsUrl === null ? devOutbox : createHttpSmsTransport(config.smsUrl, config.smsApiToken),
  };
  const dispatcher = createDispatcher(db, transports);
  return {
    usesDevOutbox: config.smtpUrl === null || config.smsUrl === null,
    dispatchOnce: () => dispatcher.dispatchOnce(),
    startPolling(onError) {
      let running = false;
      const timer = setInterval(() => {
        if (running) return;
        running = true;
        dispatcher.dispatchOnce().catch(onError).finally(() => {
          running = false;
        });
      }, config.pollIntervalMs);
      timer.unref();
      return timer;
    },
    async close() {
      await Promise.all(Object.values(transports).map((transport) => transport.close?.()));
    },
  };
}
