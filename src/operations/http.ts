/**
 * The operator API's gate, shared by every `/v1/ops` route: authenticate the operator session cookie
 * (never a customer's cookie or a bearer token), check the CSRF header on every state change, and
 * check the route's declared permission against the operator's role. A route that declares no
 * permission is refused (deny by default). Refusals are audited.
 */
import type { FastifyRequest } from 'fastify';
import type { App } from '../http/app.ts';
import { KobanError } from '../platform/errors.ts';
import type { AuditLog } from './audit/audit-log.ts';
import type { OperatorPrincipal, Operators, RequestContext } from './operators/operators.ts';
import { can, isPermission, type Permission } from './operators/permissions.ts';

export const OPERATOR_COOKIE = '__Host-koban_operator';
export const CSRF_HEADER = 'x-csrf-token';
export const OPS_TAG = 'operations';
export const OPS_SECURITY_NOTE = `Operator session: cookie ${OPERATOR_COOKIE} from POST /v1/ops/session, plus header ${CSRF_HEADER} on every POST, PUT and DELETE.`;

/** What each operator route declares in `config`. */
export interface OpsRouteConfig {
  readonly permission?: Permission;
  /** Only the sign-in routes: they are how a session starts. */
  readonly public?: boolean;
  /** Open to an enrolment session (password + TOTP, no passkey yet): registering a passkey, reading and ending the session. */
  readonly enrolment?: boolean;
}

const principals = new WeakMap<FastifyRequest, OperatorPrincipal>();

export function principalOf(request: FastifyRequest): OperatorPrincipal {
  const principal = principals.get(request);
  if (principal === undefined) throw new KobanError('unauthenticated', { detail: 'an operator session is required' });
  return principal;
}

export function contextOf(request: FastifyRequest): RequestContext {
  const agent = request.headers['user-agent'];
  return { ip: request.ip, userAgent: typeof agent === 'string' ? agent : null, requestId: request.id };
}

export function actorOf(request: FastifyRequest) {
  return { kind: 'operator' as const, id: principalOf(request).operatorId };
}

export function installOperatorGate(scope: App, operators: Operators, audit: AuditLog): void {
  scope.addHook('onRequest', async (request) => {
    const config = request.routeOptions.config as OpsRouteConfig;
    if (config.public === true) return;
    const token = readCookie(request.headers.cookie, OPERATOR_COOKIE);
    const agent = request.headers['user-agent'];
    const principal = token === null ? null : await operators.authenticate(token, { ip: request.ip, userAgent: typeof agent === 'string' ? agent : null, requestId: request.id });
    if (principal === null) throw new KobanError('unauthenticated', { detail: 'an operator session is required (it may have timed out)' });
    const refuse = async (why: string, error: KobanError): Promise<never> => {
      await audit.record({ actor: { kind: 'operator', id: principal.operatorId }, action: 'operator.request_denied', outcome: 'denied',
        target: { kind: 'route', id: `${request.method} ${request.routeOptions.url ?? request.url}` }, details: { why, permission: config.permission ?? null },
        ip: request.ip, requestId: request.id });
      throw error;
    };
    if (!['GET', 'HEAD', 'OPTIONS'].includes(request.method)) {
      const csrf = request.headers[CSRF_HEADER];
      if (typeof csrf !== 'string' || !operators.csrfMatches(principal, csrf)) await refuse('csrf', new KobanError('csrf_failed'));
    }
    if (!isPermission(config.permission)) return refuse('route_declares_no_permission', new KobanError('operator_permission_denied'));
    if (principal.sessionKind === 'enrolment' && config.enrolment !== true) await refuse('passkey_enrolment_required', new KobanError('operator_passkey_enrolment_required'));
    if (!can(principal.role, config.permission)) {
      await refuse('role', new KobanError('operator_permission_denied', { detail: `the ${principal.role} role does not have ${config.permission}` }));
    }
    principals.set(request, principal);
  });
}

export function readCookie(header: string | undefined, name: string): string | null {
  if (header === undefined || header.length > 8192) return null;
  for (const part of header.split(';')) {
    const index = part.indexOf('=');
    if (index > 0 && part.slice(0, index).trim() === name) return part.slice(index + 1).trim();
  }
  return null;
}

export function sessionCookie(token: string): string {
  return `${OPERATOR_COOKIE}=${token}; Path=/; Secure; HttpOnly; SameSite=Strict`;
}

export function clearedSessionCookie(): string {
  return `${OPERATOR_COOKIE}=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0`;
}
