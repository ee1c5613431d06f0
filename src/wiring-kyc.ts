/**
 * The operator's side of identity verification (issue 19), kept in the composition root because the wallet
 * cannot import operations: the review queue (`GET /v1/ops/identity-verifications`) and the decision on an
 * application the provider sent to review (`POST /v1/ops/identity-verifications/{id}/review`), permission
 * `identity.review`, every decision in the audit log with its reason.
 */
import { Type } from 'typebox';
import type { App } from './http/app.ts';
import { actorOf, contextOf, OPS_SECURITY_NOTE, OPS_TAG, type OpsRouteConfig } from './operations/http.ts';
import type { Operations } from './operations/operations.ts';
import type { Kyc } from './wallet/kyc/kyc.ts';
import { applicationView } from './wallet/kyc/routes.ts';

const ReviewItem = Type.Object({
  applicationId: Type.String(), customerId: Type.String(), status: Type.String(), reason: Type.Union([Type.String(), Type.Null()]), submittedAt: Type.String(),
  fullName: Type.String(), dateOfBirth: Type.String(), address: Type.String(), documentRef: Type.String(), selfieRef: Type.String(),
});

export function registerKycReviewRoutes(scope: App, kyc: Kyc, audit: Operations['audit']): void {
  scope.get('/v1/ops/identity-verifications', {
    config: { permission: 'identity.review' } satisfies OpsRouteConfig,
    schema: { tags: [OPS_TAG], summary: 'Identity verifications the eKYC provider sent to review, oldest first; the next page with after=nextAfter', description: OPS_SECURITY_NOTE,
      querystring: Type.Object({ limit: Type.Optional(Type.String({ pattern: '^[1-9][0-9]{0,2}$' })), after: Type.Optional(Type.String({ maxLength: 200 })) }, { additionalProperties: false }),
      response: { 200: Type.Object({ items: Type.Array(ReviewItem), nextAfter: Type.Union([Type.String(), Type.Null()]) }) } },
  }, async (request, reply) => {
    reply.header('cache-control', 'no-store');
    const { query } = request;
    const page = await kyc.reviewQueue({ ...(query.limit === undefined ? {} : { limit: Number(query.limit) }), ...(query.after === undefined ? {} : { after: query.after }) });
    return { nextAfter: page.nextAfter, items: page.items.map((item) => ({ ...applicationView(item), customerId: item.customerId, fullName: item.fullName, dateOfBirth: item.dateOfBirth, address: item.address, documentRef: item.documentRef, selfieRef: item.selfieRef })) };
  });

  scope.post('/v1/ops/identity-verifications/:id/review', {
    config: { permission: 'identity.review' } satisfies OpsRouteConfig,
    schema: { tags: [OPS_TAG], summary: 'Approve or reject an identity verification waiting for review (reason required; audited)', description: OPS_SECURITY_NOTE,
      params: Type.Object({ id: Type.String({ format: 'uuid' }) }),
      body: Type.Object({ decision: Type.Union([Type.Literal('approve'), Type.Literal('reject')]), reason: Type.String({ minLength: 3, maxLength: 200, pattern: '\\S' }) }, { additionalProperties: false }) },
  }, async (request) => {
    const actor = actorOf(request);
    const decided = await kyc.review(request.params.id, request.body.decision, actor.id, request.body.reason);
    const context = contextOf(request);
    await audit.record({ actor, action: `identity_verification.${request.body.decision === 'approve' ? 'approved' : 'rejected'}`, target: { kind: 'customer', id: decided.customerId },
      outcome: 'success', details: { applicationId: decided.id, reason: request.body.reason }, ip: context.ip, requestId: context.requestId });
    return applicationView(decided);
  });
}
