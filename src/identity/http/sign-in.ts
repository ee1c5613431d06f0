/** Turns a new session into the cookie and the answer the client needs (CSRF token included). */
import type { FastifyReply } from 'fastify';
import type { IdentityDeps } from '../deps.ts';
import type { LoginOutcome } from '../login/login.ts';
import { setSessionCookie } from './cookies.ts';
import { csrfTokenFor } from './guard.ts';

export function issueSession(deps: IdentityDeps, reply: FastifyReply, customerId: string, sessionToken: string) {
  setSessionCookie(reply, sessionToken, deps.config.sessionAbsoluteTimeoutMs);
  return { status: 'signed_in' as const, customerId, csrfToken: csrfTokenFor(deps, sessionToken) };
}

export function answerLogin(deps: IdentityDeps, reply: FastifyReply, outcome: LoginOutcome) {
  if (outcome.status === 'signed_in') return issueSession(deps, reply, outcome.customerId, outcome.sessionToken);
  return { status: outcome.status, challengeId: outcome.challengeId, methods: outcome.methods };
}
