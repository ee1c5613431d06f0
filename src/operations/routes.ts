/**
 * The operator API under /v1/ops: thin adapters (parse, call the module, map). Every route declares the
 * permission it needs in `config` and the gate in http.ts checks it before anything else runs.
 */
import { Type } from 'typebox';
import type { App } from '../http/app.ts';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { KobanError } from '../platform/errors.ts';
import { AUDIT_CATEGORIES, AUDIT_PAGE_MAX, readAuditEvents } from './audit/read.ts';
import { actorOf, clearedSessionCookie, contextOf, installOperatorGate, OPS_SECURITY_NOTE, OPS_TAG, principalOf, sessionCookie, type OpsRouteConfig } from './http.ts';
import type { Operations } from './operations.ts';
import type { Operator } from './operators/operators.ts';
import { OPERATOR_ROLES } from './operators/permissions.ts';
import type { SwitchView } from './switches/switches.ts';
import { registerConsoleRoutes } from './console/routes.ts';
import { answerSession, registerOperatorPasskeyRoutes } from './passkey-routes.ts';


const tags = [OPS_TAG];
const Role = Type.Union(OPERATOR_ROLES.map((role) => Type.Literal(role)));
const OperatorOut = Type.Object({
  id: Type.String(), email: Type.String(), displayName: Type.String(), role: Type.String(), status: Type.String(),
  totpConfirmed: Type.Boolean(), createdAt: Type.String(),
});
const Reason = Type.String({ minLength: 3, maxLength: 1000, description: 'Why: kept in the audit log' });
const SwitchOut = Type.Object({
  name: Type.String(), description: Type.String(), state: Type.String(), effective: Type.String(),
  lastChange: Type.Union([Type.Null(), Type.Object({ state: Type.String(), reason: Type.String(), changedBy: Type.String(), changedAt: Type.String(), version: Type.Integer() })]),
});

export function registerOperationsRoutes(app: App, operations: Operations, extra: ReadonlyArray<(scope: App) => void> = []): void {
  app.register(async (plugin) => {
    const scope = plugin.withTypeProvider<TypeBoxTypeProvider>() as unknown as App;
    installOperatorGate(scope, operations.operators, operations.audit);
    registerSessionRoutes(scope, operations);
    registerOperatorPasskeyRoutes(scope, operations);
    registerOperatorRoutes(scope, operations);
    registerSwitchRoutes(scope, operations);
    registerAuditRoutes(scope, operations);
    registerConsoleRoutes(scope, operations);
    for (const register of extra) register(scope);
  });
}

export function opsConfig(config: OpsRouteConfig): OpsRouteConfig {
  return config;
}

function registerSessionRoutes(scope: App, operations: Operations): void {
  scope.post('/v1/ops/session', {
    config: opsConfig({ public: true }),
    schema: { tags, summary: 'First sign-in: e-mail, password and authenticator code together open a 10-minute session that can only enrol a passkey',
      description: `Only for an operator without a passkey, inside the enrolment window (KOBAN_OPERATOR_ENROLMENT_WINDOW_MS); otherwise operator_passkey_required or operator_passkey_enrolment_closed. Work sessions come from POST /v1/ops/session/passkey. Sets the ${'__Host-koban_operator'} cookie and answers the CSRF token to send as x-csrf-token.`,
      body: Type.Object({ email: Type.String({ maxLength: 254 }), password: Type.String({ maxLength: 1024 }), totpCode: Type.String({ maxLength: 16 }) }, { additionalProperties: false }),
      response: { 200: Type.Object({ operator: Type.Object({ id: Type.String(), email: Type.String(), displayName: Type.String(), role: Type.String() }), csrfToken: Type.String(), expiresAt: Type.String(), sessionKind: Type.String() }) } },
  }, async (request, reply) => answerSession(reply, await operations.operators.signIn(request.body, contextOf(request))));

  scope.get('/v1/ops/session', {
    config: opsConfig({ permission: 'session.self', enrolment: true }),
    schema: { tags, summary: 'The signed-in operator and the kind of session (full, enrolment, break_glass)', description: OPS_SECURITY_NOTE,
      response: { 200: Type.Object({ operatorId: Type.String(), email: Type.String(), role: Type.String(), sessionKind: Type.String() }) } },
  }, async (request) => {
    const principal = principalOf(request);
    return { operatorId: principal.operatorId, email: principal.email, role: principal.role, sessionKind: principal.sessionKind };
  });

  scope.delete('/v1/ops/session', {
    config: opsConfig({ permission: 'session.self', enrolment: true }),
    schema: { tags, summary: 'Sign out (the session ends on the server)', description: OPS_SECURITY_NOTE, response: { 204: Type.Null() } },
  }, async (request, reply) => {
    await operations.operators.signOut(principalOf(request), contextOf(request));
    reply.header('set-cookie', clearedSessionCookie());
    return reply.code(204).send(null);
  });
}

