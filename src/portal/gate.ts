/**
 * The merchant portal's gate, shared by every `/v1/merchant` route: authenticate the merchant staff
 * session cookie (its own realm: never a customer's or an operator's cookie), check the CSRF header on
 * every state change, and check the route's declared permission against the user's role on the server.
 * A route that declares none is refused (deny by default). Refusals are audited.
 */
import type { FastifyRequest } from 'fastify';
import type { App } from '../http/app.ts';
import { isMerchantPermission, merchantCan, type MerchantPermission } from '../merchants/staff-roles.ts';
import { authenticateStaff, staffActor, staffCsrfMatches, type StaffDeps, type StaffPrincipal, type StaffRequestContext } from '../merchants/staff.ts';
import type { AuditLog } from '../operations/audit/audit-log.ts';
import { readCookie } from '../operations/http.ts';
import { KobanError } from '../platform/errors.ts';

export const MERCHANT_COOKIE = '__Host-koban_merchant';
export const MERCHANT_CSRF_HEADER = 'x-csrf-token';
export const PORTAL_TAG = 'merchant portal';
export const PORTAL_SECURITY_NOTE = `Merchant staff session: cookie ${MERCHANT_COOKIE} from POST /v1/merchant/session, plus header ${MERCHANT_CSRF_HEADER} on every POST, PUT and DELETE.`;

export interface PortalRouteConfig {
  readonly merchantPermission?: MerchantPermission;
  /** Sign-in and the application form: how a session or a merchant starts. */
  readonly public?: boolean;
  /** Open to an applicant session too (reading the operator's request, resubmitting, the session itself). */
  readonly applicant?: boolean;
}

const principals = new WeakMap<FastifyRequest, StaffPrincipal>();

export function staffOf(request: FastifyRequest): StaffPrincipal {
  const principal = principals.get(request);
  if (principal === undefined) throw new KobanError('unauthenticated', { detail: 'a merchant staff session is required' });
  return principal;
}

export function staffContextOf(request: FastifyRequest): StaffRequestContext {
  const agent = request.headers['user-agent'];
  return { ip: request.ip, userAgent: typeof agent === 'string' ? agent : null, requestId: request.id };
}

export function installMerchantGate(scope: App, staff: StaffDeps, audit: AuditLog): void {
  scope.addHook('onRequest', async (request) => {
    const config = request.routeOptions.config as PortalRouteConfig;
    if (config.public === true) return;
    const token = readCookie(request.headers.cookie, MERCHANT_COOKIE);
    const principal = token === null ? null : await authenticateStaff(staff, token);
    if (principal === null) throw new KobanError('unauthenticated', { detail: 'a merchant staff session is required (it may have timed out)' });
    const refuse = async (why: string, error: KobanError): Promise<never> => {
      await audit.record({ actor: staffActor(principal), action: 'merchant_user.request_denied', outcome: 'denied',
        target: { kind: 'route', id: `${request.method} ${request.routeOptions.url ?? request.url}` }, details: { why, permission: config.merchantPermission ?? null, merchantId: principal.merchantId },
        ip: request.ip, requestId: request.id });
      throw error;
    };
    if (!['GET', 'HEAD', 'OPTIONS'].includes(request.method)) {
      const csrf = request.headers[MERCHANT_CSRF_HEADER];
      if (typeof csrf !== 'string' || !staffCsrfMatches(principal, csrf)) await refuse('csrf', new KobanError('csrf_failed'));
    }
    if (principal.sessionKind === 'applicant' && config.applicant !== true) {
      await refuse('applicant_session', new KobanError('merchant_not_active', { detail: 'the application is still being reviewed: only the application can be read and resubmitted' }));
    }
    if (!isMerchantPermission(config.merchantPermission)) return refuse('route_declares_no_permission', new KobanError('merchant_permission_denied'));
    if (!merchantCan(principal.role, config.merchantPermission)) {
      await refuse('role', new KobanError('merchant_permission_denied', { detail: `the ${principal.role} role does not have ${config.merchantPermission}` }));
    }
    principals.set(request, principal);
  });
}

export function merchantSessionCookie(token: string): string {
  return `${MERCHANT_COOKIE}=${token}; Path=/; Secure; HttpOnly; SameSite=Strict`;
}

export function clearedMerchantSessionCookie(): string {
  return `${MERCHANT_COOKIE}=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0`;
}
