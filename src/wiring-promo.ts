/**
 * Campaigns for operators (issue 19), kept in the composition root because the wallet cannot import operations:
 * `GET /v1/ops/campaigns` (each with what is left of its budget and what it granted), `POST /v1/ops/campaigns`
 * (define and fund), `POST /v1/ops/campaigns/{id}/end`. Permission `promotions.manage` (finance,
 * administrators) to change, `promotions.read` to list; every change in the audit log with its reason.
 *
 * Four eyes above a budget (`KOBAN_CAMPAIGN_FOUR_EYES_BUDGET`, ¥1,000,000 by default): the campaign is written
 * `proposed` with its budget already reserved in its own account (202, with the proposal's id), and earns nothing
 * until another operator approves it (`POST /v1/ops/campaigns/proposals/{id}/approve`), which only changes its status
 * in the approval's transaction; a rejection (`…/reject`) leaves it `rejected` for good.
 */
import { Type, type Static } from 'typebox';
import type { App } from './http/app.ts';
import { actorOf, contextOf, OPS_SECURITY_NOTE, OPS_TAG, type OpsRouteConfig } from './operations/http.ts';
import type { Operations } from './operations/operations.ts';
import type { Decider, Proposal } from './operations/proposals/proposals.ts';
import type pg from 'pg';
import { assert } from './platform/assert.ts';
import { withTransaction, type Database } from './platform/db/database.ts';
import { KobanError } from './platform/errors.ts';
import type { Campaign, CampaignDefinition, CampaignView } from './wallet/promo/campaigns.ts';
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
  proposalId: Type.Optional(Type.String()),
});
const Decision = { params: Type.Object({ id: Type.String({ format: 'uuid' }) }), body: Type.Object({ reason: Reason }, { additionalProperties: false }), response: { 200: CampaignOut } };

function campaignView(campaign: Campaign | CampaignView, proposalId?: string) {
  return {
    ...(proposalId === undefined ? {} : { proposalId }),
    campaignId: campaign.id, name: campaign.name, merchantId: campaign.merchantId, categoryCode: campaign.categoryCode, rateBps: campaign.rateBps,
    capPerCustomer: campaign.capPerCustomerMinor.toString(), budget: campaign.budgetMinor.toString(), startsAt: campaign.startsAt.toISOString(),
    endsAt: campaign.endsAt.toISOString(), pointsValidDays: campaign.pointsValidDays, status: campaign.status,
    ...('remainingMinor' in campaign ? { remaining: campaign.remainingMinor.toString(), granted: campaign.grantedMinor.toString() } : {}),
  };
}

function definitionOf(body: Static<typeof CampaignBody>): CampaignDefinition {
  return {
    name: body.name, merchantId: body.merchantId ?? null, categoryCode: body.categoryCode ?? null, rateBps: body.rateBps,
    capPerCustomerMinor: BigInt(body.capPerCustomer), budgetMinor: BigInt(body.budget), startsAt: new Date(body.startsAt), endsAt: new Date(body.endsAt),
    pointsValidDays: body.pointsValidDays,
  };
}

