/**
 * A merchant's case in the console (issue 13): the merchant's state, stores and the payments offered for a
 * reversal, and the containment taken from the case — suspend the merchant or a store, hold its payouts,
 * propose a four-eyes reversal. Thin adapters over merchant-cases.ts, behind the operator gate.
 */
import { Type } from 'typebox';
import type { FastifyRequest } from 'fastify';
import type { App } from '../http/app.ts';
import type { ActionContext, CaseDetail } from '../operations/cases/cases.ts';
import { actorOf, contextOf, OPS_SECURITY_NOTE, OPS_TAG, type OpsRouteConfig } from '../operations/http.ts';
import { wireInteger } from '../payments/views.ts';
import { proposeCaseReversal, readMerchantCase, setCaseMerchantStatus, setCasePayoutHold, setCaseStoreStatus } from './merchant-cases.ts';
import { REVERSAL_PAYMENTS_MAX } from './reversals.ts';
import type { PortalDeps } from './service.ts';

const tags = [OPS_TAG];
const description = OPS_SECURITY_NOTE;
const Reason = Type.String({ minLength: 3, maxLength: 1000, description: 'Why: kept in the case and the audit log' });
const CaseParams = Type.Object({ id: Type.String({ format: 'uuid' }) });
const Status = Type.Union([Type.Literal('suspended'), Type.Literal('active')]);

function actionContext(request: FastifyRequest, reason: string): ActionContext {
  const context = contextOf(request);
  return { actor: actorOf(request), reason, ip: context.ip, requestId: context.requestId };
}

const caseOut = (c: CaseDetail) => ({
  id: c.id, accountId: c.accountId, status: c.status, alertCount: c.alertCount, updatedAt: c.updatedAt.toISOString(),
  notes: c.notes.map((n) => ({ id: n.id, author: n.author, kind: n.kind, body: n.body, createdAt: n.createdAt.toISOString() })),
});

export function registerMerchantCaseRoutes(scope: App, deps: PortalDeps): void {
  scope.get('/v1/ops/cases/:id/merchant', {
    config: { permission: 'merchants.read' } satisfies OpsRouteConfig,
    schema: { tags, description, summary: 'The merchant a case is about: its state, stores, pending reversals and the payments offered for a reversal (named by the case\'s alerts, or paid by customers with a case)', params: CaseParams },
  }, async (request) => {
    const view = await readMerchantCase(deps, request.params.id);
    const m = view.merchant;
    return {
      caseId: view.caseId,
      merchant: { id: m.id, name: m.name, status: m.status, statusReason: m.statusReason, payoutsHeld: m.payoutsHeld },
      stores: view.stores.map((s) => ({ id: s.id, name: s.name, status: s.status })),
      suspectPayments: view.suspectPayments.map((p) => ({
        paymentId: p.paymentId, merchantPaymentId: p.merchantPaymentId, customerId: p.customerId, storeId: p.storeId, amount: wireInteger(p.amountMinor),
        refundable: wireInteger(p.refundableMinor), acceptedAt: p.acceptedAt?.toISOString() ?? null, alerted: p.alerted, payerCase: p.payerCase,
      })),
      pendingReversals: view.pendingReversals.map((p) => ({ id: p.id, proposedBy: p.proposedBy, proposedAt: p.proposedAt.toISOString(), reason: p.reason, summary: p.summary })),
    };
  });

  scope.post('/v1/ops/cases/:id/merchant/status', {
    config: { permission: 'merchants.contain' } satisfies OpsRouteConfig,
    schema: { tags, description, summary: 'Suspend the case\'s merchant (no payment on any surface, at once) or reactivate it; recorded on the case', params: CaseParams,
      body: Type.Object({ status: Status, reason: Reason }, { additionalProperties: false }) },
  }, async (request) => caseOut(await setCaseMerchantStatus(deps, request.params.id, request.body.status, actionContext(request, request.body.reason))));

  scope.post('/v1/ops/cases/:id/merchant/stores/:storeId/status', {
    config: { permission: 'merchants.contain' } satisfies OpsRouteConfig,
    schema: { tags, description, summary: 'Suspend or reopen one store of the case\'s merchant; recorded on the case',
      params: Type.Object({ id: Type.String({ format: 'uuid' }), storeId: Type.String({ maxLength: 64 }) }), body: Type.Object({ status: Status, reason: Reason }, { additionalProperties: false }) },
  }, async (request) => caseOut(await setCaseStoreStatus(deps, request.params.id, request.params.storeId, request.body.status, actionContext(request, request.body.reason))));

  scope.post('/v1/ops/cases/:id/merchant/payout-hold', {
    config: { permission: 'merchants.contain' } satisfies OpsRouteConfig,
    schema: { tags, description, summary: 'Hold or release the case\'s merchant\'s payouts; recorded on the case', params: CaseParams,
      body: Type.Object({ held: Type.Boolean(), reason: Reason }, { additionalProperties: false }) },
  }, async (request) => caseOut(await setCasePayoutHold(deps, request.params.id, request.body.held, actionContext(request, request.body.reason))));

  scope.post('/v1/ops/cases/:id/merchant/reversals', {
    config: { permission: 'merchants.contain' } satisfies OpsRouteConfig,
    schema: { tags, description, summary: 'Propose refunding these payments of the case\'s merchant to the wallets that paid; another operator approves at /v1/ops/merchant-reversals/{id}/decision', params: CaseParams,
      body: Type.Object({ paymentIds: Type.Array(Type.String({ format: 'uuid' }), { minItems: 1, maxItems: REVERSAL_PAYMENTS_MAX }), reason: Reason }, { additionalProperties: false }) },
  }, async (request, reply) => {
    const proposed = await proposeCaseReversal(deps, request.params.id, request.body.paymentIds, actionContext(request, request.body.reason));
    return reply.code(201).send({ proposal: { id: proposed.proposal.id, status: proposed.proposal.status, summary: proposed.proposal.summary }, case: caseOut(proposed.case) });
  });
}
