// HTTP routes of the sandbox acquirer. They parse, call the card vault or the authorisation book, and map the
// result; the rules live in those two modules.
import { Type } from 'typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { parseAmountMinor } from '../shared/amount.ts';
import { invalidRequest, SandboxError } from '../shared/errors.ts';
import { IdempotencyHeadersSchema, sendIdempotent } from '../shared/idempotency.ts';
import type { HandlerResult, IdempotencyStore } from '../shared/idempotency.ts';
import type { SandboxApp } from '../shared/server.ts';
import { MAX_CHALLENGE_FAILURES } from './authorizations.ts';
import type { AuthorizationBook, AuthorizationRecord, ChallengeOutcome } from './authorizations.ts';
import type { CardVault } from './card-vault.ts';
import { CHALLENGE_PAGE_HEADERS, renderChallengePage, renderMessagePage } from './challenge-page.ts';
import * as S from './schemas.ts';
import { authorizationView, challengePath, refundView, tokenView } from './views.ts';

export interface AcquirerContext {
  vault: CardVault;
  book: AuthorizationBook;
  idempotency: IdempotencyStore;
  now: () => number;
  publicUrl: string | undefined;
}

const FORM_CONTENT_TYPE = 'application/x-www-form-urlencoded';

function baseUrl(ctx: AcquirerContext, request: FastifyRequest): string {
  return ctx.publicUrl ?? `${request.protocol}://${request.host}`;
}

function parseReturnUrl(value: string | undefined): string | null {
  if (value === undefined) return null;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw invalidRequest('parameter_invalid', 'returnUrl must be an absolute URL', 'returnUrl');
  }
  // Only web URLs: the page redirects the cardholder's browser here, so `javascript:` must never get through.
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw invalidRequest('parameter_invalid', 'returnUrl must be http(s)', 'returnUrl');
  return url.toString();
}

function authorizationBody(ctx: AcquirerContext, record: AuthorizationRecord, request: FastifyRequest) {
  const token = ctx.vault.get(record.tokenId);
  if (token === undefined) throw new Error('authorization references a missing token');
  const challenge = record.challengeId === null ? undefined : ctx.book.getChallenge(record.challengeId);
  return authorizationView(record, token, challenge, baseUrl(ctx, request));
}

const created = (body: unknown): HandlerResult => ({ statusCode: 201, body });
const ok = (body: unknown): HandlerResult => ({ statusCode: 200, body });

export function registerApiRoutes(api: SandboxApp, ctx: AcquirerContext): void {
  const idempotency = ctx.idempotency;
  api.post('/v1/tokens', {
    schema: { headers: IdempotencyHeadersSchema, body: S.TokenBodySchema, response: { 201: S.TokenSchema } },
  }, (request, reply) => {
    sendIdempotent(idempotency, request, reply, () => created(tokenView(ctx.vault.tokenize(request.body, ctx.now()))));
  });

  api.post('/v1/authorizations', {
    schema: { headers: IdempotencyHeadersSchema, body: S.AuthorizationBodySchema, response: { 201: S.AuthorizationSchema } },
  }, (request, reply) => {
    const body = request.body;
    sendIdempotent(idempotency, request, reply, () => created(authorizationBody(ctx, ctx.book.authorize({
      tokenId: body.token, amountMinor: parseAmountMinor(body.amount), reference: body.reference,
      returnUrl: parseReturnUrl(body.returnUrl), requestThreeDSecure: body.requestThreeDSecure ?? 'automatic',
    }), request)));
  });

  api.get('/v1/authorizations/:id', {
    schema: { params: S.AuthorizationParamsSchema, response: { 200: S.AuthorizationSchema } },
  }, (request) => authorizationBody(ctx, ctx.book.get(request.params.id), request));

  api.post('/v1/authorizations/:id/capture', {
    schema: { headers: IdempotencyHeadersSchema, params: S.AuthorizationParamsSchema, body: S.CaptureBodySchema, response: { 200: S.AuthorizationSchema } },
  }, (request, reply) => {
    const amount = request.body.amount;
    sendIdempotent(idempotency, request, reply, () => ok(authorizationBody(ctx,
      ctx.book.capture(request.params.id, amount === undefined ? undefined : parseAmountMinor(amount)), request)));
  });

  api.post('/v1/authorizations/:id/void', {
    schema: { headers: IdempotencyHeadersSchema, params: S.AuthorizationParamsSchema, response: { 200: S.AuthorizationSchema } },
  }, (request, reply) => {
    sendIdempotent(idempotency, request, reply, () => ok(authorizationBody(ctx, ctx.book.void(request.params.id), request)));
  });

  api.post('/v1/refunds', {
    schema: { headers: IdempotencyHeadersSchema, body: S.RefundBodySchema, response: { 201: S.RefundSchema } },
  }, (request, reply) => {
    const body = request.body;
    sendIdempotent(idempotency, request, reply, () => created(refundView(ctx.book.refund(body.authorizationId, parseAmountMinor(body.amount)))));
  });

  api.get('/v1/refunds/:id', {
    schema: { params: S.RefundParamsSchema, response: { 200: S.RefundSchema } },
  }, (request) => refundView(ctx.book.getRefund(request.params.id)));
}

