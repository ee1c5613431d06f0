/**
 * Operators' passkeys and break-glass under /v1/ops (issue 14): thin adapters over operators/passkeys.ts and
 * operators/break-glass.ts. The sign-in ceremonies are public (they are how a session starts); registering a
 * passkey is the one thing an enrolment session may do besides reading and ending itself.
 */
import { Type } from 'typebox';
import type { FastifyReply } from 'fastify';
import type { AuthenticationResponseJSON, RegistrationResponseJSON } from '@simplewebauthn/server';
import type { App } from '../http/app.ts';
import { WebAuthnCredential, WebAuthnRegistrationCredential } from '../identity/http/schemas.ts';
import { contextOf, OPS_SECURITY_NOTE, OPS_TAG, principalOf, sessionCookie, type OpsRouteConfig } from './http.ts';
import type { Operations } from './operations.ts';
import type { SignInResult } from './operators/operators.ts';

const tags = [OPS_TAG];
const ChallengeId = Type.String({ maxLength: 64 });
const Options = Type.Object({ challengeId: Type.String(), options: Type.Unknown() });
const SessionOut = Type.Object({
  operator: Type.Object({ id: Type.String(), email: Type.String(), displayName: Type.String(), role: Type.String() }),
  csrfToken: Type.String(), expiresAt: Type.String(), sessionKind: Type.String(),
});
const Reason = Type.String({ minLength: 3, maxLength: 1000, description: 'Why: kept in the audit log' });
const Credentials = { email: Type.String({ maxLength: 254 }), password: Type.String({ maxLength: 1024 }), totpCode: Type.String({ maxLength: 16 }) };
const config = (value: OpsRouteConfig) => value;

/** Sets the session cookie and answers what the console needs (never the token itself). */
export function answerSession(reply: FastifyReply, result: SignInResult) {
  reply.header('set-cookie', sessionCookie(result.sessionToken));
  reply.header('cache-control', 'no-store');
  const { operator } = result;
  return { operator: { id: operator.id, email: operator.email, displayName: operator.displayName, role: operator.role },
    csrfToken: result.csrfToken, expiresAt: result.expiresAt.toISOString(), sessionKind: result.sessionKind };
}

export function registerOperatorPasskeyRoutes(scope: App, operations: Operations): void {
  scope.post('/v1/ops/session/passkey-options', {
    config: config({ public: true }),
    schema: { tags, summary: 'Start an operator passkey sign-in (discoverable credential, user verification required)', response: { 200: Options } },
  }, async (_request, reply) => {
    reply.header('cache-control', 'no-store');
    return operations.operatorPasskeys.signInOptions();
  });

  scope.post('/v1/ops/session/passkey', {
    config: config({ public: true }),
    schema: { tags, summary: 'Operator sign-in with a passkey: the session for work', body: Type.Object({ challengeId: ChallengeId, response: WebAuthnCredential }, { additionalProperties: false }),
      response: { 200: SessionOut } },
  }, async (request, reply) => {
    const result = await operations.operatorPasskeys.signIn({ challengeId: request.body.challengeId, response: request.body.response as AuthenticationResponseJSON }, contextOf(request));
    return answerSession(reply, result);
  });

  scope.post('/v1/ops/passkeys/registration-options', {
    config: config({ permission: 'session.self', enrolment: true }),
    schema: { tags, summary: 'Start registering a passkey for the signed-in operator', description: OPS_SECURITY_NOTE, response: { 200: Options } },
  }, async (request, reply) => {
    reply.header('cache-control', 'no-store');
    return operations.operatorPasskeys.registrationOptions(principalOf(request));
  });

  scope.post('/v1/ops/passkeys', {
    config: config({ permission: 'session.self', enrolment: true }),
    schema: { tags, summary: 'Register the passkey; an enrolment session ends with it (sign in with the new passkey next)', description: OPS_SECURITY_NOTE,
      body: Type.Object({ challengeId: ChallengeId, response: WebAuthnRegistrationCredential, name: Type.Optional(Type.String({ maxLength: 100 })) }, { additionalProperties: false }),
      response: { 200: Type.Object({ sessionEnded: Type.Boolean() }) } },
  }, async (request) => {
    return operations.operatorPasskeys.register(principalOf(request),
      { challengeId: request.body.challengeId, response: request.body.response as RegistrationResponseJSON, name: request.body.name ?? 'Passkey' }, contextOf(request));
  });

  scope.get('/v1/ops/passkeys', {
    config: config({ permission: 'session.self' }),
    schema: { tags, summary: 'The signed-in operator\'s passkeys', description: OPS_SECURITY_NOTE,
      response: { 200: Type.Object({ items: Type.Array(Type.Object({ credentialId: Type.String(), name: Type.String(), createdAt: Type.String(), lastUsedAt: Type.Union([Type.String(), Type.Null()]) })) }) } },
  }, async (request) => {
    const items = await operations.operatorPasskeys.list(principalOf(request).operatorId);
    return { items: items.map((item) => ({ ...item, createdAt: item.createdAt.toISOString(), lastUsedAt: item.lastUsedAt?.toISOString() ?? null })) };
  });
  registerBreakGlassRoutes(scope, operations);
}

