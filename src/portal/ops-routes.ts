/**
 * The console's side of merchants (issue 16/13), on the operator API and behind its gate (roles, CSRF,
 * audit of refusals): the review queue, a merchant's page (profile, stores, tills, volumes, cases),
 * the review decision, suspend/reactivate, store suspension and the payout hold — each with a reason,
 * each audited by the merchants module in the same transaction as the change.
 */
import { Type } from 'typebox';
import type { App } from '../http/app.ts';
import { listApplications, readMerchantProfile, reviewMerchant, setMerchantStatus, setPayoutHold, type ReviewDecision } from '../merchants/onboarding.ts';
import { applicationVersions, latestResubmission, type Resubmission } from '../merchants/application-versions.ts';
import { listStores, listTerminals, setStoreStatus } from '../merchants/stores.ts';
import { actorOf, contextOf, OPS_SECURITY_NOTE, OPS_TAG, type OpsRouteConfig } from '../operations/http.ts';
import { KobanError } from '../platform/errors.ts';
import { isUuid } from '../platform/ids.ts';
import { businessDate } from '../payments/time.ts';
import { wireInteger } from '../payments/views.ts';
import { salesByDay } from './reads.ts';
import { registerMerchantCaseRoutes } from './merchant-case-routes.ts';
import { decideMerchantReversal, executeMerchantReversal, proposeMerchantReversal, REVERSAL_PAYMENTS_MAX, type ReversalOutcome } from './reversals.ts';
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

const resubmissionOut = (r: Resubmission | null) => (r === null ? null : {
  version: r.latest.version, submittedAt: r.latest.submittedAt.toISOString(), requestedInfo: r.latest.requestedInfo, applicantNote: r.latest.applicantNote,
  changed: r.changed.map((field) => ({ field, before: r.previous[field], after: r.latest.fields[field] })),
});

export function registerMerchantOpsRoutes(scope: App, deps: PortalDeps): void {
  const merchants = merchantsDepsOf(deps);
  scope.get('/v1/ops/merchant-applications', {
    config: { permission: 'merchants.read' } satisfies OpsRouteConfig, schema: { tags, description, summary: 'Merchant applications waiting for a review, oldest first' },
  }, async () => {
    const applications = await listApplications(deps.db);
    // A resubmitted application says so, with the applicant's reply and what changed since the version before.
    const out = [];
    for (const application of applications) out.push({ ...merchantOut(application), resubmission: resubmissionOut(await latestResubmission(deps.db, application.id)) });
    return { applications: out };
  });

  scope.get('/v1/ops/merchants/:id/application-versions', {
    config: { permission: 'merchants.read' } satisfies OpsRouteConfig,
    schema: { tags, description, summary: 'Every submitted version of a merchant\'s application (the original and each resubmission), oldest first', params: MerchantParams },
  }, async (request) => ({
    versions: (await applicationVersions(deps.db, merchantIdOf(request.params.id))).map((v) => ({ ...v, submittedAt: v.submittedAt.toISOString() })),
  }));

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

  registerReversalRoutes(scope, deps);
  registerMerchantCaseRoutes(scope, deps);
}

const proposalOut = (p: { id: string; kind: string; subjectId: string; summary: Readonly<Record<string, unknown>>; reason: string; status: string; proposedBy: string; decidedBy: string | null }) =>
  ({ id: p.id, kind: p.kind, merchantId: p.subjectId, summary: p.summary, reason: p.reason, status: p.status, proposedBy: p.proposedBy, decidedBy: p.decidedBy });
const outcomesOut = (outcomes: ReversalOutcome[] | null) => outcomes?.map((o) => ({ ...o, amount: Number(o.amountMinor) })) ?? null;

/** Four eyes: a risk analyst proposes reversing payments from compromised wallets; finance (another person) approves, which refunds them. */
function registerReversalRoutes(scope: App, deps: PortalDeps): void {
  const decider = (request: Parameters<typeof actorOf>[0], reason: string) => ({ operatorId: actorOf(request).id, reason, ip: contextOf(request).ip, requestId: contextOf(request).requestId });
  scope.post('/v1/ops/merchants/:id/reversals', {
    config: { permission: 'merchants.contain' } satisfies OpsRouteConfig,
    schema: { tags, description, summary: 'Propose refunding these payments of the merchant in full (what is left of each) to the wallets that paid; another operator must approve', params: MerchantParams,
      body: Type.Object({ paymentIds: Type.Array(Type.String({ format: 'uuid' }), { minItems: 1, maxItems: REVERSAL_PAYMENTS_MAX }), reason: Reason }, { additionalProperties: false }) },
  }, async (request, reply) => {
    const proposal = await proposeMerchantReversal(deps, deps.proposals, merchantIdOf(request.params.id), request.body.paymentIds, decider(request, request.body.reason));
    return reply.code(201).send(proposalOut(proposal));
  });

  scope.post('/v1/ops/merchant-reversals/:proposalId/decision', {
    config: { permission: 'compensation.approve' } satisfies OpsRouteConfig,
    schema: { tags, description, summary: 'Approve (refunds every payment at once) or reject a proposed merchant reversal; never the proposer',
      params: Type.Object({ proposalId: Type.String({ format: 'uuid' }) }), body: Type.Object({ approve: Type.Boolean(), reason: Reason }, { additionalProperties: false }) },
  }, async (request) => {
    const decided = await decideMerchantReversal(deps, deps.proposals, request.params.proposalId, request.body.approve, decider(request, request.body.reason));
    return { proposal: proposalOut(decided.proposal), outcomes: outcomesOut(decided.outcomes) };
  });

  scope.post('/v1/ops/merchant-reversals/:proposalId/execute', {
    config: { permission: 'compensation.execute' } satisfies OpsRouteConfig,
    schema: { tags, description, summary: 'Run an approved reversal again after a partial failure: refunds already made answer as they were, only missing ones are made',
      params: Type.Object({ proposalId: Type.String({ format: 'uuid' }) }), body: Type.Object({ reason: Reason }, { additionalProperties: false }) },
  }, async (request) => ({ outcomes: outcomesOut(await executeMerchantReversal(deps, deps.proposals, request.params.proposalId, decider(request, request.body.reason))) }));
}
