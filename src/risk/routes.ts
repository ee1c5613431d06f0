/** Operator API for the risk engine: rules (thresholds, versioned), lists, and recent decisions. */
import { Type } from 'typebox';
import type { App } from '../http/app.ts';
import { actorOf, OPS_SECURITY_NOTE, OPS_TAG } from '../operations/http.ts';
import { opsConfig } from '../operations/routes.ts';
import { BACKTEST_DAYS_DEFAULT, BACKTEST_DAYS_MAX, replayLevelOf } from './backtest.ts';
import type { Risk } from './risk.ts';
import type { ListEntry, RuleView } from './settings.ts';
import { RISK_LISTS } from './types.ts';

const tags = [OPS_TAG];
const Action = Type.Union([Type.Literal('challenge'), Type.Literal('review'), Type.Literal('deny')]);
const List = Type.Union(RISK_LISTS.map((list) => Type.Literal(list)));
const Reason = Type.String({ minLength: 3, maxLength: 1000 });
const RuleOut = Type.Object({ id: Type.String(), description: Type.String(), kinds: Type.Array(Type.String()), enabled: Type.Boolean(), action: Type.String(),
  params: Type.Record(Type.String(), Type.Unknown()), version: Type.Integer(),
  paramInfo: Type.Array(Type.Object({ name: Type.String(), unit: Type.String(), min: Type.Union([Type.String(), Type.Null()]), max: Type.Union([Type.String(), Type.Null()]) })),
  replay: Type.String() });
const Decision = Type.Union([Type.Literal('allow'), Type.Literal('challenge'), Type.Literal('review'), Type.Literal('deny')]);
const Tally = Type.Object({ allow: Type.Integer(), challenge: Type.Integer(), review: Type.Integer(), deny: Type.Integer() });
const BacktestOut = Type.Object({ ruleId: Type.String(), days: Type.Integer(), from: Type.String(), to: Type.String(), replay: Type.String(), events: Type.Integer(),
  before: Tally, after: Tally, changes: Type.Array(Type.Object({ from: Decision, to: Decision, count: Type.Integer() })),
  newlyFiring: Type.Integer(), noLongerFiring: Type.Integer(), notReplayable: Type.Integer(), truncated: Type.Boolean(),
  examples: Type.Array(Type.Object({ eventId: Type.String(), kind: Type.String(), accountId: Type.Union([Type.String(), Type.Null()]), createdAt: Type.String(),
    amountMinor: Type.Union([Type.String(), Type.Null()]), before: Decision, after: Decision, observed: Type.Union([Type.String(), Type.Null()]) })) });
const EntryOut = Type.Object({ id: Type.String(), list: Type.String(), value: Type.String(), reason: Type.String(), createdBy: Type.String(), createdAt: Type.String(),
  expiresAt: Type.Union([Type.String(), Type.Null()]) });

