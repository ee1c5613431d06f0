/** Koban's own merchant webhook management on the OPA listener (same conventions): endpoints, delivery log, redelivery. */
import { Type } from 'typebox';
import { Compile } from 'typebox/compile';
import { opaReply } from '../../merchants/opa/result-info.ts';
import { checkBody, type OpaServer } from '../../merchants/opa/server.ts';
import type { SecretBox } from '../../merchants/secret-box.ts';
import { createWebhookEndpoint } from '../../merchants/webhook-endpoints.ts';
import type { Database } from '../../platform/db/database.ts';
import { KobanError } from '../../platform/errors.ts';
import { isUuid } from '../../platform/ids.ts';
import { deliveryLog, redeliver } from './dispatcher.ts';

const EndpointBody = Compile(Type.Object({ url: Type.String({ minLength: 8, maxLength: 2048 }) }, { additionalProperties: false }));
const LOG_PAGE = 50;

export function registerWebhookRoutes(server: OpaServer, deps: { db: Database; box: SecretBox; allowHttp: boolean; now: () => Date }): void {
  server.route('POST', '/v2/webhooks/endpoints', async (call) => {
    const body = checkBody(EndpointBody, call.body);
    const issued = await createWebhookEndpoint(deps.db, deps.box, { merchantId: call.merchantId, url: body.url, allowHttp: deps.allowHttp });
    // The signing secret is shown here once; Koban keeps it sealed.
    return opaReply('SUCCESS', { httpStatus: 201, data: { endpointId: issued.endpointId, url: issued.url, signingSecret: issued.signingSecret } });
  });

  server.route('GET', '/v2/webhooks/deliveries', async (call) => {
    const entries = await deliveryLog(deps.db, call.merchantId, LOG_PAGE);
    return opaReply('SUCCESS', { data: { deliveries: entries.map((e) => ({ ...e, createdAt: e.createdAt.toISOString(), deliveredAt: e.deliveredAt?.toISOString() ?? null })) } });
  });

  server.route('POST', '/v2/webhooks/deliveries/:deliveryId/redeliver', async (call) => {
    const deliveryId = call.params.deliveryId ?? '';
    if (!isUuid(deliveryId)) throw new KobanError('webhook_delivery_not_found');
    await redeliver(deps.db, call.merchantId, deliveryId, deps.now());
    return opaReply('REQUEST_ACCEPTED');
  });
}
