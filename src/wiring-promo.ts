/**
 * Campaigns for operators (issue 19), kept in the composition root because the wallet cannot import operations:
 * `GET /v1/ops/campaigns` (each with what is left of its budget and what it granted), `POST /v1/ops/campaigns`
 * (define and fund), `POST /v1/ops/campaigns/{id}/end`. Permission `promotions.manage` (finance,
 * administrators) to change, `promotions.read` to list; every change in the audit log with its reason.
 */
import { Type } from 'typebox';
import type { App } from './http/app.ts';
import { actorOf, contextOf, OPS_SECURITY_NOTE, OPS_TAG, type OpsRouteConfig } from './operations/http.ts';
import type { Operations } from './operations/operations.ts';
import type { Campaign, CampaignView } from './wallet/promo/campaigns.ts';
import type { Promotions } from './wallet/promo/promotions.ts';

const Money = Type.String({ pattern: '^[1-9][0-9]{0,11}$' });
const Reason = Type.String({ minLength: 3, maxLength: 200, pattern: '\\S' });
const CampaignBody = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 100, pattern: '\\S' }),
  merchantId: Type.Optional(Type.String({ format: 'uuid' })),
  categoryCode: Type.Optional(Type.String({ pattern: '^[0-9]{4}$' })),
  rateBps: Type.Integer({ minimum: 1, maximum: 10_000 }),
  capPerCustomer: Money,
  budget: Money,
  startsAt: Type.String({ format: 'date-time' }),
  endsAt: Type.String({ format: 'date-time' }),
  pointsValidDays: Type.Integer({ minimum: 1, maximum: 3650 }),
  reason: Reason,
}, { additionalProperties: false });
const CampaignOut = Type.Object({
  campaignId: Type.String(), name: Type.String(), merchantId: Type.Union([Type.String(), Type.Null()]), categoryCode: Type.Union([Type.String(), Type.Null()]),
  rateBps: Type.Integer(), capPerCustomer: Type.String(), budget: Type.String(), startsAt: Type.String(), endsAt: Type.String(), pointsValidDays: Type.Integer(),
  status: Type.String(), remaining: Type.Optional(Type.String()), granted: Type.Optional(Type.String()),
});

function campaignView(campaign: Campaign | CampaignView) {
  return {
    campaignId: campaign.id, name: campaign.name, merchantId: campaign.merchantId, categoryCode: campaign.categoryCode, rateBps: campaign.rateBps,
    capPerCustomer: campaign.capPerCustomerMinor.toString(), budget: campaign.budgetMinor.toString(), startsAt: campaign.startsAt.toISOString(),
    endsAt: campaign.endsAt.toISOString(), pointsValidDays: campaign.pointsValidDays, status: campaign.status,
    ...('remainingMinor' in campaign ? { remaining: campaign.remainingMinor.toString(), granted: campaign.grantedMinor.toString() } : {}),
  };
}

export function registerCampaignRoutes(scope: App, promotions: Promotions, audit: Operations['audit']): void {
  scope.get('/v1/ops/campaigns', {
    config: { permission: 'promotions.read' } satisfies OpsRouteConfig,
    schema: { tags: [OPS_TAG], summary: 'Campaigns, newest first, with what is left of each budget', description: OPS_SECURITY_NOTE,
      response: { 200: Type.Object({ items: Type.Array(CampaignOut) }) } },
  }, async (_request, reply) => {
    reply.header('cache-control', 'no-store');
    return { items: (await promotions.listCampaigns()).map(campaignView) };
  });

  scope.post('/v1/ops/campaigns', {
    config: { permission: 'promotions.manage' } satisfies OpsRouteConfig,
    schema: { tags: [OPS_TAG], summary: 'Define a campaign and fund its budget from the platform promotion account (audited)', description: OPS_SECURITY_NOTE,
      body: CampaignBody, response: { 201: CampaignOut } },
  }, async (request, reply) => {
    const actor = actorOf(request);
    const body = request.body;
    const campaign = await promotions.createCampaign({
      name: body.name, merchantId: body.merchantId ?? null, categoryCode: body.categoryCode ?? null, rateBps: body.rateBps,
      capPerCustomerMinor: BigInt(body.capPerCustomer), budgetMinor: BigInt(body.budget), startsAt: new Date(body.startsAt), endsAt: new Date(body.endsAt),
      pointsValidDays: body.pointsValidDays,
    }, `operator:${actor.id}`);
    const context = contextOf(request);
    await audit.record({ actor, action: 'campaign.created', target: { kind: 'campaign', id: campaign.id }, outcome: 'success',
      details: { reason: body.reason, budget: body.budget, rateBps: body.rateBps }, ip: context.ip, requestId: context.requestId });
    reply.code(201);
    return campaignView(campaign);
  });

  scope.post('/v1/ops/campaigns/:id/end', {
    config: { permission: 'promotions.manage' } satisfies OpsRouteConfig,
    schema: { tags: [OPS_TAG], summary: 'End a campaign: payments from now on earn nothing from it (audited)', description: OPS_SECURITY_NOTE,
      params: Type.Object({ id: Type.String({ format: 'uuid' }) }), body: Type.Object({ reason: Reason }, { additionalProperties: false }), response: { 200: CampaignOut } },
  }, async (request) => {
    const actor = actorOf(request);
    const campaign = await promotions.endCampaign(request.params.id);
    const context = contextOf(request);
    await audit.record({ actor, action: 'campaign.ended', target: { kind: 'campaign', id: campaign.id }, outcome: 'success',
      details: { reason: request.body.reason }, ip: context.ip, requestId: context.requestId });
    return campaignView(campaign);
  });
}
