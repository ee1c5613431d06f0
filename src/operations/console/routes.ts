/**
 * The read endpoints the operator console's screens need, under /v1/ops like every operator route:
 * each declares its permission (checked by the gate in ../http.ts), and personal data is masked on
 * the server for roles without `customers.read_unmasked`. Thin adapters over the read models here.
 */
import { Type } from 'typebox';
import type { App } from '../../http/app.ts';
import { actorOf, contextOf, OPS_SECURITY_NOTE, OPS_TAG, principalOf } from '../http.ts';
import type { Operations } from '../operations.ts';
import { opsConfig } from '../routes.ts';
import { PERMISSIONS, can, type Permission } from '../operators/permissions.ts';
import { verifyAudit } from '../audit/verify.ts';
import { customerStatement, customerView, merchantPayments, merchantView, openOperatorCase } from './accounts.ts';
import { createDashboard, sharedFor } from './dashboard.ts';
import { caseQueue, compensationBatches, operatorDirectory, pendingFlags, ruleHistory, type AssigneeFilter } from './lists.ts';
import { maskerFor } from './masking.ts';
import { search, SEARCH_QUERY_MAX } from './search.ts';
import { SECURITY_EVENT_GROUPS, SECURITY_EVENTS_PAGE_DEFAULT, securityEvents } from './security-events.ts';

const tags = [OPS_TAG];
/** The console polls every 5 s; one measure serves every operator of the process meanwhile. */
const SIGN_IN_HEALTH_CACHE_MS = 5_000;
const Str = Type.String();
const NullableStr = Type.Union([Type.String(), Type.Null()]);
const IdParams = Type.Object({ id: Type.String({ format: 'uuid' }) });
const Reason = Type.String({ minLength: 3, maxLength: 1000, description: 'Why: kept in the audit log' });

const MinuteOut = Type.Object({ minute: Str, payments: Type.Integer(), paymentsFailed: Type.Integer(), paymentsAmountMinor: Str, topUps: Type.Integer(), topUpsFailed: Type.Integer(), topUpsAmountMinor: Str });
const DashboardOut = Type.Object({
  generatedAt: Str, minutes: Type.Array(MinuteOut),
  totals: Type.Object({ payments: Type.Integer(), paymentsAmountMinor: Str, topUps: Type.Integer(), topUpsAmountMinor: Str }),
  risk: Type.Object({ decisions: Type.Integer(), allow: Type.Integer(), challenge: Type.Integer(), review: Type.Integer(), deny: Type.Integer(),
    declineRate: Type.Number(), challengeRate: Type.Number(), byRule: Type.Array(Type.Object({ rule: Str, count: Type.Integer() })) }),
  openCases: Type.Integer(), unassignedCases: Type.Integer(), openAlerts: Type.Integer(),
  switchesOff: Type.Array(Type.Object({ name: Str, effective: Str })),
});
const SignInMeasureOut = { attempts: Type.Integer(), failures: Type.Integer(), failedRate: Type.Number(), pending: Type.Integer(), abandoned: Type.Integer(), abandonedShare: Type.Number() };
const SignInHealthOut = Type.Object({
  at: Str, windowMinutes: Type.Number(), baselineMinutes: Type.Number(), abandonAfterMinutes: Type.Number(),
  window: Type.Object({ ...SignInMeasureOut, failingAddresses: Type.Integer(), failingNetworks: Type.Integer() }),
  baseline: Type.Object(SignInMeasureOut),
  minutes: Type.Array(Type.Object({ minute: Str, attempts: Type.Integer(), failures: Type.Integer(), pending: Type.Integer(), abandoned: Type.Integer() })),
  alerts: Type.Array(Type.Object({ occurredAt: Str, reasons: Type.Array(Str) })),
});
const SearchHitOut = Type.Object({ kind: Type.Union([Type.Literal('customer'), Type.Literal('merchant'), Type.Literal('payment'), Type.Literal('top_up'), Type.Literal('transfer')]), id: Str, title: Str, detail: Str,
  customerId: NullableStr, merchantId: NullableStr });
