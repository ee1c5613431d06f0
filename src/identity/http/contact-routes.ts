/** Contact changes (REC-08) and password change while signed in. Thin adapters. */
import { Type } from 'typebox';
import type { FastifyRequest } from 'fastify';
import type { App } from '../../http/app.ts';
import { confirmContactChange, reportContactChange, startContactChange } from '../contacts/contact-change.ts';
import type { Identity } from '../identity.ts';
import { changePassword } from '../password/change-password.ts';
import { requestOrigin } from './guard.ts';
import { Code, GrantHeader, Ok, Password, Uuid } from './schemas.ts';

const tags = ['customer-security'];

function grantOf(request: FastifyRequest): string | undefined {
  const value = request.headers['x-step-up-grant'];
  return typeof value === 'string' ? value : undefined;
}

export function registerContactRoutes(app: App, identity: Identity, publicUrl: string): void {
  const deps = identity.deps;
  const Started = Type.Object({ changeId: Type.String() });
  const startedNote = 'A code goes to the new contact (or, if it already belongs to an account, a notice and no code: the answer is the same). Changing one contact makes the other wait out a 24 h cool-down.';

  app.post('/v1/customer/contacts/email', {
    schema: { tags, summary: 'Start changing the e-mail (step-up change_email {email} with the value exactly as sent)', description: startedNote, headers: GrantHeader,
      body: Type.Object({ email: Type.String({ minLength: 3, maxLength: 320 }) }, { additionalProperties: false }), response: { 202: Started } },
  }, async (request, reply) => {
    const session = await identity.guard(request);
    const started = await startContactChange(deps, session, { kind: 'email', value: request.body.email, grant: grantOf(request) }, requestOrigin(request));
    reply.code(202);
    return started;
  });

  app.post('/v1/customer/contacts/phone', {
    schema: { tags, summary: 'Start changing the phone (step-up change_phone {phone} with the value exactly as sent)', description: startedNote, headers: GrantHeader,
      body: Type.Object({ phone: Type.String({ minLength: 3, maxLength: 32 }) }, { additionalProperties: false }), response: { 202: Started } },
  }, async (request, reply) => {
    const session = await identity.guard(request);
    const started = await startContactChange(deps, session, { kind: 'phone', value: request.body.phone, grant: grantOf(request) }, requestOrigin(request));
    reply.code(202);
    return started;
  });

  app.post('/v1/customer/contacts/changes/:id/confirm', {
    schema: { tags, summary: 'Enter the code sent to the new contact; it then replaces the old one, which is told', params: Type.Object({ id: Uuid }),
      body: Type.Object({ code: Code }, { additionalProperties: false }), response: { 200: Ok } },
  }, async (request) => {
    const session = await identity.guard(request);
    await confirmContactChange(deps, session, { changeId: request.params.id, code: request.body.code }, publicUrl, requestOrigin(request));
    return { status: 'ok' as const };
  });

  app.post('/v1/customer/contacts/changes/report', {
    schema: { tags, summary: '"This wasn\'t me": the report code sent to the old contact restores it, ends every session and pauses top-ups', description: 'No session needed: the old contact may be all the owner has left.',
      body: Type.Object({ token: Type.String({ minLength: 1, maxLength: 128 }) }, { additionalProperties: false }), response: { 200: Ok } },
  }, async (request) => {
    await reportContactChange(deps, request.body.token, requestOrigin(request));
    return { status: 'ok' as const };
  });

  app.post('/v1/customer/password', {
    schema: { tags, summary: 'Change the password (step-up change_password {}; the current password is required; every other session ends)', headers: GrantHeader,
      body: Type.Object({ currentPassword: Password, newPassword: Password }, { additionalProperties: false }), response: { 200: Type.Object({ status: Type.Literal('ok'), sessionsRevoked: Type.Integer() }) } },
  }, async (request) => {
    const session = await identity.guard(request);
    const result = await changePassword(deps, session, { ...request.body, grant: grantOf(request) }, requestOrigin(request));
    return { status: 'ok' as const, sessionsRevoked: result.sessionsRevoked };
  });
}
