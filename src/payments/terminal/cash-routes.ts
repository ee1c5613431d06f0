/**
 * The till's 「現金チャージ」 routes (issue 19), `/v1/till/cash-top-ups*`: the same terminal session, origin check
 * and CSRF header as the rest of `/v1/till` (routes.ts). Routes parse, call `cash-top-up.ts` and map.
 */
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { App } from '../../http/app.ts';
import { checkBrowserOrigin } from '../../identity/http/guard.ts';
import { readCookie } from '../../operations/http.ts';
import { KobanError } from '../../platform/errors.ts';
import { parseAmountMinor } from '../../platform/money.ts';
import { receiptNumber } from '../../platform/receipt-number.ts';
import type { CashTopUpRow } from '../../wallet/cash/cash-top-ups.ts';
import type { TerminalAccess, TerminalPrincipal } from './access.ts';
import type { TillCash } from './cash-top-up.ts';
import { TERMINAL_COOKIE } from './routes.ts';

const tags = ['till'];
const CSRF_HEADER = 'x-csrf-token';
const TillTopUpId = Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' });
const Code = Type.String({ minLength: 1, maxLength: 64 });
const Amount = Type.String({ pattern: '^[1-9][0-9]{0,11}$', description: 'integer yen as a string of digits' });
const security = `Terminal session: cookie ${TERMINAL_COOKIE}, plus header ${CSRF_HEADER} on every POST.`;

export function cashTopUpOut(row: CashTopUpRow) {
  return {
    tillTopUpId: row.till_top_up_id, receiptNumber: receiptNumber(row.id), status: row.status, amount: row.amount_minor.toString(),
    secondClerkApproved: row.approved_by_user_id !== null, createdAt: row.created_at.toISOString(), voidedAt: row.voided_at?.toISOString() ?? null, voidReason: row.void_reason,
  };
}

export function registerTillCashRoutes(app: App, options: { access: TerminalAccess; cash: TillCash; publicUrl: string; maxAmountMinor: bigint }): void {
  const { access, cash } = options;
  const originCheck = checkBrowserOrigin(new URL(options.publicUrl).origin);
  const principals = new WeakMap<FastifyRequest, TerminalPrincipal>();
  const onRequest = async (request: FastifyRequest): Promise<void> => {
    await originCheck(request);
    const token = readCookie(request.headers.cookie, TERMINAL_COOKIE);
    const principal = token === null ? null : await access.authenticate(token);
    if (principal === null) throw new KobanError('unauthenticated', { detail: 'this till is not activated, or its session has ended; activate it again' });
    if (request.method !== 'GET' && !access.csrfMatches(principal, request.headers[CSRF_HEADER] as string | undefined)) {
      throw new KobanError('csrf_failed', { detail: `state-changing requests need the till session's ${CSRF_HEADER} header` });
    }
    principals.set(request, principal);
  };
  const principalOf = (request: FastifyRequest): TerminalPrincipal => {
    const principal = principals.get(request);
    if (principal === undefined) throw new KobanError('unauthenticated');
    return principal;
  };
  const staffContext = (request: FastifyRequest) => {
    const agent = request.headers['user-agent'];
    return { ip: request.ip ?? null, userAgent: typeof agent === 'string' ? agent : null, requestId: request.id };
  };

  app.post('/v1/till/cash-top-ups/preview', {
    onRequest,
    schema: { tags, summary: 'Read a scanned top-up code: the masked customer, the amounts this code can take, and whether a second clerk must approve', description: security,
      body: Type.Object({ code: Code }, { additionalProperties: false }) },
  }, async (request) => {
    const preview = await cash.preview(principalOf(request), request.body.code);
    return { maskedName: preview.maskedName, minAmount: preview.minAmountMinor.toString(), maxAmount: preview.maxAmountMinor.toString(), secondClerkRequired: preview.secondClerkRequired };
  });

  app.post('/v1/till/cash-top-ups', {
    onRequest,
    schema: {
      tags, summary: 'Take cash and top up the customer\'s wallet (idempotent by tillTopUpId: a retry answers the first result)', description: security,
      body: Type.Object({
        tillTopUpId: TillTopUpId, code: Code, amount: Amount,
        secondClerk: Type.Optional(Type.Object({ email: Type.String({ minLength: 3, maxLength: 254 }), totpCode: Type.String({ pattern: '^[0-9]{6}$' }) }, { additionalProperties: false })),
      }, { additionalProperties: false }),
    },
  }, async (request, reply) => {
    const body = request.body;
    const taken = await cash.take(principalOf(request), {
      tillTopUpId: body.tillTopUpId, code: body.code, amountMinor: parseAmountMinor(body.amount, options.maxAmountMinor, '/body/amount'), secondClerk: body.secondClerk ?? null,
    }, staffContext(request));
    if (taken.replayed) reply.header('idempotent-replayed', 'true');
    reply.code(taken.replayed ? 200 : 201);
    return cashTopUpOut(taken.topUp);
  });

  app.get('/v1/till/cash-top-ups', { onRequest, schema: { tags, summary: 'Today\'s cash top-ups at this till', description: security } },
    async (request) => ({ cashTopUps: (await cash.today(principalOf(request))).map(cashTopUpOut) }));

  app.get('/v1/till/cash-top-ups/:tillTopUpId', { onRequest, schema: { tags, summary: 'One cash top-up of this till', description: security, params: Type.Object({ tillTopUpId: TillTopUpId }) } },
    async (request) => cashTopUpOut(await cash.get(principalOf(request), request.params.tillTopUpId)));

  app.post('/v1/till/cash-top-ups/:tillTopUpId/void', {
    onRequest,
    schema: { tags, summary: 'Void a cash top-up of this till (whole, within the void window, only if the customer has not spent it); give the cash back', description: security,
      params: Type.Object({ tillTopUpId: TillTopUpId }), body: Type.Object({ reason: Type.String({ minLength: 1, maxLength: 255 }) }, { additionalProperties: false }) },
  }, async (request) => cashTopUpOut(await cash.void(principalOf(request), request.params.tillTopUpId, request.body.reason)));
}
