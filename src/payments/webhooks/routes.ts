/**
 * Koban's own merchant webhook management on the OPA listener (same conventions): endpoints, delivery log,
 * redelivery. PayPay has no such API; the shapes follow Stripe (POST to update, `disabled`, secret rotation
 * with an overlap, `limit`/`startingAfter` cursor pages with `hasMore`).
 */
import { Type } from 'typebox';
import { Compile } from 'typebox/compile';
import { opaReply } from '../../merchants/opa/result-info.ts';
import { checkBody, type OpaServer } from '../../merchants/opa/server.ts';
import type { SecretBox } from '../../merchants/secret-box.ts';
import {
  createOrFindWebhookEndpoint, deleteWebhookEndpoint, getWebhookEndpoint, listWebhookEndpoints, ROTATION_OVERLAP_DEFAULT_SEC, ROTATION_OVERLAP_MAX_SEC,
  rotateWebhookSecret, updateWebhookEndpoint, type WebhookEndpointSummary,
} from '../../merchants/webhook-endpoints.ts';
import type { Database } from '../../platform/db/database.ts';
import { KobanError } from '../../platform/errors.ts';
import { isUuid } from '../../platform/ids.ts';
import { DELIVERY_PAGE_DEFAULT, DELIVERY_PAGE_MAX, deliveryLogPage } from './delivery-log.ts';
import { redeliver } from './dispatcher.ts';
import { EVENTS_PAGE_DEFAULT, eventsPage } from './events-api.ts';

/** `koban` (default): Koban's event envelope; `paypay`: PayPay's flat Transaction notification (render.ts). */
const Format = Type.Union([Type.Literal('koban'), Type.Literal('paypay')]);
const EndpointBody = Compile(Type.Object({ url: Type.String({ minLength: 8, maxLength: 2048 }), format: Type.Optional(Format) }, { additionalProperties: false }));
const UpdateBody = Compile(Type.Object({
  url: Type.Optional(Type.String({ minLength: 8, maxLength: 2048 })),
  format: Type.Optional(Format),
  disabled: Type.Optional(Type.Boolean()),
}, { additionalProperties: false, minProperties: 1 }));
const RotateBody = Compile(Type.Object({
  overlapSeconds: Type.Optional(Type.Integer({ minimum: 0, maximum: ROTATION_OVERLAP_MAX_SEC })),
}, { additionalProperties: false }));
const PageQuery = Compile(Type.Object({
  limit: Type.Optional(Type.String({ pattern: '^[1-9][0-9]{0,2}$' })),
  startingAfter: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
}, { additionalProperties: false }));

const EventsQuery = Compile(Type.Object({
  limit: Type.Optional(Type.String({ pattern: '^[1-9][0-9]{0,2}$' })),
  startingAfter: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  type: Type.Optional(Type.String({ pattern: '^[a-z]+\\.[a-z_]+$', maxLength: 64 })),
}, { additionalProperties: false }));

type Deps = { db: Database; box: SecretBox; allowHttp: boolean; now: () => Date };

const endpointView = (e: WebhookEndpointSummary) => ({
  endpointId: e.endpointId, url: e.url, format: e.format, disabled: e.status === 'disabled',
  previousSecretExpiresAt: e.previousSecretExpiresAt?.toISOString() ?? null, createdAt: e.createdAt.toISOString(), updatedAt: e.updatedAt.toISOString(),
});

function endpointIdOf(params: Readonly<Record<string, string>>): string {
  const endpointId = params.endpointId ?? '';
  if (!isUuid(endpointId)) throw new KobanError('not_found', { detail: 'no such webhook endpoint' });
  return endpointId;
}

