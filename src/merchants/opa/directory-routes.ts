/**
 * Koban's own routes on the OPA listener for a merchant's ids (PayPay has none; Stripe's POST-to-update):
 * the merchant's id, its stores and terminals with Koban's ids, and the merchant's own names for them —
 * the `storeId`/`terminalId` strings it then sends in PayPay-compatible requests. Strict bodies (Koban's API).
 */
import { Type } from 'typebox';
import { Compile } from 'typebox/compile';
import type { Database } from '../../platform/db/database.ts';
import { EXTERNAL_ID_MAX, listMerchantIds, setExternalId, type ExternalIdKind } from '../external-ids.ts';
import { opaReply } from './result-info.ts';
import { checkBody, type OpaServer } from './server.ts';

const ExternalIdBody = Compile(Type.Object({
  // null removes the merchant's name; the Koban id keeps working either way.
  externalId: Type.Union([Type.String({ minLength: 1, maxLength: EXTERNAL_ID_MAX }), Type.Null()]),
}, { additionalProperties: false }));

export function registerMerchantDirectoryRoutes(server: OpaServer, db: Database): void {
  server.route('GET', '/v2/merchant/ids', async (call) => opaReply('SUCCESS', { data: await listMerchantIds(db, call.merchantId) }));

  const naming = (kind: ExternalIdKind, param: 'storeId' | 'terminalId') => server.route('POST', `/v2/merchant/${kind}s/:${param}`, async (call) => {
    const body = checkBody(ExternalIdBody, call.body);
    const targetId = call.params[param] ?? '';
    await setExternalId(db, call.merchantId, kind, targetId, body.externalId);
    return opaReply('SUCCESS', { data: { [param]: targetId, externalId: body.externalId } });
  }, { store_not_found: 'RESOURCE_NOT_FOUND', terminal_not_found: 'RESOURCE_NOT_FOUND' });
  naming('store', 'storeId');
  naming('terminal', 'terminalId');
}