const CustomerOut = Type.Object({
  id: Str, status: Str, createdAt: Str, masked: Type.Boolean(), recoveryCooldownUntil: NullableStr, credentialsResetRequired: Type.Boolean(),
  contacts: Type.Array(Type.Object({ kind: Str, value: Str, verifiedAt: Str })),
  wallet: Type.Union([Type.Null(), Type.Object({ accountId: Str, status: Str, balanceMinor: Str, heldMinor: Str })]),
  devices: Type.Array(Type.Object({ id: Str, label: Str, createdAt: Str, lastSeenAt: Str })),
  sessions: Type.Array(Type.Object({ id: Str, deviceId: NullableStr, authMethods: Type.Array(Str), ip: NullableStr, userAgent: NullableStr, createdAt: Str, lastSeenAt: Str })),
  fundingSources: Type.Array(Type.Object({ id: Str, kind: Str, status: Str, label: Str, createdAt: Str })),
  riskEvents: Type.Array(Type.Object({ id: Str, kind: Str, decision: Str, score: Type.Integer(), reasons: Type.Unknown(), amountMinor: NullableStr, ip: NullableStr, deviceId: NullableStr, createdAt: Str })),
  riskLinks: Type.Array(Type.Object({ kind: Str, key: Str, blockable: Type.Boolean(), blocked: Type.Boolean(), firstSeen: Str, lastSeen: Str })),
  cases: Type.Array(Type.Object({ id: Str, status: Str, source: Str, alertCount: Type.Integer(), outcome: NullableStr, openedAt: Str, assigneeId: NullableStr })),
});
const StatementOut = Type.Object({ nextCursor: NullableStr, entries: Type.Array(Type.Object({ transferId: Str, direction: Str, amountMinor: Str, code: Str, reference: NullableStr,
  createdAt: Str, holdStatus: NullableStr, counterpartyAccountId: NullableStr })) });
const MerchantOut = Type.Object({
  id: Str, name: Str, categoryCode: Str, status: Str, createdAt: Str, receivableAccountId: Str, receivableMinor: Str,
  stores: Type.Array(Type.Object({ id: Str, name: Str, address: Str, status: Str, terminals: Type.Array(Type.Object({ id: Str, name: Str, status: Str, codeLockedAt: Type.Union([Str, Type.Null()]) })) })),
  recentPayments: Type.Array(Type.Object({ id: Str, merchantPaymentId: Str, status: Str, amountMinor: Str, storeId: NullableStr, terminalId: NullableStr, customerId: NullableStr, createdAt: Str })),
});
const QueueCaseOut = Type.Object({ id: Str, accountId: Str, status: Str, source: Str, assigneeId: NullableStr, alertCount: Type.Integer(), outcome: NullableStr, openedAt: Str, updatedAt: Str,
  customerLabel: NullableStr, walletStatus: NullableStr, merchantName: NullableStr });
const RuleVersionOut = Type.Object({ version: Type.Integer(), enabled: Type.Boolean(), action: Str, params: Type.Record(Str, Type.Unknown()), reason: Str, changedBy: Str, changedAt: Str });
const BatchSummaryOut = Type.Object({ id: Str, title: Str, status: Str, createdBy: Str, createdAt: Str, proposalId: NullableStr, executedAt: NullableStr, totalMinor: Str, victims: Type.Integer() });
const FlagOut = Type.Object({ transferId: Str, caseId: NullableStr, reason: Str, flaggedBy: Str, amountMinor: Str, code: Str, createdAt: Str });
const VerificationOut = Type.Object({ ok: Type.Boolean(), checkedAt: Str, blocks: Type.Integer(), sealedEvents: Type.Integer(), unsealedEvents: Type.Integer(),
  headBlockNo: NullableStr, headHash: Str, firstProblem: NullableStr, problems: Type.Array(Str) });

