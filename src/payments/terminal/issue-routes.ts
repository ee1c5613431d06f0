/**
 * Issuing a till activation code while Koban runs, two ways in:
 * - operators: `POST /v1/ops/terminals/{id}/activation-codes` (permission `terminals.activate`; audited),
 *   behind the console's "Activation code" button on a merchant's page;
 * - the command line beside an embedded Koban: `POST /v1/local/till/activation-codes` with the per-start
 *   local admin token (src/platform/local-admin.ts), which `koban till activation-code` reads from the
 *   0600 file beside the data folder. Off unless a token is given (npm start on the embedded folder).
 */
import { Type } from 'typebox';
import type { App } from '../../http/app.ts';
import { requireBearerToken } from '../../http/service-token.ts';
import { actorOf, contextOf, OPS_SECURITY_NOTE, OPS_TAG, type OpsRouteConfig } from '../../operations/http.ts';
import type { TerminalAccess } from './access.ts';

const Issued = Type.Object({ terminalId: Type.String(), code: Type.String(), expiresAt: Type.String() });
const TerminalParams = Type.Object({ id: Type.String({ format: 'uuid' }) });

/** What the route needs of the audit log (operations' `AuditLog` fits). */
interface AuditSink {
  record(entry: { actor: { kind: 'operator'; id: string }; action: string; target: { kind: string; id: string }; outcome: 'success'; details: Record<string, unknown>; ip: string | null; requestId: string | null }): Promise<void>;
}

export function registerTillActivationOpsRoute(scope: App, terminals: () => TerminalAccess, audit: AuditSink): void {
  scope.post('/v1/ops/terminals/:id/activation-codes', {
    config: { permission: 'terminals.activate' } satisfies OpsRouteConfig,
    schema: { tags: [OPS_TAG], summary: 'Issue a one-time code (15 min) that activates a browser as this terminal\'s till; the previous unused code stops working',
      description: OPS_SECURITY_NOTE, params: TerminalParams, response: { 200: Issued } },
  }, async (request, reply) => {
    const issued = await terminals().issueActivationCode(request.params.id, `operator:${actorOf(request).id}`);
    const context = contextOf(request);
    await audit.record({ actor: actorOf(request), action: 'terminal.activation_code_issued', target: { kind: 'terminal', id: issued.terminalId }, outcome: 'success',
      details: { expiresAt: issued.expiresAt.toISOString() }, ip: context.ip, requestId: context.requestId });
    reply.header('cache-control', 'no-store');
    return { terminalId: issued.terminalId, code: issued.code, expiresAt: issued.expiresAt.toISOString() };
  });
}

export function registerLocalTillActivationRoute(app: App, terminals: TerminalAccess, localAdminToken: string): void {
  app.post('/v1/local/till/activation-codes', {
    preHandler: requireBearerToken(localAdminToken),
    schema: { hide: true, body: Type.Object({ terminalId: Type.String({ format: 'uuid' }) }, { additionalProperties: false }), response: { 200: Issued } },
  }, async (request, reply) => {
    const issued = await terminals.issueActivationCode(request.body.terminalId, 'cli');
    reply.header('cache-control', 'no-store');
    return { terminalId: issued.terminalId, code: issued.code, expiresAt: issued.expiresAt.toISOString() };
  });
}
