/** Sign-up, sign-in (password, second factor, passkey), sign-out and who-am-I. Thin adapters. */
import { setCustomerLanguage, storedLanguage } from '../language.ts';
import { Type } from 'typebox';
import type { AuthenticationResponseJSON } from '@simplewebauthn/server';
import type { App } from '../../http/app.ts';
import { KobanError } from '../../platform/errors.ts';
import { signOut, startSignedUpSession } from '../account-security.ts';
import type { Identity } from '../identity.ts';
import { loginWithPassword } from '../login/login.ts';
import { loginWithPasskey, passkeyLoginOptions } from '../login/passkey-login.ts';
import { completeSecondFactor, loginPasskeyOptions, sendLoginCode, type SecondFactorProof } from '../login/second-factor.ts';
import { resendSignupCode, startSignup, verifySignupCode } from '../signup/signup.ts';
import { verifiedContacts } from '../contacts/contacts.ts';
import { clearCookie, SESSION_COOKIE } from './cookies.ts';
import { csrfTokenFor, ensureDeviceToken, requestOrigin } from './guard.ts';
import { Code, Identifier, LoginResult, Ok, Password, SignedIn, Uuid, WebAuthnCredential } from './schemas.ts';
import { answerLogin, issueSession } from './sign-in.ts';

const LanguageSchema = Type.Union([Type.Literal('ja'), Type.Literal('en')]);

const tags = ['customer'];
const Channel = Type.Union([Type.Literal('email'), Type.Literal('phone')]);

