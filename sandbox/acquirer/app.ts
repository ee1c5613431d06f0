// The sandbox card acquirer: a small HTTP service shaped like Stripe/Adyen, reached by Koban only over HTTP.
// State is in memory; behaviour is fixed by the documented test cards (README.md).
import { createHmac } from 'node:crypto';
import type { Writable } from 'node:stream';
import { formatAmountMinor } from '../shared/amount.ts';
import { IdempotencyStore } from '../shared/idempotency.ts';
import { bearerGuard, createSandboxApp } from '../shared/server.ts';
import type { SandboxApp } from '../shared/server.ts';
import { registerTestScope, registerWebhookTestRoutes } from '../shared/test-routes.ts';
import { WebhookDispatcher } from '../shared/webhooks.ts';
import type { WebhookChaos, WebhookRetryPolicy } from '../shared/webhooks.ts';
import { AuthorizationBook } from './authorizations.ts';
import type { AuthorizationRecord } from './authorizations.ts';
import { CardVault } from './card-vault.ts';
import { registerApiRoutes, registerChallengeRoutes } from './routes.ts';

export interface AcquirerOptions {
  webhookUrl?: string | undefined;
  webhookSecret: string;
  apiKey: string;
  now?: (() => number) | undefined;
  logger?: boolean | undefined;
  logStream?: Writable | undefined;
  // Mounts `/v1/test/*` (webhook redelivery and inspection) behind this separate key; absent = not mounted.
  testApiKey?: string | undefined;
  // Base of the challenge URLs handed out; defaults to the scheme and Host of the request.
  publicUrl?: string | undefined;
  // Key of the card fingerprint HMAC; defaults to one derived from the API key, so fingerprints are stable per deployment.
  fingerprintKey?: string | undefined;
  webhookChaos?: WebhookChaos | undefined;
  webhookRetry?: Partial<WebhookRetryPolicy> | undefined;
}

export interface AcquirerEventData {
  authorizationId: string;
  reference: string;
  // The amount this change moved: authorised, captured, voided or refunded.
  amount: string;
  currency: 'JPY';
  status: string;
  declineCode: string | null;
  refundId?: string;
}

function eventData(record: AuthorizationRecord, details: { amountMinor: bigint; refundId?: string }): AcquirerEventData {
  const data: AcquirerEventData = {
    authorizationId: record.id, reference: record.reference, amount: formatAmountMinor(details.amountMinor),
    currency: record.currency, status: record.status, declineCode: record.declineCode,
  };
  if (details.refundId !== undefined) data.refundId = details.refundId;
  return data;
}

export function buildAcquirer(options: AcquirerOptions): SandboxApp {
  if (options.apiKey.length === 0 || options.webhookSecret.length === 0) throw new Error('apiKey and webhookSecret are required');
  const now = options.now ?? Date.now;
  const app = createSandboxApp({ logger: options.logger, logStream: options.logStream });
  const dispatcher = new WebhookDispatcher({
    url: options.webhookUrl, secret: options.webhookSecret, now, log: app.log, chaos: options.webhookChaos, retry: options.webhookRetry,
  });
  const vault = new CardVault(options.fingerprintKey ?? createHmac('sha256', options.apiKey).update('card-fingerprint').digest('hex'));
  const book = new AuthorizationBook(vault, now, (type, record, details) => {
    dispatcher.emit(type, eventData(record, details));
  });
  const ctx = { vault, book, idempotency: new IdempotencyStore(now), now, publicUrl: options.publicUrl };

  app.addHook('onRequest', async () => book.expireDueChallenges());
  app.addHook('onClose', async () => dispatcher.close());
  void app.register(async (api) => {
    api.addHook('onRequest', bearerGuard(options.apiKey));
    registerApiRoutes(api, ctx);
  });
  void app.register(async (scope) => registerChallengeRoutes(scope, ctx));
  registerTestScope(app, options.testApiKey, (scope) => registerWebhookTestRoutes(scope, dispatcher));
  return app;
}
