/** Operator API for four-eyes proposals, compensation batches and the incident action. */
import { Type } from 'typebox';
import type { FastifyRequest } from 'fastify';
import type { App } from '../../http/app.ts';
import { contextOf, OPS_SECURITY_NOTE, OPS_TAG, principalOf } from '../http.ts';
import type { Operations } from '../operations.ts';
import { opsConfig } from '../routes.ts';
import type { Decider, Proposal } from '../proposals/proposals.ts';
import type { Batch } from './compensation.ts';

const tags = [OPS_TAG];
const Reason = Type.String({ minLength: 3, maxLength: 1000 });
const IdParams = Type.Object({ id: Type.String({ format: 'uuid' }) });
const Decision = Type.Object({ approve: Type.Boolean(), reason: Reason }, { additionalProperties: false });
const ProposalOut = Type.Object({ id: Type.String(), kind: Type.String(), subjectId: Type.String(), summary: Type.Unknown(), reason: Type.String(), status: Type.String(),
  proposedBy: Type.String(), proposedAt: Type.String(), decidedBy: Type.Union([Type.String(), Type.Null()]), decidedAt: Type.Union([Type.String(), Type.Null()]) });
const BatchOut = Type.Object({ id: Type.String(), title: Type.String(), status: Type.String(), createdBy: Type.String(), createdAt: Type.String(),
  proposalId: Type.Union([Type.String(), Type.Null()]), executedAt: Type.Union([Type.String(), Type.Null()]), totalMinor: Type.String(),
  items: Type.Array(Type.Object({ walletAccountId: Type.String(), customerRef: Type.Union([Type.String(), Type.Null()]), lossMinor: Type.String(), transferId: Type.String(), status: Type.String() })) });

function decider(request: FastifyRequest, reason: string): Decider {
  const context = contextOf(request);
  return { operatorId: principalOf(request).operatorId, reason, ip: context.ip, requestId: context.requestId };
}