export function registerRiskRoutes(scope: App, risk: Risk): void {
  scope.get('/v1/ops/risk/rules', {
    config: opsConfig({ permission: 'risk.rules.read' }),
    schema: { tags, summary: 'Risk rules with the thresholds in force', description: OPS_SECURITY_NOTE, response: { 200: Type.Object({ rulesetVersion: Type.Integer(), rules: Type.Array(RuleOut) }) } },
  }, async () => ({ rulesetVersion: risk.settings.ruleVersion(), rules: risk.settings.describeRules().map(ruleOut) }));

  scope.patch('/v1/ops/risk/rules/:id', {
    config: opsConfig({ permission: 'risk.rules.change' }),
    schema: { tags, summary: 'Change a rule (a new version; obeyed by every process within a second)', description: `${OPS_SECURITY_NOTE} Amounts in params are strings of digits.`,
      params: Type.Object({ id: Type.String({ maxLength: 64 }) }),
      body: Type.Object({ enabled: Type.Optional(Type.Boolean()), action: Type.Optional(Action), params: Type.Optional(Type.Record(Type.String(), Type.Unknown())), reason: Reason }, { additionalProperties: false }),
      response: { 200: RuleOut } },
  }, async (request) => {
    const { reason, ...change } = request.body;
    return ruleOut(await risk.settings.updateRule(request.params.id, change, actorOf(request), reason));
  });

  scope.post('/v1/ops/risk/rules/:id/backtest', {
    config: opsConfig({ permission: 'risk.rules.read' }),
    schema: { tags, summary: 'What a proposed change would have done to the last N days of recorded decisions (reads only; saves nothing)',
      description: `${OPS_SECURITY_NOTE} The body is a proposed change as for PATCH (without a reason) and \`days\` (${BACKTEST_DAYS_DEFAULT} by default, at most ${BACKTEST_DAYS_MAX}). \`replay\` says how exactly the rule can be replayed from what was recorded; \`notReplayable\` counts the events whose outcome cannot be known.`,
      params: Type.Object({ id: Type.String({ maxLength: 64 }) }),
      body: Type.Object({ enabled: Type.Optional(Type.Boolean()), action: Type.Optional(Action), params: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
        days: Type.Optional(Type.Integer({ minimum: 1, maximum: BACKTEST_DAYS_MAX })) }, { additionalProperties: false }),
      response: { 200: BacktestOut } },
  }, async (request) => {
    const { days, ...change } = request.body;
    return risk.backtest(request.params.id, change, days ?? BACKTEST_DAYS_DEFAULT);
  });

  scope.get('/v1/ops/risk/lists', {
    config: opsConfig({ permission: 'risk.rules.read' }),
    schema: { tags, summary: 'Blocked devices, cards and networks; marked networks and countries', description: OPS_SECURITY_NOTE, response: { 200: Type.Object({ entries: Type.Array(EntryOut) }) } },
  }, async () => ({ entries: risk.settings.listEntries().map(entryOut) }));

  scope.post('/v1/ops/risk/lists/:list', {
    config: opsConfig({ permission: 'risk.lists.change' }),
    schema: { tags, summary: 'Block a device, card or network, or mark a network or country', description: OPS_SECURITY_NOTE,
      params: Type.Object({ list: List }),
      body: Type.Object({ value: Type.String({ minLength: 1, maxLength: 200 }), reason: Reason, expiresAt: Type.Optional(Type.String({ format: 'date-time' })) }, { additionalProperties: false }),
      response: { 201: EntryOut } },
  }, async (request, reply) => {
    const entry = await risk.settings.addToList(request.params.list, request.body.value, request.body.reason, actorOf(request), request.body.expiresAt === undefined ? null : new Date(request.body.expiresAt));
    return reply.code(201).send(entryOut(entry));
  });

  scope.delete('/v1/ops/risk/lists/:list/:value', {
    config: opsConfig({ permission: 'risk.lists.change' }),
    schema: { tags, summary: 'Take a value off a list', description: OPS_SECURITY_NOTE, params: Type.Object({ list: List, value: Type.String({ maxLength: 200 }) }),
      querystring: Type.Object({ reason: Reason }, { additionalProperties: false }), response: { 204: Type.Null() } },
  }, async (request, reply) => {
    await risk.settings.removeFromList(request.params.list, decodeURIComponent(request.params.value), request.query.reason, actorOf(request));
    return reply.code(204).send(null);
  });

  scope.get('/v1/ops/risk/events', {
    config: opsConfig({ permission: 'risk.events.read' }),
    schema: { tags, summary: 'Risk decisions, newest first (flagged only unless all=true); the next page with before=nextBefore', description: OPS_SECURITY_NOTE,
      querystring: Type.Object({ accountId: Type.Optional(Type.String({ maxLength: 100 })), all: Type.Optional(Type.Union([Type.Literal('true'), Type.Literal('false')])),
        limit: Type.Optional(Type.String({ pattern: '^[1-9][0-9]{0,2}$' })), before: Type.Optional(Type.String({ maxLength: 200 })) }, { additionalProperties: false }),
      response: { 200: Type.Object({ events: Type.Array(Type.Object({ id: Type.String(), kind: Type.String(), accountId: Type.Union([Type.String(), Type.Null()]), decision: Type.String(),
        score: Type.Integer(), reasons: Type.Unknown(), ruleVersion: Type.String(), amountMinor: Type.Union([Type.String(), Type.Null()]), createdAt: Type.String(),
        ref: Type.Union([Type.String(), Type.Null()]) })), nextBefore: Type.Union([Type.String(), Type.Null()]) }) } },
  }, async (request) => {
    const page = await risk.recentDecisions({ accountId: request.query.accountId ?? null, flaggedOnly: request.query.all !== 'true',
      ...(request.query.limit === undefined ? {} : { limit: Number(request.query.limit) }), ...(request.query.before === undefined ? {} : { before: request.query.before }) });
    return { events: page.items, nextBefore: page.nextBefore };
  });
}

function ruleOut(rule: RuleView) {
  return { id: rule.id, description: rule.description, kinds: [...rule.kinds], enabled: rule.enabled, action: rule.action, params: rule.params, version: rule.version,
    paramInfo: rule.paramInfo, replay: replayLevelOf(rule.id) };
}

function entryOut(entry: ListEntry) {
  return { id: entry.id, list: entry.list, value: entry.value, reason: entry.reason, createdBy: entry.createdBy, createdAt: entry.createdAt.toISOString(), expiresAt: entry.expiresAt?.toISOString() ?? null };
}
