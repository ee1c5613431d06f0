/**
 * Operators and the till code throttle (terminal/code-throttle.ts): the terminals locked now, and unlocking
 * one with a reason (permission `terminals.unlock`, audited as `terminal.unlocked`).
 */
import { Type } from 'typebox';
import type { App } from '../../http/app.ts';
import { actorOf, contextOf, OPS_SECURITY_NOTE, OPS_TAG, type OpsRouteConfig } from '../../operations/http.ts';
import type { PaymentsDeps } from '../deps.ts';
import { lockedTerminals, unlockTerminal } from './code-throttle.ts';

const TerminalParams = Type.Object({ id: Type.String({ format: 'uuid' }) });
const Locked = Type.Object({ terminalId: Type.String(), failures: Type.Integer(), lockedAt: Type.String() });

export function registerTerminalThrottleOpsRoutes(scope: App, deps: () => PaymentsDeps): void {
  scope.get('/v1/ops/terminals/locked', {
    config: { permission: 'merchants.read' } satisfies OpsRouteConfig,
    schema: { tags: [OPS_TAG], summary: 'Tills locked after too many unknown, expired or used customer codes', description: OPS_SECURITY_NOTE,
      response: { 200: Type.Object({ items: Type.Array(Locked) }) } },
  }, async () => {
    const items = await lockedTerminals(deps().db.pool);
    return { items: items.map((item) => ({ terminalId: item.terminalId, failures: item.failures, lockedAt: item.lockedAt.toISOString() })) };
  });

  scope.post('/v1/ops/terminals/:id/unlock', {
    config: { permission: 'terminals.unlock' } satisfies OpsRouteConfig,
    schema: { tags: [OPS_TAG], summary: 'Unlock a till locked by the code throttle (audited with the reason)', description: OPS_SECURITY_NOTE, params: TerminalParams,
      body: Type.Object({ reason: Type.String({ minLength: 3, maxLength: 1000 }) }, { additionalProperties: false }),
      response: { 200: Type.Object({ terminalId: Type.String(), locked: Type.Boolean() }) } },
  }, async (request) => {
    const context = contextOf(request);
    await unlockTerminal(deps(), request.params.id, actorOf(request), request.body.reason, { ip: context.ip, requestId: context.requestId });
    return { terminalId: request.params.id, locked: false };
  });
}