export function registerCompensationRoutes(scope: App, operations: Operations): void {
  const compensation = operations.compensation;
  scope.get('/v1/ops/proposals', {
    config: opsConfig({ permission: 'proposals.read' }),
    schema: { tags, summary: 'Four-eyes proposals', description: OPS_SECURITY_NOTE,
      querystring: Type.Object({ status: Type.Optional(Type.Union([Type.Literal('pending'), Type.Literal('approved'), Type.Literal('rejected')])),
        limit: Type.Optional(Type.String({ pattern: '^[1-9][0-9]{0,2}$' })), before: Type.Optional(Type.String({ maxLength: 200 })) }, { additionalProperties: false }),
      response: { 200: Type.Object({ proposals: Type.Array(ProposalOut), nextBefore: Type.Union([Type.String(), Type.Null()]) }) } },
  }, async (request) => {
    const { status, limit, before } = request.query;
    const page = await operations.proposals.page(status ?? null, { ...(limit === undefined ? {} : { limit: Number(limit) }), ...(before === undefined ? {} : { before }) });
    return { proposals: page.proposals.map(proposalOut), nextBefore: page.nextBefore };
  });

  scope.post('/v1/ops/compensation/flags', {
    config: opsConfig({ permission: 'compensation.propose' }),
    schema: { tags, summary: 'Flag ledger transfers as fraudulent (payments out of hijacked wallets, stolen-card top-ups)', description: OPS_SECURITY_NOTE,
      body: Type.Object({ transferIds: Type.Array(Type.String({ format: 'uuid' }), { minItems: 1, maxItems: 1000 }), caseId: Type.Optional(Type.String({ format: 'uuid' })), reason: Reason,
        customerId: Type.Optional(Type.String({ format: 'uuid', description: 'The account the transfers were picked from: each must move money into or out of its wallet (transfer_not_in_account)' })) }, { additionalProperties: false }),
      response: { 200: Type.Object({ flagged: Type.Integer() }) } },
  }, async (request) => ({ flagged: await compensation.flagTransfers(request.body.transferIds, request.body.reason, request.body.caseId ?? null, decider(request, request.body.reason),
    request.body.customerId === undefined ? undefined : { customerId: request.body.customerId }) }));

  scope.post('/v1/ops/compensation/batches', {
    config: opsConfig({ permission: 'compensation.propose' }),
    schema: { tags, summary: 'Create a batch: victims from cases, or every flagged transfer not yet compensated; losses computed from the ledger', description: OPS_SECURITY_NOTE,
      body: Type.Object({ title: Type.String({ minLength: 3, maxLength: 200 }), caseIds: Type.Optional(Type.Array(Type.String({ format: 'uuid' }), { minItems: 1, maxItems: 1000 })) }, { additionalProperties: false }),
      response: { 201: BatchOut } },
  }, async (request, reply) => {
    const source = request.body.caseIds === undefined ? { allFlagged: true as const } : { caseIds: request.body.caseIds };
    return reply.code(201).send(batchOut(await compensation.createBatch(request.body.title, source, decider(request, request.body.title))));
  });

  scope.get('/v1/ops/compensation/batches/:id', {
    config: opsConfig({ permission: 'proposals.read' }),
    schema: { tags, summary: 'A batch and its victims, for review', description: OPS_SECURITY_NOTE, params: IdParams, response: { 200: BatchOut } },
  }, async (request) => batchOut(await compensation.get(request.params.id)));

  scope.post('/v1/ops/compensation/batches/:id/propose', {
    config: opsConfig({ permission: 'compensation.propose' }),
    schema: { tags, summary: 'Propose the batch for approval by a second operator', description: OPS_SECURITY_NOTE, params: IdParams,
      body: Type.Object({ reason: Reason }, { additionalProperties: false }), response: { 200: ProposalOut } },
  }, async (request) => proposalOut(await compensation.propose(request.params.id, decider(request, request.body.reason))));

  scope.post('/v1/ops/compensation/batches/:id/decision', {
    config: opsConfig({ permission: 'compensation.approve' }),
    schema: { tags, summary: 'Approve or reject the batch (never by its proposer)', description: OPS_SECURITY_NOTE, params: IdParams, body: Decision, response: { 200: BatchOut } },
  }, async (request) => batchOut(await compensation.decide(request.params.id, request.body.approve, decider(request, request.body.reason))));

  scope.post('/v1/ops/compensation/batches/:id/execute', {
    config: opsConfig({ permission: 'compensation.execute' }),
    schema: { tags, summary: 'Pay the approved batch from the compensation account (idempotent: running it again pays nobody twice)', description: OPS_SECURITY_NOTE,
      params: IdParams, body: Type.Object({ reason: Reason }, { additionalProperties: false }), response: { 200: BatchOut } },
  }, async (request) => batchOut(await compensation.execute(request.params.id, decider(request, request.body.reason))));

  scope.get('/v1/ops/compensation/batches/:id/export', {
    config: opsConfig({ permission: 'compensation.export' }),
    schema: { tags, summary: 'CSV of the batch\'s fraudulent top-ups for card issuers or banks to reverse', description: OPS_SECURITY_NOTE, params: IdParams,
      querystring: Type.Object({ audience: Type.Union([Type.Literal('card_issuers'), Type.Literal('banks')]) }, { additionalProperties: false }) },
  }, async (request, reply) => {
    const csv = await compensation.exportCsv(request.params.id, request.query.audience);
    await operations.audit.record({ actor: { kind: 'operator', id: principalOf(request).operatorId }, action: 'compensation.exported', target: { kind: 'compensation_batch', id: request.params.id },
      outcome: 'success', details: { audience: request.query.audience }, ip: request.ip, requestId: request.id });
    reply.type('text/csv; charset=utf-8').header('content-disposition', `attachment; filename="compensation-${request.params.id}-${request.query.audience}.csv"`);
    return csv;
  });

  scope.post('/v1/ops/incident/reset-all', {
    config: opsConfig({ permission: 'incident.propose' }),
    schema: { tags, summary: 'Propose forcing every customer to reset their password, revoking all sessions', description: OPS_SECURITY_NOTE,
      body: Type.Object({ reason: Reason }, { additionalProperties: false }), response: { 200: ProposalOut } },
  }, async (request) => proposalOut(await operations.incident.proposeResetAll(decider(request, request.body.reason))));

  scope.post('/v1/ops/incident/reset-all/:id/decision', {
    config: opsConfig({ permission: 'incident.approve' }),
    schema: { tags, summary: 'Approve (and so run) or reject the reset of every customer; never by its proposer', description: OPS_SECURITY_NOTE, params: IdParams, body: Decision,
      response: { 200: Type.Object({ proposal: ProposalOut, customers: Type.Union([Type.Integer(), Type.Null()]), sessions: Type.Union([Type.Integer(), Type.Null()]) }) } },
  }, async (request) => {
    const result = await operations.incident.decideResetAll(request.params.id, request.body.approve, decider(request, request.body.reason));
    return { proposal: proposalOut(result.proposal), customers: result.customers, sessions: result.sessions };
  });
}

function proposalOut(p: Proposal) {
  return { id: p.id, kind: p.kind, subjectId: p.subjectId, summary: p.summary, reason: p.reason, status: p.status, proposedBy: p.proposedBy,
    proposedAt: p.proposedAt.toISOString(), decidedBy: p.decidedBy, decidedAt: p.decidedAt?.toISOString() ?? null };
}

function batchOut(b: Batch) {
  return { id: b.id, title: b.title, status: b.status, createdBy: b.createdBy, createdAt: b.createdAt.toISOString(), proposalId: b.proposalId,
    executedAt: b.executedAt?.toISOString() ?? null, totalMinor: b.totalMinor.toString(),
    items: b.items.map((i) => ({ walletAccountId: i.walletAccountId, customerRef: i.customerRef, lossMinor: i.lossMinor.toString(), transferId: i.transferId, status: i.status })) };
}