export function registerWebhookRoutes(server: OpaServer, deps: Deps): void {
  registerEndpointRoutes(server, deps);

  server.route('GET', '/v2/webhooks/deliveries', async (call) => {
    // Only the paging parameters: `assumeMerchant` may ride along in the query (PayPay's scoping).
    const query = checkBody(PageQuery, Object.fromEntries(Object.entries({ limit: call.query.limit, startingAfter: call.query.startingAfter }).filter(([, v]) => v !== undefined)));
    const limit = Math.min(Number(query.limit ?? DELIVERY_PAGE_DEFAULT), DELIVERY_PAGE_MAX);
    const startingAfter = query.startingAfter === undefined ? null : query.startingAfter;
    if (startingAfter !== null && !isUuid(startingAfter)) throw new KobanError('validation_failed', { detail: 'startingAfter must be a delivery id', errors: [{ pointer: '/query/startingAfter', message: 'is not a delivery id' }] });
    const page = await deliveryLogPage(deps.db, call.merchantId, { limit, startingAfter });
    const deliveries = page.deliveries.map((e) => ({ ...e, createdAt: e.createdAt.toISOString(), deliveredAt: e.deliveredAt?.toISOString() ?? null }));
    return opaReply('SUCCESS', { data: { deliveries, hasMore: page.hasMore, nextCursor: page.hasMore ? deliveries.at(-1)?.deliveryId ?? null : null } });
  });

  server.route('GET', '/v2/events', async (call) => {
    const query = checkBody(EventsQuery, Object.fromEntries(Object.entries({ limit: call.query.limit, startingAfter: call.query.startingAfter, type: call.query.type }).filter(([, v]) => v !== undefined)));
    const startingAfter = query.startingAfter ?? null;
    if (startingAfter !== null && !isUuid(startingAfter)) throw new KobanError('validation_failed', { detail: 'startingAfter must be an event id', errors: [{ pointer: '/query/startingAfter', message: 'is not an event id' }] });
    const page = await eventsPage(deps.db, call.merchantId, { limit: Number(query.limit ?? EVENTS_PAGE_DEFAULT), startingAfter, type: query.type ?? null, now: deps.now() });
    const last = page.events.at(-1) as { id?: string } | undefined;
    return opaReply('SUCCESS', { data: { events: page.events, hasMore: page.hasMore, nextCursor: page.hasMore ? last?.id ?? null : null } });
  });

  server.route('POST', '/v2/webhooks/deliveries/:deliveryId/redeliver', async (call) => {
    const deliveryId = call.params.deliveryId ?? '';
    if (!isUuid(deliveryId)) throw new KobanError('webhook_delivery_not_found');
    await redeliver(deps.db, call.merchantId, deliveryId, deps.now());
    return opaReply('REQUEST_ACCEPTED');
  });
}

function registerEndpointRoutes(server: OpaServer, deps: Deps): void {
  server.route('POST', '/v2/webhooks/endpoints', async (call) => {
    const body = checkBody(EndpointBody, call.body);
    const result = await createOrFindWebhookEndpoint(deps.db, deps.box, { merchantId: call.merchantId, url: body.url, allowHttp: deps.allowHttp, ...(body.format === undefined ? {} : { format: body.format }) });
    // The signing secret is shown here once; Koban keeps it sealed. The same URL again answers the existing endpoint, without it.
    if (result.created) return opaReply('SUCCESS', { httpStatus: 201, data: { endpointId: result.endpointId, url: result.url, format: result.format, disabled: false, signingSecret: result.signingSecret } });
    return opaReply('SUCCESS', { data: endpointView(result) });
  });

  server.route('GET', '/v2/webhooks/endpoints', async (call) => {
    const endpoints = await listWebhookEndpoints(deps.db, call.merchantId);
    return opaReply('SUCCESS', { data: { endpoints: endpoints.map(endpointView) } });
  });

  server.route('GET', '/v2/webhooks/endpoints/:endpointId', async (call) =>
    opaReply('SUCCESS', { data: endpointView(await getWebhookEndpoint(deps.db, call.merchantId, endpointIdOf(call.params))) }));

  server.route('POST', '/v2/webhooks/endpoints/:endpointId', async (call) => {
    const body = checkBody(UpdateBody, call.body);
    const updated = await updateWebhookEndpoint(deps.db, {
      merchantId: call.merchantId, endpointId: endpointIdOf(call.params), allowHttp: deps.allowHttp, now: deps.now(),
      ...(body.url === undefined ? {} : { url: body.url }), ...(body.disabled === undefined ? {} : { status: body.disabled ? 'disabled' : 'active' }),
      ...(body.format === undefined ? {} : { format: body.format }),
    });
    return opaReply('SUCCESS', { data: endpointView(updated) });
  });

  server.route('DELETE', '/v2/webhooks/endpoints/:endpointId', async (call) => {
    await deleteWebhookEndpoint(deps.db, call.merchantId, endpointIdOf(call.params), deps.now());
    return opaReply('SUCCESS', { data: { endpointId: call.params.endpointId, deleted: true } });
  });

  server.route('POST', '/v2/webhooks/endpoints/:endpointId/rotate-secret', async (call) => {
    const body = checkBody(RotateBody, call.body ?? {});
    const rotated = await rotateWebhookSecret(deps.db, deps.box, {
      merchantId: call.merchantId, endpointId: endpointIdOf(call.params), overlapSec: body.overlapSeconds ?? ROTATION_OVERLAP_DEFAULT_SEC, now: deps.now(),
    });
    return opaReply('SUCCESS', { data: { endpointId: rotated.endpointId, signingSecret: rotated.signingSecret, previousSecretExpiresAt: rotated.previousSecretExpiresAt?.toISOString() ?? null } });
  });
}
