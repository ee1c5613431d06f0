/** Sessions, devices, the notification feed, step-up, factors and the charge PIN. Thin adapters. */
import { setPaysWithPasskey } from '../payment-passkey.ts';
import { Type } from 'typebox';
import type { AuthenticationResponseJSON, RegistrationResponseJSON } from '@simplewebauthn/server';
import type { FastifyRequest } from 'fastify';
import type { App } from '../../http/app.ts';
import { KobanError } from '../../platform/errors.ts';
import { FEED_PAGE_MAX, listFeed } from '../../notifications/outbox.ts';
import {
  addPasskey, confirmTotp, factorSummary, forgetDevice, newRecoveryCodes, removeOwnPasskey, signOutEverywhere, startPasskeyRegistration, startTotpEnrollment,
} from '../account-security.ts';
import { listPasskeys } from '../factors/passkeys.ts';
import type { Identity } from '../identity.ts';
import { setChargePin } from '../pin/charge-pin.ts';
import { listDevices } from '../sessions/devices.ts';
import { listSessions, revokeSession } from '../sessions/sessions.ts';
import { completeStepUp, sendStepUpCode, startStepUp, stepUpPasskeyOptions, type StepUpProof } from '../step-up/step-up.ts';
import { setSessionCookie } from './cookies.ts';
import { csrfTokenFor, requestOrigin } from './guard.ts';
import { Code, GrantHeader, Ok, StepUpAction, StepUpParams, Uuid, WebAuthnCredential, WebAuthnRegistrationCredential } from './schemas.ts';

const tags = ['customer-security'];
const IdParams = Type.Object({ id: Uuid });
const Empty = Type.Optional(Type.Object({}, { additionalProperties: false }));

function grantOf(request: FastifyRequest): string | undefined {
  const value = request.headers['x-step-up-grant'];
  return typeof value === 'string' ? value : undefined;
}

export function registerSecurityRoutes(app: App, identity: Identity): void {
  const deps = identity.deps;
  const timeouts = { idleMs: deps.config.sessionIdleTimeoutMs, absoluteMs: deps.config.sessionAbsoluteTimeoutMs };
  const iso = (date: Date | null) => (date === null ? null : date.toISOString());

  app.get('/v1/customer/sessions', { schema: { tags, summary: 'Live sessions of the signed-in customer' } }, async (request) => {
    const session = await identity.guard(request);
    const sessions = await listSessions(deps.db.pool, session.customerId, timeouts);
    return { sessions: sessions.map((s) => ({ id: s.id, current: s.id === session.id, createdAt: iso(s.createdAt), lastSeenAt: iso(s.lastSeenAt), ip: s.ip, userAgent: s.userAgent, authMethods: s.authMethods })) };
  });
  app.delete('/v1/customer/sessions/:id', { schema: { tags, summary: 'Revoke one session', params: IdParams, response: { 200: Ok } } }, async (request) => {
    const session = await identity.guard(request);
    if (!(await revokeSession(deps.db.pool, session.customerId, request.params.id))) throw new KobanError('session_not_found');
    return { status: 'ok' as const };
  });
  app.post('/v1/customer/sessions/revoke-all', { schema: { tags, summary: 'Sign out everywhere (this session included)', body: Empty, response: { 200: Ok } } }, async (request) => {
    await signOutEverywhere(deps, await identity.guard(request), requestOrigin(request));
    return { status: 'ok' as const };
  });

  app.get('/v1/customer/devices', { schema: { tags, summary: 'Remembered devices (they sign in without a second factor)' } }, async (request) => {
    const session = await identity.guard(request);
    const devices = await listDevices(deps.db.pool, session.customerId);
    return { devices: devices.map((d) => ({ id: d.id, label: d.label, current: d.id === session.deviceId, createdAt: iso(d.createdAt), lastSeenAt: iso(d.lastSeenAt) })) };
  });
  app.delete('/v1/customer/devices/:id', { schema: { tags, summary: 'Forget a device and end its sessions', params: IdParams, response: { 200: Ok } } }, async (request) => {
    await forgetDevice(deps, await identity.guard(request), request.params.id, requestOrigin(request));
    return { status: 'ok' as const };
  });

  app.get('/v1/customer/notifications', { schema: { tags, summary: 'The in-app notification feed, newest first' } }, async (request) => {
    const session = await identity.guard(request);
    const entries = await listFeed(deps.db.pool, session.customerId, FEED_PAGE_MAX);
    return { notifications: entries.map((e) => ({ id: e.id, kind: e.kind, title: e.title, body: e.body, createdAt: iso(e.createdAt), readAt: iso(e.readAt), contestable: e.contestable })) };
  });

  registerStepUpRoutes(app, identity);
  registerFactorRoutes(app, identity, grantOf);
}