export function registerCampaignRoutes(scope: App, db: Database, promotions: Promotions, operations: Operations, fourEyesBudgetMinor: bigint): void {
  const audit = operations.audit;
  scope.get('/v1/ops/campaigns', {
    config: { permission: 'promotions.read' } satisfies OpsRouteConfig,
    schema: { tags: [OPS_TAG], summary: 'Campaigns, newest first, with what is left of each budget (a proposed one with its proposal); the next, older page with before=nextBefore', description: OPS_SECURITY_NOTE,
      querystring: Type.Object({ limit: Type.Optional(Type.String({ pattern: '^[1-9][0-9]{0,2}$' })), before: Type.Optional(Type.String({ maxLength: 200 })) }, { additionalProperties: false }),
      response: { 200: Type.Object({ items: Type.Array(CampaignOut), nextBefore: Type.Union([Type.String(), Type.Null()]) }) } },
  }, async (request, reply) => {
    reply.header('cache-control', 'no-store');
    const { query } = request;
    const page = await promotions.listCampaigns({ ...(query.limit === undefined ? {} : { limit: Number(query.limit) }), ...(query.before === undefined ? {} : { before: query.before }) });
    const pending = new Map((await operations.proposals.list('pending')).filter((p) => p.kind === 'campaign_budget').map((p) => [p.subjectId, p.id]));
    return { items: page.campaigns.map((campaign) => campaignView(campaign, pending.get(campaign.id))), nextBefore: page.nextBefore };
  });

  scope.post('/v1/ops/campaigns', {
    config: { permission: 'promotions.manage' } satisfies OpsRouteConfig,
    schema: { tags: [OPS_TAG], summary: 'Define a campaign and fund its budget from the platform promotion account (audited; a large budget waits for a second operator)',
      description: OPS_SECURITY_NOTE, body: CampaignBody, response: { 201: CampaignOut, 202: CampaignOut } },
  }, async (request, reply) => {
    const actor = actorOf(request);
    const body = request.body;
    const context = contextOf(request);
    const definition = definitionOf(body);
    if (definition.budgetMinor >= fourEyesBudgetMinor) {
      const funded = await promotions.fundCampaign(definition);
      const { campaign, proposal } = await withTransaction(db, async (client) => {
        const written = await promotions.recordProposedCampaign(client, funded, `operator:${actor.id}`);
        const proposed = await operations.proposals.propose(client, { kind: 'campaign_budget', subjectId: written.id,
          summary: { name: body.name, budget: body.budget, rateBps: body.rateBps }, by: { operatorId: actor.id, reason: body.reason, ip: context.ip, requestId: context.requestId } });
        return { campaign: written, proposal: proposed };
      });
      reply.code(202);
      return campaignView(campaign, proposal.id);
    }
    const campaign = await promotions.createCampaign(definition, `operator:${actor.id}`);
    await audit.record({ actor, action: 'campaign.created', target: { kind: 'campaign', id: campaign.id }, outcome: 'success',
      details: { reason: body.reason, budget: body.budget, rateBps: body.rateBps }, ip: context.ip, requestId: context.requestId });
    reply.code(201);
    return campaignView(campaign);
  });

  /** Approves or rejects in the proposal's own transaction: the campaign's status changes with the decision or not at all. */
  async function decideCampaign(proposalId: string, approve: boolean, by: Decider): Promise<Campaign> {
    let decided: Campaign | null = null;
    const onDecided = async (client: pg.PoolClient, proposal: Proposal) => {
      if (proposal.kind !== 'campaign_budget') throw new KobanError('proposal_not_found', { detail: 'not a campaign budget proposal' });
      decided = await promotions.decideProposedCampaign(client, proposal.subjectId, approve);
    };
    await operations.proposals.decide(proposalId, approve, by, onDecided, onDecided);
    assert(decided !== null, 'a decided campaign proposal changed its campaign');
    return decided;
  }
  scope.post('/v1/ops/campaigns/proposals/:id/approve', {
    config: { permission: 'promotions.manage' } satisfies OpsRouteConfig,
    schema: { tags: [OPS_TAG], summary: 'Approve a proposed campaign (another operator than the proposer): it earns from now on', description: OPS_SECURITY_NOTE, ...Decision },
  }, async (request) => {
    const context = contextOf(request);
    return campaignView(await decideCampaign(request.params.id, true, { operatorId: actorOf(request).id, reason: request.body.reason, ip: context.ip, requestId: context.requestId }));
  });
  scope.post('/v1/ops/campaigns/proposals/:id/reject', {
    config: { permission: 'promotions.manage' } satisfies OpsRouteConfig,
    schema: { tags: [OPS_TAG], summary: 'Reject a proposed campaign: it never earns; its reserved budget stays in its account', description: OPS_SECURITY_NOTE, ...Decision },
  }, async (request) => {
    const context = contextOf(request);
    return campaignView(await decideCampaign(request.params.id, false, { operatorId: actorOf(request).id, reason: request.body.reason, ip: context.ip, requestId: context.requestId }));
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