export function registerConsoleRoutes(scope: App, operations: Operations): void {
  const db = operations.db;
  const dashboard = createDashboard(db, operations.switches);
  const signInHealth = sharedFor(SIGN_IN_HEALTH_CACHE_MS, () => operations.signInHealth());
  const maskerOf = (request: Parameters<typeof principalOf>[0]) => maskerFor(principalOf(request).role);
  registerSecurityEventRoutes(scope, operations, maskerOf);

  scope.get('/v1/ops/me', {
    config: opsConfig({ permission: 'session.self' }),
    schema: { tags, summary: 'The signed-in operator with the permissions of their role (the console hides what the role cannot do; the server still checks)', description: OPS_SECURITY_NOTE,
      response: { 200: Type.Object({ operatorId: Str, email: Str, displayName: Str, role: Str, permissions: Type.Array(Str), sessionKind: Str }) } },
  }, async (request) => {
    const principal = principalOf(request);
    const me = (await operatorDirectory(db)).find((o) => o.id === principal.operatorId);
    const permissions = (Object.keys(PERMISSIONS) as Permission[]).filter((permission) => can(principal.role, permission));
    return { operatorId: principal.operatorId, email: principal.email, displayName: me?.displayName ?? principal.email, role: principal.role, permissions, sessionKind: principal.sessionKind };
  });

  scope.get('/v1/ops/operators/directory', {
    config: opsConfig({ permission: 'operators.directory' }),
    schema: { tags, summary: 'Operator names and roles (to show who proposed, decided or is assigned)', description: OPS_SECURITY_NOTE,
      response: { 200: Type.Object({ operators: Type.Array(Type.Object({ id: Str, displayName: Str, role: Str, status: Str })) }) } },
  }, async () => ({ operators: await operatorDirectory(db) }));

  scope.get('/v1/ops/dashboard', {
    config: opsConfig({ permission: 'dashboard.read' }),
    schema: { tags, summary: 'Live dashboard: payments and top-ups per minute over the last hour, risk decision rates, open cases and alerts, switches off',
      description: `${OPS_SECURITY_NOTE} One statement, shared by every operator of a process for two seconds.`, response: { 200: DashboardOut } },
  }, async (_request, reply) => {
    reply.header('cache-control', 'no-store');
    return dashboard.read();
  });

  scope.get('/v1/ops/sign-in-health', {
    config: opsConfig({ permission: 'security_events.read' }),
    schema: { tags, summary: 'Platform-wide sign-in health (issue 13): failed sign-in rate and abandoned second factors over the sliding window and its baseline, per minute over the last hour, and the platform sign-in alerts of the last 24 h',
      description: `${OPS_SECURITY_NOTE} Figures across all networks; no personal data. Shared by every operator of a process for five seconds.`, response: { 200: SignInHealthOut } },
  }, async (_request, reply) => {
    reply.header('cache-control', 'no-store');
    return signInHealth.read();
  });

  scope.get('/v1/ops/search', {
    config: opsConfig({ permission: 'customers.read' }),
    schema: { tags, summary: 'One search box: customers by e-mail, phone or id; merchants by name or id; payments, top-ups and ledger transfers by id or merchant payment id',
      description: `${OPS_SECURITY_NOTE} Contacts are masked for roles without customers.read_unmasked. Searches are audited.`,
      querystring: Type.Object({ q: Type.String({ minLength: 1, maxLength: SEARCH_QUERY_MAX }) }, { additionalProperties: false }),
      response: { 200: Type.Object({ results: Type.Array(SearchHitOut) }) } },
  }, async (request) => {
    const context = contextOf(request);
    // Who looked for whom: searching customers is reading personal data.
    await operations.audit.record({ actor: actorOf(request), action: 'console.searched', outcome: 'success', details: { q: request.query.q.slice(0, 200) }, ip: context.ip, requestId: context.requestId });
    return { results: await search(db, request.query.q, maskerOf(request)) };
  });

  scope.get('/v1/ops/customers/:id', {
    config: opsConfig({ permission: 'customers.read' }),
    schema: { tags, summary: 'A customer\'s account page: contacts, wallet, devices, sessions, funding sources, risk decisions and links, cases',
      description: `${OPS_SECURITY_NOTE} Personal data is masked for roles without customers.read_unmasked. Reading it is audited.`, params: IdParams, response: { 200: CustomerOut } },
  }, async (request) => {
    const view = await customerView(db, request.params.id, maskerOf(request));
    const context = contextOf(request);
    await operations.audit.record({ actor: actorOf(request), action: 'customer.viewed', target: { kind: 'customer', id: request.params.id }, outcome: 'success',
      details: { masked: view.masked }, ip: context.ip, requestId: context.requestId });
    return view;
  });

  scope.get('/v1/ops/customers/:id/statement', {
    config: opsConfig({ permission: 'customers.read' }),
    schema: { tags, summary: 'The customer\'s wallet history from the ledger, newest first (cursor paging)', description: OPS_SECURITY_NOTE, params: IdParams,
      querystring: Type.Object({ cursor: Type.Optional(Type.String({ maxLength: 100 })), limit: Type.Optional(Type.String({ pattern: '^[1-9][0-9]{0,2}$' })) }, { additionalProperties: false }),
      response: { 200: StatementOut } },
  }, async (request) => customerStatement(db, request.params.id, request.query.cursor ?? null, Math.min(Number(request.query.limit ?? 20), 200)));

  scope.post('/v1/ops/customers/:id/case', {
    config: opsConfig({ permission: 'cases.open' }),
    schema: { tags, summary: 'Open a case on the customer (or answer the open one), so account actions can be taken from the account page', description: OPS_SECURITY_NOTE,
      params: IdParams, body: Type.Object({ reason: Reason }, { additionalProperties: false }), response: { 200: Type.Object({ caseId: Str, created: Type.Boolean() }) } },
  }, async (request) => {
    const context = contextOf(request);
    return openOperatorCase(db, request.params.id, request.body.reason, actorOf(request), { ip: context.ip, requestId: context.requestId });
  });

  scope.get('/v1/ops/merchants/:id', {
    config: opsConfig({ permission: 'merchants.read' }),
    schema: { tags, summary: 'A merchant with its stores, terminals and recent payments', description: OPS_SECURITY_NOTE, params: IdParams, response: { 200: MerchantOut } },
  }, async (request) => merchantView(db, request.params.id));

  scope.get('/v1/ops/merchants/:id/payments', {
    config: opsConfig({ permission: 'merchants.read' }),
    schema: { tags, summary: 'Every payment to the merchant, newest first; the next, older page with before=nextBefore', description: OPS_SECURITY_NOTE, params: IdParams,
      querystring: Type.Object({ limit: Type.Optional(Type.String({ pattern: '^[1-9][0-9]{0,2}$' })), before: Type.Optional(Type.String({ maxLength: 100 })) }, { additionalProperties: false }),
      response: { 200: Type.Object({ payments: MerchantOut.properties.recentPayments, nextBefore: NullableStr }) } },
  }, async (request) => merchantPayments(db, request.params.id, request.query.before ?? null, Math.min(Number(request.query.limit ?? 50), 200)));

  scope.get('/v1/ops/case-queue', {
    config: opsConfig({ permission: 'cases.read' }),
    schema: { tags, summary: 'Cases for the queue, filtered by status and assignee (me, none, or an operator id), most recently active first', description: OPS_SECURITY_NOTE,
      querystring: Type.Object({ status: Type.Optional(Type.Union([Type.Literal('open'), Type.Literal('closed')])),
        assignee: Type.Optional(Type.Union([Type.Literal('me'), Type.Literal('none'), Type.String({ format: 'uuid' })])),
        limit: Type.Optional(Type.String({ pattern: '^[1-9][0-9]{0,2}$' })), before: Type.Optional(Type.String({ maxLength: 200 })) }, { additionalProperties: false }),
      response: { 200: Type.Object({ cases: Type.Array(QueueCaseOut), nextBefore: Type.Union([Str, Type.Null()]) }) } },
  }, async (request) => {
    const wanted = request.query.assignee;
    const assignee: AssigneeFilter = wanted === undefined ? { kind: 'any' } : wanted === 'none' ? { kind: 'none' }
      : { kind: 'operator', operatorId: wanted === 'me' ? principalOf(request).operatorId : wanted };
    return caseQueue(db, { status: request.query.status ?? null, assignee, ...(request.query.limit === undefined ? {} : { limit: Number(request.query.limit) }),
      ...(request.query.before === undefined ? {} : { before: request.query.before }) }, maskerOf(request));
  });

  scope.get('/v1/ops/risk/rules/:id/history', {
    config: opsConfig({ permission: 'risk.rules.read' }),
    schema: { tags, summary: 'Every version of a rule\'s settings, newest first, with who changed it and why', description: OPS_SECURITY_NOTE,
      params: Type.Object({ id: Type.String({ maxLength: 64 }) }), response: { 200: Type.Object({ versions: Type.Array(RuleVersionOut) }) } },
  }, async (request) => ({ versions: await ruleHistory(db, request.params.id) }));

  scope.get('/v1/ops/compensation/batches', {
    config: opsConfig({ permission: 'proposals.read' }),
    schema: { tags, summary: 'Compensation batches, newest first; the next, older page with before=nextBefore', description: OPS_SECURITY_NOTE,
      querystring: Type.Object({ limit: Type.Optional(Type.String({ pattern: '^[1-9][0-9]{0,2}$' })), before: Type.Optional(Type.String({ maxLength: 200 })) }, { additionalProperties: false }),
      response: { 200: Type.Object({ batches: Type.Array(BatchSummaryOut), nextBefore: NullableStr }) } },
  }, async (request) => compensationBatches(db, { ...(request.query.limit === undefined ? {} : { limit: Number(request.query.limit) }), ...(request.query.before === undefined ? {} : { before: request.query.before }) }));

  scope.get('/v1/ops/compensation/flags', {
    config: opsConfig({ permission: 'proposals.read' }),
    schema: { tags, summary: 'Transfers flagged as fraudulent that no batch has taken yet, newest first; the next, older page with before=nextBefore', description: OPS_SECURITY_NOTE,
      querystring: Type.Object({ limit: Type.Optional(Type.String({ pattern: '^[1-9][0-9]{0,2}$' })), before: Type.Optional(Type.String({ maxLength: 200 })) }, { additionalProperties: false }),
      response: { 200: Type.Object({ flags: Type.Array(FlagOut), nextBefore: NullableStr }) } },
  }, async (request) => pendingFlags(db, { ...(request.query.limit === undefined ? {} : { limit: Number(request.query.limit) }), ...(request.query.before === undefined ? {} : { before: request.query.before }) }));

  scope.get('/v1/ops/audit/verification', {
    config: opsConfig({ permission: 'audit.read' }),
    schema: { tags, summary: 'Verify the audit hash chain now (what `koban audit verify` does): ok, the first broken place, and the head hash to compare with a copy kept elsewhere',
      description: `${OPS_SECURITY_NOTE} Reads the whole chain in one snapshot: run it on demand, not on a timer.`, response: { 200: VerificationOut } },
  }, async (request, reply) => {
    reply.header('cache-control', 'no-store');
    const report = await verifyAudit(db);
    const context = contextOf(request);
    await operations.audit.record({ actor: actorOf(request), action: 'audit.verified', outcome: report.ok ? 'success' : 'failure',
      details: { blocks: report.blocks, headHash: report.headHash, problems: report.problems.length }, ip: context.ip, requestId: context.requestId });
    return { ok: report.ok, checkedAt: new Date().toISOString(), blocks: report.blocks, sealedEvents: report.sealedEvents, unsealedEvents: report.unsealedEvents,
      headBlockNo: report.headBlockNo, headHash: report.headHash, firstProblem: report.problems[0] ?? null, problems: report.problems };
  });
}

