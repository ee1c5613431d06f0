/**
 * Request-level protections for the customer API:
 * - every state-changing request from a browser must come from Koban's own origin (Origin and
 *   Sec-Fetch-Site checks), and every state-changing request in a session must carry the session's
 *   CSRF token in `X-CSRF-Token` (SES-03);
 * - the session comes only from the `__Host-` cookie, never from the body or the URL.
 */
import { timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { RequestOrigin } from '../../platform/audit/security-log.ts';
import { KobanError } from '../../platform/errors.ts';
import type { IdentityDeps } from '../deps.ts';
import { randomToken } from '../secrets.ts';
import { networkOf } from '../login/throttle.ts';
import { bindSession, DEVICE_PROOF_HEADER, readDeviceProof, recordProof } from '../sessions/device-proof.ts';
import { authenticateToken, type Session, type SessionBinding } from '../sessions/sessions.ts';
import { DEVICE_COOKIE, readToken, SESSION_COOKIE, setDeviceCookie } from './cookies.ts';

const SAFE_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS']);
const CSRF_HEADER = 'x-csrf-token';

export function csrfTokenFor(deps: IdentityDeps, sessionToken: string): string {
  return deps.secrets.mac('csrf', sessionToken).toString('base64url');
}

export function requestOrigin(request: FastifyRequest): RequestOrigin {
  const userAgent = request.headers['user-agent'];
  return { ip: request.ip ?? null, userAgent: typeof userAgent === 'string' ? userAgent : null, deviceToken: readToken(request, DEVICE_COOKIE) };
}

/** The device id cookie; set on first contact so a later second factor can remember this device. */
export function ensureDeviceToken(request: FastifyRequest, reply: FastifyReply): string {
  const existing = readToken(request, DEVICE_COOKIE);
  if (existing !== null) return existing;
  const token = randomToken();
  setDeviceCookie(reply, token);
  return token;
}

/** onRequest hook for /v1/customer: a cross-site browser request that changes state is refused. */
export function checkBrowserOrigin(publicOrigin: string): (request: FastifyRequest) => Promise<void> {
  return async (request) => {
    if (SAFE_METHODS.has(request.method)) return;
    const origin = request.headers.origin;
    if (origin !== undefined && origin !== publicOrigin) throw new KobanError('csrf_failed', { detail: 'the request comes from another origin' });
    const site = request.headers['sec-fetch-site'];
    if (site === 'cross-site' || site === 'same-site') throw new KobanError('csrf_failed', { detail: 'the request comes from another site' });
  };
}

function csrfMatches(deps: IdentityDeps, request: FastifyRequest, sessionToken: string): boolean {
  const given = request.headers[CSRF_HEADER];
  if (typeof given !== 'string' || given.length > 128) return false;
  const expected = Buffer.from(csrfTokenFor(deps, sessionToken));
  const actual = Buffer.from(given);
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

export type CustomerGuard = (request: FastifyRequest) => Promise<Session>;

/**
 * The signed-in customer, or 401; for state-changing methods also the CSRF token (403), and for a session
 * bound to a device key the key's proof when one is due (device-proof.ts: `session_proof_required` /
 * `session_proof_invalid`, 401).
 */
export function createCustomerGuard(deps: IdentityDeps): CustomerGuard {
  const timeouts = { idleMs: deps.config.sessionIdleTimeoutMs, absoluteMs: deps.config.sessionAbsoluteTimeoutMs };
  // A request's proof is consumed once (its jti); a second guard call for the same request (a stream's
  // heartbeat, a route that asks twice) reuses what the first established.
  const proven = new WeakMap<FastifyRequest, string>();
  return async (request) => {
    const token = readToken(request, SESSION_COOKIE);
    if (token === null) throw new KobanError('unauthenticated');
    if (!SAFE_METHODS.has(request.method) && !csrfMatches(deps, request, token)) {
      throw new KobanError('csrf_failed', { detail: `state-changing requests need the session's ${CSRF_HEADER} header` });
    }
    const session = await authenticateToken(deps.db.pool, token, timeouts);
    if (session === null) throw new KobanError('unauthenticated', { detail: 'the session has ended; sign in again' });
    if (proven.get(request) === session.id) return session;
    await holdToDeviceKey(deps, request, session);
    proven.set(request, session.id);
    return session;
  };
}

/** Whether this request must carry a fresh proof of the session's device key. */
function proofDue(deps: IdentityDeps, request: FastifyRequest, binding: SessionBinding): boolean {
  if (!SAFE_METHODS.has(request.method)) return true;
  if (binding.proofAgeMs === null || binding.proofAgeMs > deps.config.sessionProofRefreshMs) return true;
  // A session used from a new network proves possession again, even to read. (Fastify always knows the
  // address; only a hand-made request object in a unit test lacks it.)
  const ip: unknown = request.ip;
  return typeof ip === 'string' && binding.proofNetwork !== networkOf(ip);
}

async function holdToDeviceKey(deps: IdentityDeps, request: FastifyRequest, session: Session & { binding: SessionBinding }): Promise<void> {
  const { binding } = session;
  if (binding.keyThumbprint === null) {
    // Not bound yet (a sign-in by top-level navigation, a client without a key): the first proof binds it.
    const proof = await readDeviceProof(request, deps.publicOrigin, new Date());
    if (proof === null) {
      if (deps.config.sessionDeviceBinding === 'required') throw new KobanError('session_proof_required', { detail: 'this session is not bound to a device key; sign in again from the app' });
      return;
    }
    if (!(await bindSession(deps.db.pool, session.id, proof))) throw new KobanError('session_proof_invalid', { detail: 'the session is bound to another key, or the proof was used before' });
    return;
  }
  if (!proofDue(deps, request, binding)) return;
  const proof = await readDeviceProof(request, deps.publicOrigin, new Date());
  if (proof === null) throw new KobanError('session_proof_required', { detail: `send a ${DEVICE_PROOF_HEADER} proof signed by this device's key` });
  if (proof.thumbprint !== binding.keyThumbprint) throw new KobanError('session_proof_invalid', { detail: 'the proof is signed by another key than the session\'s' });
  if (!(await recordProof(deps.db.pool, session.id, proof))) throw new KobanError('session_proof_invalid', { detail: 'this proof was used before' });
}