export function registerAccountRoutes(app: App, identity: Identity): void {
  const deps = identity.deps;

  app.post('/v1/customer/signup', {
    schema: { tags, summary: 'Start a sign-up: codes go to the phone and the e-mail', description: 'The answer is the same whether or not the phone or e-mail is already registered: if a contact can be used for a new account, a code is on its way to it. A contact that belongs to an account receives nothing (its owner is told in the app and by e-mail). SMS codes are limited per number, per network and overall (429 sms_budget_exceeded; the `sms` switch off answers 503).',
      body: Type.Object({ email: Type.String({ maxLength: 320 }), phone: Type.String({ maxLength: 32 }), password: Password }, { additionalProperties: false }),
      response: { 202: Type.Object({ signupId: Type.String() }) } },
  }, async (request, reply) => {
    ensureDeviceToken(request, reply);
    reply.code(202);
    return startSignup(deps, request.body, requestOrigin(request));
  });

  app.post('/v1/customer/signup/resend', {
    schema: { tags, summary: 'Send a sign-up code again (limited; keeps the failure count)', body: Type.Object({ signupId: Uuid, channel: Channel }, { additionalProperties: false }), response: { 202: Ok } },
  }, async (request, reply) => {
    await resendSignupCode(deps, request.body, requestOrigin(request));
    reply.code(202);
    return { status: 'ok' as const };
  });

  app.post('/v1/customer/signup/verify', {
    schema: { tags, summary: 'Enter a sign-up code; the second one creates the account and signs in on this device',
      body: Type.Object({ signupId: Uuid, channel: Channel, code: Code }, { additionalProperties: false }),
      response: { 200: Type.Union([SignedIn, Type.Object({ status: Type.Literal('pending'), remaining: Type.Array(Type.String()) })]) } },
  }, async (request, reply) => {
    const origin = requestOrigin(request);
    const deviceToken = ensureDeviceToken(request, reply);
    const progress = await verifySignupCode(deps, request.body, origin);
    if (progress.status === 'pending') return progress;
    const session = await startSignedUpSession(deps, progress.customerId, deviceToken, origin);
    return issueSession(deps, request, reply, progress.customerId, session.token);
  });

  app.post('/v1/customer/login', {
    schema: { tags, summary: 'Sign in with identifier and password', description: 'A device this account does not remember always gets a second-factor challenge. Unknown identifier and wrong password both answer invalid_credentials.',
      body: Type.Object({ identifier: Identifier, password: Password }, { additionalProperties: false }), response: { 200: LoginResult } },
  }, async (request, reply) => {
    const deviceToken = ensureDeviceToken(request, reply);
    return answerLogin(deps, request, reply, await loginWithPassword(deps, request.body, deviceToken, requestOrigin(request)));
  });

  app.post('/v1/customer/login/second-factor/sms', {
    schema: { tags, summary: 'Send the sign-in code to the verified phone on file', body: Type.Object({ challengeId: Uuid }, { additionalProperties: false }), response: { 202: Ok } },
  }, async (request, reply) => {
    await sendLoginCode(deps, request.body.challengeId, ensureDeviceToken(request, reply), requestOrigin(request));
    reply.code(202);
    return { status: 'ok' as const };
  });

  app.post('/v1/customer/login/second-factor/passkey-options', {
    schema: { tags, summary: 'WebAuthn options to answer a sign-in challenge with a passkey', body: Type.Object({ challengeId: Uuid }, { additionalProperties: false }) },
  }, async (request, reply) => loginPasskeyOptions(deps, request.body.challengeId, ensureDeviceToken(request, reply)));

  app.post('/v1/customer/login/second-factor', {
    schema: { tags, summary: 'Complete a sign-in with a second factor; remembers this device',
      body: Type.Object({
        challengeId: Uuid, method: Type.Union([Type.Literal('sms'), Type.Literal('totp'), Type.Literal('recovery_code'), Type.Literal('passkey')]),
        code: Type.Optional(Type.String({ maxLength: 64 })), webauthnChallengeId: Type.Optional(Uuid), credential: Type.Optional(WebAuthnCredential),
      }, { additionalProperties: false }),
      response: { 200: SignedIn } },
  }, async (request, reply) => {
    const body = request.body;
    const proof = toProof(body.method, body.code, body.webauthnChallengeId, body.credential as unknown as AuthenticationResponseJSON | undefined);
    const done = await completeSecondFactor(deps, body.challengeId, proof, ensureDeviceToken(request, reply), requestOrigin(request));
    return issueSession(deps, request, reply, done.customerId, done.sessionToken);
  });

  app.post('/v1/customer/passkeys/login/options', {
    schema: { tags, summary: 'Start a passwordless sign-in with a discoverable passkey', body: Type.Object({}, { additionalProperties: false }) },
  }, async (request, reply) => passkeyLoginOptions(deps, ensureDeviceToken(request, reply)));

  app.post('/v1/customer/passkeys/login', {
    schema: { tags, summary: 'Finish a passwordless sign-in with a passkey (user verification required)',
      body: Type.Object({ webauthnChallengeId: Uuid, credential: WebAuthnCredential }, { additionalProperties: false }), response: { 200: SignedIn } },
  }, async (request, reply) => {
    const done = await loginWithPasskey(deps, request.body.webauthnChallengeId, request.body.credential as unknown as AuthenticationResponseJSON, ensureDeviceToken(request, reply), requestOrigin(request));
    return issueSession(deps, request, reply, done.customerId, done.sessionToken);
  });

  app.post('/v1/customer/logout', {
    schema: { tags, summary: 'Sign out this session', body: Type.Optional(Type.Object({}, { additionalProperties: false })), response: { 200: Ok } },
  }, async (request, reply) => {
    await signOut(deps, await identity.guard(request), requestOrigin(request));
    clearCookie(reply, SESSION_COOKIE);
    return { status: 'ok' as const };
  });

  app.get('/v1/customer/me', {
    schema: { tags, summary: 'The signed-in customer and the CSRF token for this session',
      response: { 200: Type.Object({ customerId: Type.String(), csrfToken: Type.String(), contacts: Type.Array(Type.Object({ kind: Type.String(), value: Type.String() })), recoveryCooldown: Type.Boolean(),
        language: Type.Union([LanguageSchema, Type.Null()], { description: 'The language server texts are written in; null until the customer chose one' }) }) } },
  }, async (request) => {
    const session = await identity.guard(request);
    const contacts = await verifiedContacts(deps.db.pool, session.customerId);
    return { customerId: session.customerId, csrfToken: csrfTokenFor(deps, session.token), contacts, recoveryCooldown: await identity.isInRecoveryCooldown(session.customerId), language: await storedLanguage(deps.db.pool, session.customerId) };
  });

  app.put('/v1/customer/language', {
    schema: { tags, summary: 'Choose the language of Koban\'s texts to this customer: the feed and its live banners, SMS and e-mail (the wallet sets it when the customer switches language)',
      body: Type.Object({ language: LanguageSchema }, { additionalProperties: false }), response: { 200: Type.Object({ language: LanguageSchema }) } },
  }, async (request) => {
    const session = await identity.guard(request);
    await setCustomerLanguage(deps.db.pool, session.customerId, request.body.language);
    return { language: request.body.language };
  });
}

export function toProof(method: 'sms' | 'totp' | 'recovery_code' | 'passkey', code: string | undefined, webauthnChallengeId: string | undefined, credential: AuthenticationResponseJSON | undefined): SecondFactorProof {
  if (method === 'passkey') {
    if (webauthnChallengeId === undefined || credential === undefined) throw new KobanError('validation_failed', { errors: [{ pointer: '/body/credential', message: 'a passkey answer needs webauthnChallengeId and credential' }] });
    return { method, webauthnChallengeId, credential };
  }
  if (code === undefined) throw new KobanError('validation_failed', { errors: [{ pointer: '/body/code', message: 'is required for this method' }] });
  return { method, code };
}
