/**
 * The console's side of merchants (issue 16/13), on the operator API and behind its gate (roles, CSRF,
 * audit of refusals): the review queue, a merchant's page (profile, stores, tills, volumes, cases),
 * the review decision, suspend/reactivate, store suspension and the payout hold — each with a reason,
 * each audited by the merchants module in the same transaction as the change.
 */
import { Type } from 'typebox';
import type { App } from '../http/app.ts';
import { listApplications, readMerchantProfile, reviewMerchant, setMerchantStatus, setPayoutHold, type ReviewDecision } from '../merchants/onboarding.ts';
import { listStores, listTerminals, setStoreStatus } from '../merchants/stores.ts';
import { actorOf, contextOf, OPS_SECURITY_NOTE, OPS_TAG, type OpsRouteConfig } from '../operations/http.ts';
import { KobanError } from '../platform/errors.ts';
import { isUuid } from '../platform/ids.ts';
import { businessDate } from '../payments/time.ts';
import { wireInteger } from '../payments/views.ts';
import { salesByDay } from './reads.ts';
import { merchantOut } from './routes.ts';
import { merchantsDepsOf, type PortalDeps } from './service.ts';

const tags = [OPS_TAG];
const description = OPS_SECURITY_NOTE;
const Reason = Type.String({ minLength: 3, maxLength: 1000, description: 'Why: kept in the audit log' });
const MerchantParams = Type.Object({ id: Type.String({ maxLength: 64 }) });
const merchantIdOf = (id: string): string => {
  if (!isUuid(id)) throw new KobanError('merchant_not_found');
  return id;
};

export function registerMerchantOpsRoutes(scope: App, deps: PortalDeps): void {
  const merchants = merchantsDepsOf(deps);
  scope.get('/v1/ops/merchant-applications', {
    config: { permission: 'merchants.read' } satisfies OpsRouteConfig, schema: { tags, description, summary: 'Merchant applications waiting for a review, oldest first' },
  }, async () => ({ applications: (await listApplications(deps.db)).map(merchantOut) }));

  scope.get('/v1/ops/merchants/:id/overview', {
    config: { permission: 'merchants.read' } satisfies OpsRouteConfig,
    schema: { tags, description, summary: 'A merchant: profile and state, stores, tills, sales of the last 30 days', params: MerchantParams },
  }, async (request) => {
    const id = merchantIdOf(request.params.id);
    const profile = await readMerchantProfile(deps.db, id);
    const [stores, terminals, days] = [await listStores(deps.db, id), await listTerminals(deps.db, id), await salesByDay(deps.db, id, businessDate(new Date(deps.now().getTime() - 30 * 86_400_000)))];
    return {
      merchant: merchantOut(profile),
      stores: stores.map((s) => ({ id: s.id, name: s.name, city: s.city, postalCode: s.postalCode, status: s.status })),
      terminals: terminals.map((t) => ({ id: t.id, storeId: t.storeId, name: t.name, status: t.status, lastActiveAt: t.lastActiveAt?.toISOString() ?? null })),
      salesByDay: days.map((d) => ({ date: d.date, storeName: d.storeName, count: d.count, gross: wireInteger(d.grossMinor), refunded: wireInteger(d.refundedMinor) })),
    };
  });

  scope.post('/v1/ops/merchants/:id/review', {
    config: { permission: 'merchants.review' } satisfies OpsRouteConfig,
    schema: { tags, description, summary: 'Decide an application: approve (a second operator above the four-eyes volume), reject with a reason, or ask for more', params: MerchantParams,
      body: Type.Object({ decision: Type.Union([Type.Literal('approve'), Type.Literal('reject'), Type.Literal('ask_for_more')]), reason: Type.Optional(Reason) }, { additionalProperties: false }) },
  }, async (request) => {
    const { decision, reason } = request.body;
    const review: ReviewDecision = decision === 'approve' ? { decision, ...(reason === undefined ? {} : { note: reason }) } : { decision, reason: reason ?? '' };
    return merchantOut(await reviewMerchant(merchants, merchantIdOf(request.params.id), review, actorOf(request), contextOf(request)));
  });

  scope.post('/v1/ops/merchants/:id/status', {
    config: { permission: 'merchants.contain' } satisfies OpsRouteConfig,
    schema: { tags, description, summary: 'Suspend (no payment anywhere, at once), reactivate or close a merchant', params: MerchantParams,
      body: Type.Object({ status: Type.Union([Type.Literal('suspended'), Type.Literal('active'), Type.Literal('closed')]), reason: Reason }, { additionalProperties: false }) },
  }, async (request) => merchantOut(await setMerchantStatus(merchants, merchantIdOf(request.params.id), request.body.status, request.body.reason, actorOf(request), contextOf(request))));

  scope.post('/v1/ops/merchants/:id/payout-hold', {
    config: { permission: 'merchants.contain' } satisfies OpsRouteConfig,
    schema: { tags, description, summary: 'Hold or release the merchant\'s payouts', params: MerchantParams, body: Type.Object({ held: Type.Boolean(), reason: Reason }, { additionalProperties: false }) },
  }, async (request) => merchantOut(await setPayoutHold(merchants, merchantIdOf(request.params.id), request.body.held, request.body.reason, actorOf(request), contextOf(request))));

  scope.post('/v1/ops/merchants/:id/stores/:storeId/status', {
    config: { permission: 'merchants.contain' } satisfies OpsRouteConfig,
    schema: { tags, description, summary: 'Suspend, reopen or close one store', params: Type.Object({ id: Type.String({ maxLength: 64 }), storeId: Type.String({ maxLength: 64 }) }),
      body: Type.Object({ status: Type.Union([Type.Literal('suspended'), Type.Literal('active'), Type.Literal('closed')]), reason: Reason }, { additionalProperties: false }) },
  }, async (request) => {
    if (!isUuid(request.params.storeId)) throw new KobanError('store_not_found');
    const store = await setStoreStatus(merchants, merchantIdOf(request.params.id), request.params.storeId, request.body.status, request.body.reason, actorOf(request), contextOf(request));
    return { id: store.id, name: store.name, status: store.status };
  });
}
