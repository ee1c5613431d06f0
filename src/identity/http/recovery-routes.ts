/** Account recovery and social sign-in routes. Thin adapters. */
import { Type } from 'typebox';
import type { FastifyRequest } from 'fastify';
import type { App } from '../../http/app.ts';
import { KobanError } from '../../platform/errors.ts';
import type { Identity } from '../identity.ts';
import { completeRecovery, startRecovery } from '../recovery/recovery.ts';
import { callbackPath } from '../social-links/social-login.ts';
import { clearCookie, readToken, SESSION_COOKIE, setSocialCookie, SOCIAL_COOKIE } from './cookies.ts';
import { ensureDeviceToken, requestOrigin } from './guard.ts';
import { GrantHeader, Identifier, Ok, Password, Uuid } from './schemas.ts';
import { answerLogin } from './sign-in.ts';
import { authenticateToken } from '../sessions/sessions.ts';

const tags = ['customer-recovery'];

/** Where the wallet (web/wallet) lives; the social callback sends a browser back into it. */
const WALLET_PATH = '/wallet/';

/** A top-level navigation (the provider redirected the browser), as opposed to an API client. */
function isBrowserNavigation(request: FastifyRequest): boolean {
  const accept = request.headers.accept;
  return request.headers['sec-fetch-mode'] === 'navigate' || (typeof accept === 'string' && accept.includes('text/html'));
}

/**
 * The outcome travels in the URL fragment: browsers never send it to a server or in a Referer, and
 * the wallet removes it from the address bar at once. A sign-in challenge is bound to this browser's
 * device cookie, so its id is useless elsewhere.
 */
function walletTarget(route: string, values: Record<string, string>): string {
  return `${WALLET_PATH}${route}#${new URLSearchParams(values).toString()}`;
}

function walletLogin(answer: { status: string; challengeId?: string; methods?: string[] }): string {
  if (answer.status === 'second_factor_required' && answer.challengeId !== undefined) return walletTarget('sign-in', { challenge: answer.challengeId, methods: (answer.methods ?? []).join(',') });
  return WALLET_PATH;
}

export function registerRecoveryRoutes(app: App, identity: Identity, publicUrl: string): void {
  const deps = identity.deps;
  app.post('/v1/customer/recovery', {
    schema: { tags, summary: 'Start account recovery: codes go only to the phone and e-mail verified and on file',
      description: 'Only the account identifier is accepted; any other field (such as a destination address) is refused. The answer is the same whether or not the account exists.',
      body: Type.Object({ identifier: Identifier }, { additionalProperties: false }), response: { 202: Type.Object({ recoveryId: Type.String() }) } },
  }, async (request, reply) => {
    reply.code(202);
    return startRecovery(deps, request.body.identifier, requestOrigin(request));
  });
  app.post('/v1/customer/recovery/complete', {
    schema: { tags, summary: 'Finish recovery with two proofs (SMS code + e-mail code, or one of them + a recovery code) and a new password',
      body: Type.Object({ recoveryId: Uuid, smsCode: Type.Optional(Type.String({ maxLength: 16 })), emailCode: Type.Optional(Type.String({ maxLength: 16 })), recoveryCode: Type.Optional(Type.String({ maxLength: 64 })), newPassword: Password }, { additionalProperties: false }),
      response: { 200: Ok } },
  }, async (request) => {
    const { recoveryId, smsCode, emailCode, recoveryCode, newPassword } = request.body;
    await completeRecovery(deps, { recoveryId, proofs: { smsCode, emailCode, recoveryCode }, newPassword }, requestOrigin(request));
    return { status: 'ok' as const };
  });
  registerSocialRoutes(app, identity, publicUrl);
}