function registerBreakGlassRoutes(scope: App, operations: Operations): void {
  scope.post('/v1/ops/session/break-glass', {
    config: config({ public: true }),
    schema: { tags, summary: 'Break-glass, step 1: password, authenticator code and a reason; another operator must approve (alerted, audited)',
      body: Type.Object({ ...Credentials, reason: Reason }, { additionalProperties: false }),
      response: { 200: Type.Object({ requestId: Type.String(), token: Type.String(), expiresAt: Type.String() }) } },
  }, async (request, reply) => {
    const requested = await operations.breakGlass.request(request.body, contextOf(request));
    reply.header('cache-control', 'no-store');
    return { requestId: requested.requestId, token: requested.token, expiresAt: requested.expiresAt.toISOString() };
  });

  scope.post('/v1/ops/session/break-glass/:id', {
    config: config({ public: true }),
    schema: { tags, summary: 'Break-glass, step 3: once approved, the token, password and a fresh code from the same browser give a one-hour session',
      params: Type.Object({ id: Type.String({ maxLength: 64 }) }), body: Type.Object({ ...Credentials, token: Type.String({ maxLength: 100 }) }, { additionalProperties: false }),
      response: { 200: SessionOut } },
  }, async (request, reply) => answerSession(reply, await operations.breakGlass.complete(request.params.id, request.body, contextOf(request))));

  scope.get('/v1/ops/break-glass', {
    config: config({ permission: 'operators.break_glass_approve' }),
    schema: { tags, summary: 'Break-glass requests waiting or approved, not used yet', description: OPS_SECURITY_NOTE,
      response: { 200: Type.Object({ items: Type.Array(Type.Object({ id: Type.String(), operatorId: Type.String(), email: Type.String(), reason: Type.String(), requestedAt: Type.String(),
        expiresAt: Type.String(), approvedBy: Type.Union([Type.String(), Type.Null()]), ip: Type.Union([Type.String(), Type.Null()]) })) }) } },
  }, async () => {
    const items = await operations.breakGlass.pending();
    return { items: items.map((item) => ({ ...item, requestedAt: item.requestedAt.toISOString(), expiresAt: item.expiresAt.toISOString() })) };
  });

  scope.post('/v1/ops/break-glass/:id/approve', {
    config: config({ permission: 'operators.break_glass_approve' }),
    schema: { tags, summary: 'Break-glass, step 2: a second operator (signed in with a passkey) approves, with a reason', description: OPS_SECURITY_NOTE,
      params: Type.Object({ id: Type.String({ maxLength: 64 }) }), body: Type.Object({ reason: Reason }, { additionalProperties: false }),
      response: { 200: Type.Object({ approved: Type.Boolean() }) } },
  }, async (request) => {
    await operations.breakGlass.approve(request.params.id, principalOf(request), request.body.reason, contextOf(request));
    return { approved: true };
  });
}
