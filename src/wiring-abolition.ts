/**
 * Starting abolition (資金決済法 Art. 20, issue 19) with four eyes, kept in the composition root because the wallet
 * cannot import operations. An administrator proposes (`POST /v1/ops/abolition/proposals {claimDays ≥ 60, reason}`),
 * a second administrator approves (`POST /v1/ops/abolition/proposals/{id}/approve {reason}`): the procedure is
 * recorded in the approval's transaction, then the `top_ups` and `registrations` switches are turned off (audited,
 * by the approver, with the reason). `GET /v1/ops/abolition` says whether it is under way;
 * `GET /v1/ops/abolition/outstanding.csv` lists what is still owed, for the regulator (`regulatory.read`).
 */
import { Type } from 'typebox';
import type { App } from './http/app.ts';
import { actorOf, contextOf, OPS_SECURITY_NOTE, OPS_TAG, type OpsRouteConfig } from './operations/http.ts';
import type { Operations } from './operations/operations.ts';
import { withTransaction, type Database } from './platform/db/database.ts';
import { KobanError } from './platform/errors.ts';
import type { Abolition } from './wallet/abolition/abolition.ts';
import { CLAIM_PERIOD_MIN_DAYS } from './wallet/abolition/claims.ts';

/** The one subject every abolition proposal is about (one pending at a time). */
const ABOLITION_SUBJECT = '00000000-0000-7000-8000-00000000a020';
const SWITCHED_OFF = ['top_ups', 'registrations'] as const;
const Reason = Type.String({ minLength: 3, maxLength: 1000, pattern: '\\S' });

export function registerAbolitionOpsRoutes(scope: App, db: Database, abolition: Abolition, operations: Operations): void {
  scope.get('/v1/ops/abolition', {
    config: { permission: 'regulatory.read' } satisfies OpsRouteConfig,
    schema: { tags: [OPS_TAG], summary: 'Whether the abolition procedure is under way, since when and until when claims are taken', description: OPS_SECURITY_NOTE },
  }, async () => {
    const procedure = await abolition.procedure();
    return { active: procedure !== null, startedAt: procedure?.startedAt.toISOString() ?? null, claimDeadline: procedure?.claimDeadline.toISOString() ?? null };
  });

  scope.post('/v1/ops/abolition/proposals', {
    config: { permission: 'abolition.propose' } satisfies OpsRouteConfig,
    schema: { tags: [OPS_TAG], summary: 'Propose abolishing the prepaid instrument (another administrator approves)', description: OPS_SECURITY_NOTE,
      body: Type.Object({ claimDays: Type.Integer({ minimum: CLAIM_PERIOD_MIN_DAYS, maximum: 365 }), reason: Reason }, { additionalProperties: false }) },
  }, async (request, reply) => {
    const actor = actorOf(request);
    const context = contextOf(request);
    const proposal = await withTransaction(db, (client) => operations.proposals.propose(client, { kind: 'abolition', subjectId: ABOLITION_SUBJECT,
      summary: { claimDays: request.body.claimDays }, by: { operatorId: actor.id, reason: request.body.reason, ip: context.ip, requestId: context.requestId } }));
    reply.code(201);
    return { proposalId: proposal.id, status: proposal.status };
  });

  scope.post('/v1/ops/abolition/proposals/:id/approve', {
    config: { permission: 'abolition.approve' } satisfies OpsRouteConfig,
    schema: { tags: [OPS_TAG], summary: 'Approve an abolition proposal: the claim period opens, top-ups and sign-ups stop', description: OPS_SECURITY_NOTE,
      params: Type.Object({ id: Type.String({ format: 'uuid' }) }), body: Type.Object({ reason: Reason }, { additionalProperties: false }) },
  }, async (request) => {
    const actor = actorOf(request);
    const context = contextOf(request);
    const proposal = await operations.proposals.decide(request.params.id, true, { operatorId: actor.id, reason: request.body.reason, ip: context.ip, requestId: context.requestId },
      async (client, approved) => {
        if (approved.kind !== 'abolition') throw new KobanError('proposal_not_found', { detail: 'not an abolition proposal' });
        const claimDays = approved.summary['claimDays'];
        if (typeof claimDays !== 'number') throw new KobanError('proposal_not_found', { detail: 'the proposal names no claim period' });
        await abolition.start(client, approved.proposedBy, actor.id, claimDays);
      });
    for (const name of SWITCHED_OFF) {
      await operations.switches.set({ name, state: 'off', reason: `abolition (Art. 20): ${request.body.reason}`, actor, ip: context.ip, requestId: context.requestId });
    }
    const procedure = await abolition.procedure();
    return { proposalId: proposal.id, status: proposal.status, claimDeadline: procedure?.claimDeadline.toISOString() ?? null };
  });

  scope.get('/v1/ops/abolition/outstanding.csv', {
    config: { permission: 'regulatory.read' } satisfies OpsRouteConfig,
    schema: { tags: [OPS_TAG], summary: 'Every customer still owed a prepaid balance, and their claim (CSV for the regulator)', description: OPS_SECURITY_NOTE },
  }, async (_request, reply) => {
    reply.header('cache-control', 'no-store').header('content-type', 'text/csv; charset=utf-8').header('content-disposition', 'attachment; filename="outstanding-prepaid.csv"');
    return abolition.outstandingCsv();
  });
}