function registerSocialRoutes(app: App, identity: Identity, publicUrl: string): void {
  const tagsSocial = ['customer-social'];
  const ProviderParams = Type.Object({ provider: Type.String({ pattern: '^[a-z][a-z0-9-]{0,31}$' }) });
  const social = () => {
    if (identity.social === null) throw new KobanError('social_provider_unknown');
    return identity.social;
  };
  const timeouts = { idleMs: identity.deps.config.sessionIdleTimeoutMs, absoluteMs: identity.deps.config.sessionAbsoluteTimeoutMs };

  app.get('/v1/customer/social/providers', { schema: { tags: tagsSocial, summary: 'Configured social sign-in providers' } }, async () => ({ providers: identity.social?.providers() ?? [] }));
  app.get('/v1/customer/social/:provider/start', {
    schema: { tags: tagsSocial, summary: 'Sign in with a provider (only works for an already linked account): 303 to the provider', params: ProviderParams },
  }, async (request, reply) => {
    ensureDeviceToken(request, reply);
    const started = await social().start(request.params.provider, 'login', null, undefined);
    setSocialCookie(reply, started.bindingToken);
    return reply.code(303).header('location', started.authorizationUrl.href).send();
  });
  app.post('/v1/customer/social/:provider/link', {
    schema: { tags: tagsSocial, summary: 'Start linking a provider to the signed-in account (step-up link_social {providerId})', params: ProviderParams, headers: GrantHeader,
      body: Type.Optional(Type.Object({}, { additionalProperties: false })), response: { 200: Type.Object({ authorizationUrl: Type.String() }) } },
  }, async (request, reply) => {
    const session = await identity.guard(request);
    const grant = request.headers['x-step-up-grant'];
    const started = await social().start(request.params.provider, 'link', session, typeof grant === 'string' ? grant : undefined);
    setSocialCookie(reply, started.bindingToken);
    return { authorizationUrl: started.authorizationUrl.href };
  });
  app.get('/v1/customer/social/:provider/callback', {
    schema: { tags: tagsSocial, summary: 'Where the provider sends the browser back; bound to the transaction this browser started', params: ProviderParams },
  }, async (request, reply) => {
    const bindingToken = readToken(request, SOCIAL_COOKIE);
    clearCookie(reply, SOCIAL_COOKIE);
    const sessionToken = readToken(request, SESSION_COOKIE);
    const session = sessionToken === null ? null : await authenticateToken(identity.deps.db.pool, sessionToken, timeouts);
    // Built from the configured public origin, never from the Host header.
    const query = request.url.includes('?') ? request.url.slice(request.url.indexOf('?')) : '';
    const callbackUrl = new URL(`${callbackPath(request.params.provider)}${query}`, publicUrl);
    const deviceToken = ensureDeviceToken(request, reply);
    if (!isBrowserNavigation(request)) {
      const outcome = await social().finish(request.params.provider, callbackUrl, bindingToken, session, deviceToken, requestOrigin(request));
      if (outcome.status === 'linked') return outcome;
      return answerLogin(identity.deps, request, reply, outcome);
    }
    // A browser arrives here from the provider: land it back in the wallet, never on a JSON page.
    const target = await social().finish(request.params.provider, callbackUrl, bindingToken, session, deviceToken, requestOrigin(request)).then(
      async (outcome) => (outcome.status === 'linked' ? walletTarget('settings/social', { linked: outcome.providerId }) : walletLogin(await answerLogin(identity.deps, request, reply, outcome))),
      (error: unknown) => {
        if (!(error instanceof KobanError)) throw error;
        return walletTarget(session === null ? 'sign-in' : 'settings/social', { error: error.code });
      },
    );
    return reply.code(303).header('location', target).send();
  });
  app.get('/v1/customer/social', { schema: { tags: tagsSocial, summary: 'Linked external accounts' } }, async (request) => {
    const session = await identity.guard(request);
    const linked = identity.social === null ? [] : await identity.social.list(session.customerId);
    return { linked: linked.map((l) => ({ id: l.id, providerId: l.providerId, linkedAt: l.linkedAt.toISOString() })) };
  });
  app.delete('/v1/customer/social/:id', {
    schema: { tags: tagsSocial, summary: 'Unlink an external account (step-up unlink_social {identityId}); another way to sign in must remain', params: Type.Object({ id: Uuid }), headers: GrantHeader, response: { 200: Ok } },
  }, async (request) => {
    const session = await identity.guard(request);
    const grant = request.headers['x-step-up-grant'];
    await social().unlink(session, request.params.id, typeof grant === 'string' ? grant : undefined, requestOrigin(request));
    return { status: 'ok' as const };
  });
}