function registerStepUpRoutes(app: App, identity: Identity): void {
  const deps = identity.deps;
  app.post('/v1/customer/step-up', {
    schema: { tags, summary: 'Start a step-up for one action with its exact parameters',
      description: 'With useSetupWindow, a first setup step (first PIN, funding source, top-up or passkey) on the session a sign-up started, within 10 minutes of it, answers with the grant at once (no ceremony).',
      body: Type.Object({ action: StepUpAction, params: StepUpParams, useSetupWindow: Type.Optional(Type.Boolean()) }, { additionalProperties: false }),
      response: { 200: Type.Object({ stepUpId: Type.String(), methods: Type.Array(Type.String()), grant: Type.Optional(Type.String()), expiresInMs: Type.Optional(Type.Integer()) }) } },
  }, async (request) => startStepUp(deps, await identity.guard(request), request.body.action, request.body.params,
    { useSetupWindow: request.body.useSetupWindow === true, origin: requestOrigin(request) }));
  app.post('/v1/customer/step-up/:id/sms', { schema: { tags, summary: 'Send the step-up code to the verified phone', params: IdParams, body: Empty, response: { 202: Ok } } }, async (request, reply) => {
    await sendStepUpCode(deps, await identity.guard(request), request.params.id, requestOrigin(request));
    reply.code(202);
    return { status: 'ok' as const };
  });
  app.post('/v1/customer/step-up/:id/passkey-options', { schema: { tags, summary: 'WebAuthn options for a passkey step-up', params: IdParams, body: Empty } },
    async (request) => stepUpPasskeyOptions(deps, await identity.guard(request), request.params.id));
  app.post('/v1/customer/step-up/:id/verify', {
    schema: { tags, summary: 'Prove a fresh second factor; returns a single-use grant (5 min) and rotates the session', params: IdParams,
      body: Type.Object({ method: Type.Union([Type.Literal('sms'), Type.Literal('totp'), Type.Literal('passkey')]), code: Type.Optional(Code), webauthnChallengeId: Type.Optional(Uuid), credential: Type.Optional(WebAuthnCredential) }, { additionalProperties: false }),
      response: { 200: Type.Object({ grant: Type.String(), expiresInMs: Type.Integer(), csrfToken: Type.String() }) } },
  }, async (request, reply) => {
    const session = await identity.guard(request);
    const body = request.body;
    let proof: StepUpProof;
    if (body.method === 'passkey') {
      if (body.webauthnChallengeId === undefined || body.credential === undefined) throw new KobanError('validation_failed', { errors: [{ pointer: '/body/credential', message: 'is required for a passkey' }] });
      proof = { method: 'passkey', webauthnChallengeId: body.webauthnChallengeId, credential: body.credential as unknown as AuthenticationResponseJSON };
    } else {
      if (body.code === undefined) throw new KobanError('validation_failed', { errors: [{ pointer: '/body/code', message: 'is required' }] });
      proof = { method: body.method, code: body.code };
    }
    const result = await completeStepUp(deps, session, request.params.id, proof, requestOrigin(request));
    setSessionCookie(reply, result.sessionToken, deps.config.sessionAbsoluteTimeoutMs);
    return { grant: result.grant, expiresInMs: result.expiresInMs, csrfToken: csrfTokenFor(deps, result.sessionToken) };
  });
}

