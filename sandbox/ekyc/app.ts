// The sandbox eKYC provider (issue 19): identity verification reached by Koban only over HTTP, answering
// asynchronously by signed webhook, like the sandbox acquirer and bank. State is in memory; the outcome
// follows the documented test document references (README.md).
import type { Writable } from 'node:stream';
import { Type } from 'typebox';
import { BoundedMap } from '../shared/bounded-map.ts';
import { notFound } from '../shared/errors.ts';
import { IdempotencyHeadersSchema, IdempotencyStore, sendIdempotent } from '../shared/idempotency.ts';
import { newId } from '../shared/ids.ts';
import { bearerGuard, createSandboxApp, type SandboxApp } from '../shared/server.ts';
import { registerTestScope, registerWebhookTestRoutes } from '../shared/test-routes.ts';
import { WebhookDispatcher, type WebhookChaos, type WebhookRetryPolicy } from '../shared/webhooks.ts';

const VERIFICATION_CAPACITY = 100_000;

export type VerificationStatus = 'pending' | 'approved' | 'rejected' | 'needs_review';

export interface VerificationRecord {
  id: string;
  reference: string;
  status: VerificationStatus;
  reason: string | null;
  createdAtMs: number;
  decidedAtMs: number | null;
}

export interface EkycOptions {
  webhookUrl?: string | undefined;
  webhookSecret: string;
  apiKey: string;
  testApiKey?: string | undefined;
  now?: (() => number) | undefined;
  /** How long the provider "checks" before it decides and sends its webhook. */
  decisionDelayMs?: number | undefined;
  logger?: boolean | undefined;
  logStream?: Writable | undefined;
  webhookChaos?: WebhookChaos | undefined;
  webhookRetry?: Partial<WebhookRetryPolicy> | undefined;
}

/** Test document references decide the outcome (README.md); anything else is approved. */
export function decisionFor(documentRef: string): { status: Exclude<VerificationStatus, 'pending'>; reason: string | null } {
  if (documentRef.startsWith('doc_reject_expired')) return { status: 'rejected', reason: 'document_expired' };
  if (documentRef.startsWith('doc_reject')) return { status: 'rejected', reason: 'face_mismatch' };
  if (documentRef.startsWith('doc_review')) return { status: 'needs_review', reason: 'document_unclear' };
  return { status: 'approved', reason: null };
}

const Text = (maxLength: number) => Type.String({ minLength: 1, maxLength });
const BodySchema = Type.Object({
  reference: Text(200), fullName: Text(200), dateOfBirth: Type.String({ pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' }),
  address: Text(400), documentRef: Text(200), selfieRef: Text(200),
}, { additionalProperties: false });
const VerificationSchema = Type.Object({
  id: Type.String(), reference: Type.String(), status: Type.String(), reason: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.String(), decidedAt: Type.Union([Type.String(), Type.Null()]),
});
const ParamsSchema = Type.Object({ id: Type.String({ pattern: '^kyc_[A-Za-z0-9_-]{1,64}$' }) });

function view(record: VerificationRecord) {
  return {
    id: record.id, reference: record.reference, status: record.status, reason: record.reason,
    createdAt: new Date(record.createdAtMs).toISOString(), decidedAt: record.decidedAtMs === null ? null : new Date(record.decidedAtMs).toISOString(),
  };
}

export function buildEkyc(options: EkycOptions): SandboxApp {
  if (options.apiKey.length === 0 || options.webhookSecret.length === 0) throw new Error('apiKey and webhookSecret are required');
  const now = options.now ?? Date.now;
  const app = createSandboxApp({ logger: options.logger, logStream: options.logStream });
  const dispatcher = new WebhookDispatcher({ url: options.webhookUrl, secret: options.webhookSecret, now, log: app.log, chaos: options.webhookChaos, retry: options.webhookRetry });
  const verifications = new BoundedMap<VerificationRecord>('verifications', VERIFICATION_CAPACITY, 'reject');
  const idempotency = new IdempotencyStore(now);
  const timers = new Set<NodeJS.Timeout>();

  const decideLater = (record: VerificationRecord, documentRef: string): void => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      const decision = decisionFor(documentRef);
      record.status = decision.status;
      record.reason = decision.reason;
      record.decidedAtMs = now();
      dispatcher.emit(`verification.${decision.status}`, view(record));
    }, options.decisionDelayMs ?? 0);
    timers.add(timer);
  };

  app.addHook('onClose', async () => {
    for (const timer of timers) clearTimeout(timer);
    dispatcher.close();
  });
  void app.register(async (api) => {
    api.addHook('onRequest', bearerGuard(options.apiKey));
    registerEkycRoutes(api, { verifications, idempotency, now, decideLater });
  });
  registerTestScope(app, options.testApiKey, (scope) => registerWebhookTestRoutes(scope, dispatcher));
  return app;
}

interface EkycContext {
  verifications: BoundedMap<VerificationRecord>;
  idempotency: IdempotencyStore;
  now: () => number;
  decideLater: (record: VerificationRecord, documentRef: string) => void;
}

function registerEkycRoutes(api: SandboxApp, ctx: EkycContext): void {
  api.post('/v1/verifications', { schema: { headers: IdempotencyHeadersSchema, body: BodySchema, response: { 201: VerificationSchema } } }, (request, reply) => {
    sendIdempotent(ctx.idempotency, request, reply, () => {
      const record: VerificationRecord = { id: newId('kyc'), reference: request.body.reference, status: 'pending', reason: null, createdAtMs: ctx.now(), decidedAtMs: null };
      ctx.verifications.set(record.id, record);
      ctx.decideLater(record, request.body.documentRef);
      return { statusCode: 201, body: view(record) };
    });
  });
  api.get('/v1/verifications/:id', { schema: { params: ParamsSchema, response: { 200: VerificationSchema } } }, (request) => {
    const record = ctx.verifications.get(request.params.id);
    if (record === undefined) throw notFound('verification', 'id');
    return view(record);
  });
}
