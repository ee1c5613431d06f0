/** Operator API for cases and account actions; thin adapters over cases.ts. */
import { Type } from 'typebox';
import type { FastifyRequest } from 'fastify';
import type { App } from '../../http/app.ts';
import { actorOf, contextOf, OPS_SECURITY_NOTE, OPS_TAG } from '../http.ts';
import type { Operations } from '../operations.ts';
import { opsConfig } from '../routes.ts';
import type { Permission } from '../operators/permissions.ts';
import { CASE_OUTCOMES, type ActionContext, type CaseDetail, type CaseSummary } from './cases.ts';

const tags = [OPS_TAG];
const Reason = Type.String({ minLength: 3, maxLength: 1000 });
const IdParams = Type.Object({ id: Type.String({ format: 'uuid' }) });
const CaseOut = Type.Object({
  id: Type.String(), accountId: Type.String(), status: Type.String(), source: Type.String(), assigneeId: Type.Union([Type.String(), Type.Null()]),
  alertCount: Type.Integer(), outcome: Type.Union([Type.String(), Type.Null()]), openedAt: Type.String(), updatedAt: Type.String(), closedAt: Type.Union([Type.String(), Type.Null()]),
});
const CaseDetailOut = Type.Intersect([CaseOut, Type.Object({
  alerts: Type.Array(Type.Object({ riskEventId: Type.String(), decision: Type.String(), reasons: Type.Unknown(), createdAt: Type.String() })),
  notes: Type.Array(Type.Object({ id: Type.String(), author: Type.String(), kind: Type.String(), body: Type.String(), createdAt: Type.String() })),
})]);

function actionContext(request: FastifyRequest, reason: string): ActionContext {
  const context = contextOf(request);
  return { actor: actorOf(request), reason, ip: context.ip, requestId: context.requestId };
}

export function registerCaseRoutes(scope: App, operations: Operations): void {
  const cases = operations.cases;
  scope.get('/v1/ops/cases', {
    config: opsConfig({ permission: 'cases.read' }),
    schema: { tags, summary: 'Cases, most recently active first; the next page with before=nextBefore', description: OPS_SECURITY_NOTE,
      querystring: Type.Object({ status: Type.Optional(Type.Union([Type.Literal('open'), Type.Literal('closed')])),
        limit: Type.Optional(Type.String({ pattern: '^[1-9][0-9]{0,2}$' })), before: Type.Optional(Type.String({ maxLength: 200 })) }, { additionalProperties: false }),
      response: { 200: Type.Object({ cases: Type.Array(CaseOut), nextBefore: Type.Union([Type.String(), Type.Null()]) }) } },
  }, async (request) => {
    const { query } = request;
    const page = await cases.list({ ...(query.status === undefined ? {} : { status: query.status }), ...(query.limit === undefined ? {} : { limit: Number(query.limit) }),
      ...(query.before === undefined ? {} : { before: query.before }) });
    return { cases: page.cases.map(caseOut), nextBefore: page.nextBefore };
  });

  scope.get('/v1/ops/cases/:id', {
    config: opsConfig({ permission: 'cases.read' }),
    schema: { tags, summary: 'A case with its alerts and history', description: OPS_SECURITY_NOTE, params: IdParams, response: { 200: CaseDetailOut } },
  }, async (request) => detailOut(await cases.get(request.params.id)));

  scope.post('/v1/ops/cases/:id/assign', {
    config: opsConfig({ permission: 'cases.work' }),
    schema: { tags, summary: 'Assign the case to an operator', description: OPS_SECURITY_NOTE, params: IdParams,
      body: Type.Object({ operatorId: Type.String({ format: 'uuid' }), reason: Reason }, { additionalProperties: false }), response: { 200: CaseDetailOut } },
  }, async (request) => detailOut(await cases.assign(request.params.id, request.body.operatorId, actionContext(request, request.body.reason))));

  scope.post('/v1/ops/cases/:id/comments', {
    config: opsConfig({ permission: 'cases.work' }),
    schema: { tags, summary: 'Comment on the case', description: OPS_SECURITY_NOTE, params: IdParams,
      body: Type.Object({ body: Type.String({ minLength: 1, maxLength: 4000 }) }, { additionalProperties: false }), response: { 200: CaseDetailOut } },
  }, async (request) => detailOut(await cases.comment(request.params.id, request.body.body, actionContext(request, 'comment'))));

  const action = (path: string, permission: Permission, summary: string, run: (id: string, context: ActionContext) => Promise<CaseDetail>) => {
    scope.post(`/v1/ops/cases/:id/${path}`, {
      config: opsConfig({ permission }),
      schema: { tags, summary, description: OPS_SECURITY_NOTE, params: IdParams, body: Type.Object({ reason: Reason }, { additionalProperties: false }), response: { 200: CaseDetailOut } },
    }, async (request) => {
      const { id } = request.params as { id: string };
      const { reason } = request.body as { reason: string };
      return detailOut(await run(id, actionContext(request, reason)));
    });
  };
  action('freeze', 'accounts.freeze', 'Freeze the customer\'s wallet: balance kept, debits blocked, credits still land', (id, c) => cases.freeze(id, c));
  action('unfreeze', 'accounts.unfreeze', 'Unfreeze the customer\'s wallet', (id, c) => cases.unfreeze(id, c));
  action('force-reset', 'customers.force_reset', 'Force a password and PIN reset and revoke every session', (id, c) => cases.forceReset(id, c));
  action('revoke-sessions', 'customers.revoke_sessions', 'Revoke every session of the customer', (id, c) => cases.revokeSessions(id, c));

  scope.post('/v1/ops/cases/:id/close', {
    config: opsConfig({ permission: 'cases.close' }),
    schema: { tags, summary: 'Close the case with an outcome', description: OPS_SECURITY_NOTE, params: IdParams,
      body: Type.Object({ outcome: Type.Union(CASE_OUTCOMES.map((o) => Type.Literal(o))), reason: Reason }, { additionalProperties: false }), response: { 200: CaseDetailOut } },
  }, async (request) => detailOut(await cases.close(request.params.id, request.body.outcome, actionContext(request, request.body.reason))));
}

function caseOut(c: CaseSummary) {
  return { id: c.id, accountId: c.accountId, status: c.status, source: c.source, assigneeId: c.assigneeId, alertCount: c.alertCount, outcome: c.outcome,
    openedAt: c.openedAt.toISOString(), updatedAt: c.updatedAt.toISOString(), closedAt: c.closedAt?.toISOString() ?? null };
}

function detailOut(c: CaseDetail) {
  return { ...caseOut(c), alerts: c.alerts.map((a) => ({ ...a, createdAt: a.createdAt.toISOString() })), notes: c.notes.map((n) => ({ ...n, createdAt: n.createdAt.toISOString() })) };
}