function registerOperatorRoutes(scope: App, operations: Operations): void {
  scope.get('/v1/ops/operators', {
    config: opsConfig({ permission: 'operators.read' }),
    schema: { tags, summary: 'List operators', description: OPS_SECURITY_NOTE, response: { 200: Type.Object({ operators: Type.Array(OperatorOut) }) } },
  }, async () => ({ operators: (await operations.operators.list()).map(operatorOut) }));

  scope.post('/v1/ops/operators', {
    config: opsConfig({ permission: 'operators.manage' }),
    schema: { tags, summary: 'Create an operator; answers the one-time password and TOTP enrolment secret', description: OPS_SECURITY_NOTE,
      body: Type.Object({ email: Type.String({ maxLength: 254 }), displayName: Type.String({ minLength: 1, maxLength: 100 }), role: Role }, { additionalProperties: false }),
      response: { 201: Type.Object({ operator: OperatorOut, password: Type.String(), totpSecret: Type.String(), totpUri: Type.String() }) } },
  }, async (request, reply) => {
    const created = await operations.operators.create(request.body, actorOf(request), contextOf(request));
    reply.header('cache-control', 'no-store');
    return reply.code(201).send({ operator: operatorOut(created.operator), password: created.password, totpSecret: created.totpSecret, totpUri: created.totpUri });
  });

  scope.post('/v1/ops/operators/:id/status', {
    config: opsConfig({ permission: 'operators.manage' }),
    schema: { tags, summary: 'Disable (ending every session) or re-enable an operator', description: OPS_SECURITY_NOTE,
      params: Type.Object({ id: Type.String({ format: 'uuid' }) }),
      body: Type.Object({ status: Type.Union([Type.Literal('active'), Type.Literal('disabled')]), reason: Reason }, { additionalProperties: false }),
      response: { 200: OperatorOut } },
  }, async (request) => {
    if (request.params.id === principalOf(request).operatorId) throw new KobanError('operator_permission_denied', { detail: 'operators cannot change their own status' });
    return operatorOut(await operations.operators.setStatus(request.params.id, request.body.status, actorOf(request), request.body.reason, contextOf(request)));
  });
}

function registerSwitchRoutes(scope: App, operations: Operations): void {
  scope.get('/v1/ops/switches', {
    config: opsConfig({ permission: 'switches.read' }),
    schema: { tags, summary: 'Every kill switch with its position and last change', description: OPS_SECURITY_NOTE, response: { 200: Type.Object({ switches: Type.Array(SwitchOut) }) } },
  }, async () => ({ switches: operations.switches.list().map(switchOut) }));

  scope.put('/v1/ops/switches/:name', {
    config: opsConfig({ permission: 'switches.change' }),
    schema: { tags, summary: 'Turn a switch on or off (obeyed by every process within one second)', description: OPS_SECURITY_NOTE,
      params: Type.Object({ name: Type.String({ maxLength: 64 }) }),
      body: Type.Object({ state: Type.Union([Type.Literal('on'), Type.Literal('off')]), reason: Reason }, { additionalProperties: false }),
      response: { 200: SwitchOut } },
  }, async (request) => {
    const context = contextOf(request);
    return switchOut(await operations.switches.set({ name: request.params.name, state: request.body.state, reason: request.body.reason, actor: actorOf(request), ip: context.ip, requestId: context.requestId }));
  });
}

const AuditEventOut = Type.Object({
  id: Type.String(), occurredAt: Type.String(), actorKind: Type.String(), actorId: Type.String(), action: Type.String(),
  targetKind: Type.Union([Type.String(), Type.Null()]), targetId: Type.Union([Type.String(), Type.Null()]), reason: Type.Union([Type.String(), Type.Null()]),
  details: Type.Unknown(), ip: Type.Union([Type.String(), Type.Null()]), outcome: Type.String(),
});

function registerAuditRoutes(scope: App, operations: Operations): void {
  scope.get('/v1/ops/audit', {
    config: opsConfig({ permission: 'audit.read' }),
    schema: { tags, summary: 'Audit events, newest first: actions by default; reads of personal data (customer.viewed, console.searched, security_events.read) under category=data_access', description: OPS_SECURITY_NOTE,
      querystring: Type.Object({
        category: Type.Optional(Type.Union(AUDIT_CATEGORIES.map((c) => Type.Literal(c)), { description: 'actions (default), data_access or all' })),
        targetKind: Type.Optional(Type.String({ maxLength: 50 })), targetId: Type.Optional(Type.String({ maxLength: 200 })),
        action: Type.Optional(Type.String({ maxLength: 100, description: 'An action, or a prefix ending in a dot (e.g. `case.`)' })), actorId: Type.Optional(Type.String({ maxLength: 200 })),
        before: Type.Optional(Type.String({ pattern: '^[1-9][0-9]{0,18}$' })), limit: Type.Optional(Type.String({ pattern: '^[1-9][0-9]{0,2}$' })),
      }, { additionalProperties: false }),
      response: { 200: Type.Object({ events: Type.Array(AuditEventOut), nextBefore: Type.Union([Type.String(), Type.Null()]) }) } },
  }, async (request) => {
    const limit = Math.min(Number(request.query.limit ?? 50), AUDIT_PAGE_MAX);
    const q = request.query;
    const found = await readAuditEvents(operations.db.pool, {
      targetKind: q.targetKind ?? null, targetId: q.targetId ?? null, action: q.action ?? null, actorId: q.actorId ?? null, category: q.category ?? (q.action === undefined ? 'actions' : 'all'),
      before: q.before === undefined ? null : BigInt(q.before), limit,
    });
    const events = found.map((event) => ({ ...event, id: event.id.toString(), occurredAt: event.occurredAt.toISOString() }));
    const last = events[events.length - 1];
    return { events, nextBefore: events.length === limit && last !== undefined ? last.id : null };
  });
}

export function operatorOut(operator: Operator) {
  return { id: operator.id, email: operator.email, displayName: operator.displayName, role: operator.role, status: operator.status,
    totpConfirmed: operator.totpConfirmed, createdAt: operator.createdAt.toISOString() };
}

function switchOut(view: SwitchView) {
  return { name: view.name, description: view.description, state: view.state, effective: view.effective,
    lastChange: view.lastChange === null ? null : { state: view.lastChange.state, reason: view.lastChange.reason, changedBy: view.lastChange.changedBy,
      changedAt: view.lastChange.changedAt.toISOString(), version: view.lastChange.version } };
}