function registerFactorRoutes(app: App, identity: Identity, grantOf: (request: FastifyRequest) => string | undefined): void {
  const deps = identity.deps;

  app.get('/v1/customer/factors', {
    schema: { tags, summary: 'Which sign-in factors and charge PIN the signed-in customer has (counts and states, never secrets)',
      response: { 200: Type.Object({ passkeys: Type.Integer(), totp: Type.Boolean(), recoveryCodesLeft: Type.Integer(), chargePin: Type.Union([Type.Literal('not_set'), Type.Literal('set'), Type.Literal('locked')]), paysWithPasskey: Type.Boolean() }) } },
  }, async (request) => factorSummary(deps, (await identity.guard(request)).customerId));
  app.put('/v1/customer/payment-passkey', {
    schema: { tags, summary: 'Pay with your passkey (on while you have one); turning it off needs the passkey (step-up change_factors {factor: "payment_passkey"})', headers: GrantHeader,
      body: Type.Object({ enabled: Type.Boolean() }, { additionalProperties: false }), response: { 200: Ok } },
  }, async (request) => {
    await setPaysWithPasskey(deps, await identity.guard(request), request.body.enabled, grantOf(request), requestOrigin(request));
    return { status: 'ok' as const };
  });
  app.post('/v1/customer/passkeys/registration/options', {
    schema: { tags, summary: 'Start adding a passkey (step-up change_factors {factor: "passkey"} in X-Step-Up-Grant)', headers: GrantHeader, body: Empty },
  }, async (request) => startPasskeyRegistration(deps, await identity.guard(request), grantOf(request)));
  app.post('/v1/customer/passkeys/registration', {
    schema: { tags, summary: 'Finish adding a passkey', body: Type.Object({ webauthnChallengeId: Uuid, credential: WebAuthnRegistrationCredential, name: Type.Optional(Type.String({ maxLength: 100 })) }, { additionalProperties: false }),
      response: { 201: Type.Object({ passkeyId: Type.String() }) } },
  }, async (request, reply) => {
    const input = { challengeId: request.body.webauthnChallengeId, response: request.body.credential as unknown as RegistrationResponseJSON, name: request.body.name ?? 'Passkey' };
    const passkeyId = await addPasskey(deps, await identity.guard(request), input, requestOrigin(request));
    reply.code(201);
    return { passkeyId };
  });
  app.get('/v1/customer/passkeys', { schema: { tags, summary: 'Registered passkeys' } }, async (request) => {
    const session = await identity.guard(request);
    return { passkeys: (await listPasskeys(deps.db.pool, session.customerId)).map((p) => ({ ...p, createdAt: p.createdAt.toISOString(), lastUsedAt: p.lastUsedAt?.toISOString() ?? null })) };
  });
  app.delete('/v1/customer/passkeys/:id', { schema: { tags, summary: 'Remove a passkey (step-up change_factors {factor: "passkey", passkeyId})', headers: GrantHeader, params: IdParams, response: { 200: Ok } } }, async (request) => {
    await removeOwnPasskey(deps, await identity.guard(request), request.params.id, grantOf(request), requestOrigin(request));
    return { status: 'ok' as const };
  });

  app.post('/v1/customer/totp', {
    schema: { tags, summary: 'Start setting up an authenticator app (step-up change_factors {factor: "totp"})', headers: GrantHeader, body: Empty, response: { 200: Type.Object({ secret: Type.String(), uri: Type.String() }) } },
  }, async (request) => startTotpEnrollment(deps, await identity.guard(request), grantOf(request)));
  app.post('/v1/customer/totp/confirm', {
    schema: { tags, summary: 'Confirm the authenticator app with its first code', body: Type.Object({ code: Code }, { additionalProperties: false }), response: { 200: Ok } },
  }, async (request) => {
    await confirmTotp(deps, await identity.guard(request), request.body.code, requestOrigin(request));
    return { status: 'ok' as const };
  });

  app.post('/v1/customer/recovery-codes', {
    schema: { tags, summary: 'Generate 10 new recovery codes, shown once (step-up change_factors {factor: "recovery_codes"})', headers: GrantHeader, body: Empty, response: { 200: Type.Object({ codes: Type.Array(Type.String()) }) } },
  }, async (request) => ({ codes: await newRecoveryCodes(deps, await identity.guard(request), grantOf(request), requestOrigin(request)) }));

  app.put('/v1/customer/pin', {
    schema: { tags, summary: 'Set or reset the charge PIN (step-up change_factors {factor: "charge_pin"}; the current PIN unless it is locked)', headers: GrantHeader,
      body: Type.Object({ pin: Type.String({ maxLength: 16 }), currentPin: Type.Optional(Type.String({ maxLength: 16 })) }, { additionalProperties: false }), response: { 200: Ok } },
  }, async (request) => {
    const session = await identity.guard(request);
    await setChargePin(deps, session, { pin: request.body.pin, currentPin: request.body.currentPin, grant: grantOf(request) }, requestOrigin(request));
    return { status: 'ok' as const };
  });
}