const SecurityEventOut = Type.Object({ seq: Str, id: Str, occurredAt: Str, type: Str, outcome: Str, actor: Str, customerId: NullableStr, sessionId: NullableStr, deviceRef: NullableStr,
  ip: NullableStr, userAgent: NullableStr, reasons: Type.Array(Str), details: Type.Unknown() });

function registerSecurityEventRoutes(scope: App, operations: Operations, maskerOf: (request: Parameters<typeof principalOf>[0]) => ReturnType<typeof maskerFor>): void {
  scope.get('/v1/ops/security-events', {
    config: opsConfig({ permission: 'security_events.read' }),
    schema: { tags, summary: 'Security events, newest first: sign-ins and failures, factor changes and locks, SMS budget refusals, forged callbacks (per customer or platform-wide; reading is audited)',
      description: `${OPS_SECURITY_NOTE} \`type\` is a group (${Object.keys(SECURITY_EVENT_GROUPS).join(', ')}), an event type, or a prefix ending in a dot. Page with \`before\` = the previous page's \`nextBefore\`.`,
      querystring: Type.Object({
        customerId: Type.Optional(Type.String({ format: 'uuid' })),
        type: Type.Optional(Type.String({ pattern: '^[a-z][a-z0-9_.]{0,63}$' })),
        outcome: Type.Optional(Type.Union([Type.Literal('success'), Type.Literal('failure'), Type.Literal('refused'), Type.Literal('not_success')])),
        before: Type.Optional(Type.String({ pattern: '^[1-9][0-9]{0,18}$' })), limit: Type.Optional(Type.String({ pattern: '^[1-9][0-9]{0,2}$' })),
      }, { additionalProperties: false }),
      response: { 200: Type.Object({ events: Type.Array(SecurityEventOut), nextBefore: NullableStr }) } },
  }, async (request) => {
    const context = contextOf(request);
    await operations.audit.record({ actor: actorOf(request), action: 'security_events.read', outcome: 'success', details: { ...request.query }, ip: context.ip, requestId: context.requestId,
      ...(request.query.customerId === undefined ? {} : { target: { kind: 'customer', id: request.query.customerId } }) });
    return securityEvents(operations.db.pool, {
      customerId: request.query.customerId ?? null, type: request.query.type ?? null, outcome: request.query.outcome ?? null,
      before: request.query.before ?? null, limit: Number(request.query.limit ?? SECURITY_EVENTS_PAGE_DEFAULT),
    }, maskerOf(request));
  });
}
