/** Turns a new session into the cookie and the answer the client needs (CSRF token included). */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { assert } from '../../platform/assert.ts';
import type { IdentityDeps } from '../deps.ts';
import type { LoginOutcome } from '../login/login.ts';
import { bindSession, readDeviceProof } from '../sessions/device-proof.ts';
import { revokeSession, sessionIdOfToken } from '../sessions/sessions.ts';
import { KobanError } from '../../platform/errors.ts';
import { setSessionCookie } from './cookies.ts';
import { csrfTokenFor } from './guard.ts';

/**
 * A sign-in request that carries a device proof (device-proof.ts) binds the new session to its key before
 * the cookie leaves: there is no moment in which the session works without it. A bad proof ends the new
 * session at once and the sign-in answers `session_proof_invalid`.
 */
async function bindIssuedSession(deps: IdentityDeps, request: FastifyRequest, customerId: string, sessionToken: string): Promise<void> {
  const sessionId = await sessionIdOfToken(deps.db.pool, sessionToken);
  assert(sessionId !== null, 'the session was just created');
  try {
    const proof = await readDeviceProof(request, deps.publicOrigin, new Date());
    if (proof === null) return;
    if (!(await bindSession(deps.db.pool, sessionId, proof))) throw new KobanError('session_proof_invalid', { detail: 'this proof was used before' });
  } catch (error) {
    await revokeSession(deps.db.pool, customerId, sessionId);
    throw error;
  }
}

export async function issueSession(deps: IdentityDeps, request: FastifyRequest, reply: FastifyReply, customerId: string, sessionToken: string) {
  await bindIssuedSession(deps, request, customerId, sessionToken);
  setSessionCookie(reply, sessionToken, deps.config.sessionAbsoluteTimeoutMs);
  return { status: 'signed_in' as const, customerId, csrfToken: csrfTokenFor(deps, sessionToken) };
}

export async function answerLogin(deps: IdentityDeps, request: FastifyRequest, reply: FastifyReply, outcome: LoginOutcome) {
  if (outcome.status === 'signed_in') return issueSession(deps, request, reply, outcome.customerId, outcome.sessionToken);
  return { status: outcome.status, challengeId: outcome.challengeId, methods: outcome.methods };
}
