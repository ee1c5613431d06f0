/**
 * Merchant staff passkeys under /v1/merchant (thin adapters over src/merchants/staff-passkeys.ts). The sign-in
 * ceremony is public (it is how a session starts); enrolling, listing and removing need a staff session, and
 * each staff member manages only their own passkeys.
 */
import { Type } from 'typebox';
import type { AuthenticationResponseJSON, RegistrationResponseJSON } from '@simplewebauthn/server';
import type { App } from '../http/app.ts';
import { WebAuthnCredential, WebAuthnRegistrationCredential } from '../identity/http/schemas.ts';
import {
  listStaffPasskeys, registerStaffPasskey, removeStaffPasskey, signInStaffWithPasskey, staffPasskeyRegistrationOptions, staffPasskeySignInOptions,
  type StaffPasskey, type StaffPasskeyDeps,
} from '../merchants/staff-passkeys.ts';
import type { StaffUser } from '../merchants/staff.ts';
import { merchantSessionCookie, PORTAL_SECURITY_NOTE, PORTAL_TAG, staffContextOf, staffOf, type PortalRouteConfig } from './gate.ts';
import type { PortalDeps } from './service.ts';

const tags = [PORTAL_TAG];
const description = PORTAL_SECURITY_NOTE;
const cfg = (config: PortalRouteConfig): PortalRouteConfig => config;
const ChallengeId = Type.String({ maxLength: 64 });
const Options = Type.Object({ challengeId: Type.String(), options: Type.Unknown() });
const PasskeyOut = Type.Object({ credentialId: Type.String(), name: Type.String(), createdAt: Type.String(), lastUsedAt: Type.Union([Type.String(), Type.Null()]) });
const passkeyOut = (p: StaffPasskey) => ({ credentialId: p.credentialId, name: p.name, createdAt: p.createdAt.toISOString(), lastUsedAt: p.lastUsedAt?.toISOString() ?? null });

export function registerStaffPasskeyRoutes(scope: App, deps: PortalDeps, userOut: (user: StaffUser) => unknown): void {
  const passkeyDeps: StaffPasskeyDeps = { db: deps.db, box: deps.box, now: deps.now, webauthn: deps.webauthn };

  scope.post('/v1/merchant/session/passkey-options', {
    config: cfg({ public: true }),
    schema: { tags, summary: 'Start a merchant staff passkey sign-in (discoverable credential, user verification required)', response: { 200: Options } },
  }, async (_request, reply) => {
    reply.header('cache-control', 'no-store');
    return staffPasskeySignInOptions(passkeyDeps);
  });

  scope.post('/v1/merchant/session/passkey', {
    config: cfg({ public: true }),
    schema: { tags, summary: 'Merchant staff sign-in with a passkey alone', description: 'Sets the __Host-koban_merchant cookie and answers the CSRF token to send as x-csrf-token.',
      body: Type.Object({ challengeId: ChallengeId, response: WebAuthnCredential }, { additionalProperties: false }) },
  }, async (request, reply) => {
    const result = await signInStaffWithPasskey(passkeyDeps, { challengeId: request.body.challengeId, response: request.body.response as AuthenticationResponseJSON }, staffContextOf(request));
    reply.header('set-cookie', merchantSessionCookie(result.sessionToken));
    reply.header('cache-control', 'no-store');
    return { user: userOut(result.user), csrfToken: result.csrfToken, expiresAt: result.expiresAt.toISOString() };
  });

  scope.post('/v1/merchant/passkeys/registration-options', {
    config: cfg({ merchantPermission: 'session.self' }),
    schema: { tags, description, summary: 'Start enrolling a passkey for the signed-in staff member', response: { 200: Options } },
  }, async (request, reply) => {
    reply.header('cache-control', 'no-store');
    return staffPasskeyRegistrationOptions(passkeyDeps, staffOf(request));
  });

  scope.post('/v1/merchant/passkeys', {
    config: cfg({ merchantPermission: 'session.self' }),
    schema: { tags, description, summary: 'Enrol the passkey (next time it signs in alone)',
      body: Type.Object({ challengeId: ChallengeId, response: WebAuthnRegistrationCredential, name: Type.Optional(Type.String({ maxLength: 100 })) }, { additionalProperties: false }),
      response: { 201: PasskeyOut } },
  }, async (request, reply) => {
    const added = await registerStaffPasskey(passkeyDeps, staffOf(request),
      { challengeId: request.body.challengeId, response: request.body.response as RegistrationResponseJSON, name: request.body.name ?? 'Passkey' }, staffContextOf(request));
    return reply.code(201).send(passkeyOut(added));
  });

  scope.get('/v1/merchant/passkeys', {
    config: cfg({ merchantPermission: 'session.self' }),
    schema: { tags, description, summary: 'The signed-in staff member\'s passkeys', response: { 200: Type.Object({ passkeys: Type.Array(PasskeyOut) }) } },
  }, async (request) => ({ passkeys: (await listStaffPasskeys(passkeyDeps, staffOf(request).userId)).map(passkeyOut) }));

  scope.post('/v1/merchant/passkeys/remove', {
    config: cfg({ merchantPermission: 'session.self' }),
    schema: { tags, description, summary: 'Remove one of your passkeys', body: Type.Object({ credentialId: Type.String({ minLength: 1, maxLength: 1400 }) }, { additionalProperties: false }),
      response: { 204: Type.Null() } },
  }, async (request, reply) => {
    await removeStaffPasskey(passkeyDeps, staffOf(request), request.body.credentialId, staffContextOf(request));
    return reply.code(204).send(null);
  });
}
