// Development-only endpoints (`/v1/test/...`). They answer only to a separate test key, so a Koban server
// holding just the API key cannot reach them; without a test key they are not mounted at all.
import { Type } from 'typebox';
import { notFound } from './errors.ts';
import { bearerGuard } from './server.ts';
import type { SandboxApp } from './server.ts';
import type { DeliveryRecord, WebhookDispatcher } from './webhooks.ts';

const EventParamsSchema = Type.Object({ eventId: Type.String({ pattern: '^evt_[A-Za-z0-9_-]{1,64}$' }) });

function deliveryView(record: DeliveryRecord): object {
  return {
    event: record.event,
    state: record.state,
    attempts: record.attempts,
    successes: record.successes,
    lastResult: record.lastResult,
  };
}

export function registerTestScope(app: SandboxApp, testApiKey: string | undefined, register: (scope: SandboxApp) => void): void {
  if (testApiKey === undefined) return;
  void app.register(async (scope) => {
    scope.addHook('onRequest', bearerGuard(testApiKey));
    register(scope);
  });
}

export function registerWebhookTestRoutes(scope: SandboxApp, dispatcher: WebhookDispatcher): void {
  scope.post('/v1/test/webhooks/redeliver/:eventId', { schema: { params: EventParamsSchema } }, (request, reply) => {
    const record = dispatcher.redeliver(request.params.eventId);
    if (record === undefined) throw notFound('event', 'eventId');
    return reply.code(202).send(deliveryView(record));
  });
  scope.get('/v1/test/webhooks/events/:eventId', { schema: { params: EventParamsSchema } }, (request) => {
    const record = dispatcher.get(request.params.eventId);
    if (record === undefined) throw notFound('event', 'eventId');
    return deliveryView(record);
  });
}
