// The sandbox bank: direct-debit mandates confirmed by the bank's own one-time code, debits, and payouts,
// reached by Koban only over HTTP. State is in memory; outcomes follow the documented test accounts (README.md).
import { createHmac } from 'node:crypto';
import type { Writable } from 'node:stream';
import { IdempotencyStore } from '../shared/idempotency.ts';
import { bearerGuard, createSandboxApp } from '../shared/server.ts';
import type { SandboxApp } from '../shared/server.ts';
import { registerTestScope, registerWebhookTestRoutes } from '../shared/test-routes.ts';
import { WebhookDispatcher } from '../shared/webhooks.ts';
import type { WebhookChaos, WebhookRetryPolicy } from '../shared/webhooks.ts';
import { MandateBook } from './mandates.ts';
import { registerBankRoutes, registerBankTestRoutes } from './routes.ts';
import { DEFAULT_PAYOUT_SETTLE_DELAY_MS, TransferBook } from './transfers.ts';
import { eventData } from './views.ts';

export interface BankOptions {
  webhookUrl?: string | undefined;
  webhookSecret: string;
  apiKey: string;
  now?: (() => number) | undefined;
  logger?: boolean | undefined;
  logStream?: Writable | undefined;
  // Mounts `/v1/test/*` (one-time codes, webhook redelivery) behind this separate key; absent = not mounted.
  testApiKey?: string | undefined;
  // Key the one-time codes are derived from; defaults to one derived from the API key.
  otpKey?: string | undefined;
  payoutSettleDelayMs?: number | undefined;
  webhookChaos?: WebhookChaos | undefined;
  webhookRetry?: Partial<WebhookRetryPolicy> | undefined;
}

export function buildBank(options: BankOptions): SandboxApp {
  if (options.apiKey.length === 0 || options.webhookSecret.length === 0) throw new Error('apiKey and webhookSecret are required');
  const now = options.now ?? Date.now;
  const app = createSandboxApp({ logger: options.logger, logStream: options.logStream });
  const dispatcher = new WebhookDispatcher({
    url: options.webhookUrl, secret: options.webhookSecret, now, log: app.log, chaos: options.webhookChaos, retry: options.webhookRetry,
  });
  const emit = (type: string, record: Parameters<typeof eventData>[0]): void => {
    dispatcher.emit(type, eventData(record));
  };
  const otpKey = options.otpKey ?? createHmac('sha256', options.apiKey).update('mandate-otp').digest('hex');
  const mandates = new MandateBook(otpKey, now, emit);
  const transfers = new TransferBook(mandates, now, emit, options.payoutSettleDelayMs ?? DEFAULT_PAYOUT_SETTLE_DELAY_MS);
  const ctx = { mandates, transfers, idempotency: new IdempotencyStore(now) };

  app.addHook('onRequest', async () => mandates.expireDue());
  app.addHook('onClose', async () => {
    transfers.close();
    dispatcher.close();
  });
  void app.register(async (api) => {
    api.addHook('onRequest', bearerGuard(options.apiKey));
    registerBankRoutes(api, ctx);
  });
  registerTestScope(app, options.testApiKey, (scope) => {
    registerWebhookTestRoutes(scope, dispatcher);
    registerBankTestRoutes(scope, mandates);
  });
  return app;
}