function challengePage(ctx: AcquirerContext, challengeId: string, message: string | null): string {
  const challenge = ctx.book.getChallenge(challengeId);
  const record = ctx.book.get(challenge.authorizationId);
  const token = ctx.vault.get(record.tokenId);
  return renderChallengePage({
    actionPath: challengePath(challenge.id), amount: record.amountMinor.toString(), reference: record.reference,
    card: token === undefined ? 'unknown' : `${token.brand} •••• ${token.last4}`, status: challenge.status,
    attemptsRemaining: MAX_CHALLENGE_FAILURES - challenge.failedAttempts, message,
  });
}

function sendHtml(reply: FastifyReply, statusCode: number, html: string): FastifyReply {
  return reply.code(statusCode).headers(CHALLENGE_PAGE_HEADERS).send(html);
}

const OUTCOME_MESSAGES: Readonly<Record<ChallengeOutcome, string>> = {
  succeeded: 'Authentication complete. You can return to the merchant.',
  incorrect_code: 'The code is incorrect.',
  failed: 'Too many incorrect codes: the payment was not authenticated.',
};

// A browser form gets a page (or a redirect to the merchant's returnUrl); an API client gets JSON.
function answerForm(ctx: AcquirerContext, challengeId: string, code: string, reply: FastifyReply): void {
  let outcome: ChallengeOutcome;
  try {
    outcome = ctx.book.answerChallenge(challengeId, code);
  } catch (error) {
    if (!(error instanceof SandboxError)) throw error;
    sendHtml(reply, error.statusCode, renderMessagePage(error.message));
    return;
  }
  const record = ctx.book.get(ctx.book.getChallenge(challengeId).authorizationId);
  if (outcome !== 'incorrect_code' && record.returnUrl !== null) {
    const target = new URL(record.returnUrl);
    target.searchParams.set('authorization_id', record.id);
    target.searchParams.set('status', record.status);
    reply.code(303).header('location', target.toString()).send();
    return;
  }
  sendHtml(reply, outcome === 'incorrect_code' ? 400 : 200, challengePage(ctx, challengeId, OUTCOME_MESSAGES[outcome]));
}

function answerJson(ctx: AcquirerContext, challengeId: string, code: string) {
  const result = ctx.book.answerChallenge(challengeId, code);
  const challenge = ctx.book.getChallenge(challengeId);
  const record = ctx.book.get(challenge.authorizationId);
  return {
    id: challenge.id, status: challenge.status, result, attemptsRemaining: MAX_CHALLENGE_FAILURES - challenge.failedAttempts,
    authorization: { id: record.id, status: record.status, declineCode: record.declineCode },
  };
}

const ChallengeAnswerSchema = Type.Object({
  id: Type.String(),
  status: Type.String(),
  result: Type.String(),
  attemptsRemaining: Type.Integer(),
  authorization: Type.Object({ id: Type.String(), status: Type.String(), declineCode: Type.Union([Type.String(), Type.Null()]) }),
});

/** Reached by the cardholder's browser, so no API key: the unguessable challenge id is the capability. */
export function registerChallengeRoutes(scope: SandboxApp, ctx: AcquirerContext): void {
  scope.get('/v1/challenges/:id', { schema: { params: S.ChallengeParamsSchema } }, (request, reply) => {
    try {
      return sendHtml(reply, 200, challengePage(ctx, request.params.id, null));
    } catch (error) {
      if (error instanceof SandboxError) return sendHtml(reply, error.statusCode, renderMessagePage(error.message));
      throw error;
    }
  });
  scope.post('/v1/challenges/:id', { schema: { params: S.ChallengeParamsSchema, body: S.ChallengeBodySchema, response: { 200: ChallengeAnswerSchema } } },
    (request, reply) => {
      const isForm = (request.headers['content-type'] ?? '').startsWith(FORM_CONTENT_TYPE);
      if (isForm) {
        answerForm(ctx, request.params.id, request.body.code, reply);
        return;
      }
      return answerJson(ctx, request.params.id, request.body.code);
    });
}
