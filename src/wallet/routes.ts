/**
 * The wallet's HTTP routes: funding sources and top-ups for the signed-in customer (`/v1/customer/...`),
 * the 3-D Secure return, and the providers' webhook receivers. Routes parse, call the module and map the
 * result; card numbers and CVVs pass straight to the acquirer and are never logged or stored.
 */
import { Type } from 'typebox';
import type { App } from '../http/app.ts';
import { requestOrigin } from '../identity/http/guard.ts';
import { KobanError } from '../platform/errors.ts';
import { parseAmountMinor } from '../platform/money.ts';
import { UUID_PATTERN } from '../platform/ids.ts';
import { fundingSourceView } from './funding-sources.ts';
import { WEBHOOK_SIGNATURE_HEADER } from './funding/webhook-signature.ts';
import type { Provider } from './provider-webhooks.ts';
import { topUpAllowance, topUpView } from './top-ups.ts';
import type { Wallet } from './wallet.ts';
import { allowanceView } from './transfers/routes.ts';
import { grantOf, idempotencyKeyOf } from './request-headers.ts';

const tags = ['wallet funding'];
const Uuid = Type.String({ pattern: UUID_PATTERN });
const IdParams = Type.Object({ id: Uuid });
const GrantHeader = Type.Object({ 'x-step-up-grant': Type.Optional(Type.String({ maxLength: 128 })) });
const WEBHOOK_BODY_LIMIT_BYTES = 64 * 1024;

const CardBody = Type.Object({
  number: Type.String({ pattern: '^[0-9]{12,19}$' }),
  expMonth: Type.Integer({ minimum: 1, maximum: 12 }),
  expYear: Type.Integer({ minimum: 2000, maximum: 2200 }),
  cvv: Type.String({ pattern: '^[0-9]{3,4}$' }),
  holderName: Type.String({ minLength: 1, maxLength: 64 }),
}, { additionalProperties: false });
const BankBody = Type.Object({
  bankCode: Type.String({ pattern: '^[0-9]{4}$' }),
  branchCode: Type.String({ pattern: '^[0-9]{3}$' }),
  accountType: Type.Union([Type.Literal('ordinary'), Type.Literal('current')]),
  accountNumber: Type.String({ pattern: '^[0-9]{7}$' }),
  holderNameKana: Type.String({ minLength: 1, maxLength: 40 }),
}, { additionalProperties: false });
const TopUpBody = Type.Object({
  fundingSourceId: Uuid,
  amount: Type.Union([Type.String({ maxLength: 40 }), Type.Integer()]),
  pin: Type.Optional(Type.String({ maxLength: 16 })),
  threeDSecure: Type.Optional(Type.Boolean()),
}, { additionalProperties: false });


export function registerWalletRoutes(app: App, wallet: Wallet): void {
  const identity = wallet.identity;
  registerFundingSourceRoutes(app, wallet);

  app.post('/v1/customer/top-ups', {
    schema: { tags, summary: 'Top up the wallet (Idempotency-Key; step-up top_up {amountMinor, fundingSourceId} in X-Step-Up-Grant; charge PIN)', headers: GrantHeader, body: TopUpBody },
  }, async (request, reply) => {
    const session = await identity.guard(request);
    const idempotencyKey = idempotencyKeyOf(request);
    const body = request.body;
    const amountMinor = parseAmountMinor(body.amount, wallet.deps.ledger.maxAmountMinor, '/body/amount');
    const started = await wallet.startTopUp(session, {
      idempotencyKey, fundingSourceId: body.fundingSourceId, amountMinor, threeDSecure: body.threeDSecure ?? false, grant: grantOf(request), pin: body.pin,
    }, requestOrigin(request));
    if (started.replayed) reply.header('idempotent-replayed', 'true');
    reply.code(started.replayed ? 200 : 201);
    return topUpView(started.topUp);
  });
  app.get('/v1/customer/top-ups', { schema: { tags, summary: 'This customer\'s top-ups, newest first' } }, async (request) => {
    const session = await identity.guard(request);
    return { topUps: (await wallet.listTopUps(session.customerId)).map(topUpView) };
  });
  app.get('/v1/customer/top-ups/:id', { schema: { tags, summary: 'One top-up', params: IdParams } }, async (request) => {
    const session = await identity.guard(request);
    return topUpView(await wallet.getTopUp(session.customerId, request.params.id));
  });
  // The cardholder's browser comes back here from the 3-D Secure page. Its query string is not trusted:
  // Koban reads the authorization from the acquirer. Only the status is answered.
  app.get('/v1/top-ups/:id/3ds-return', { schema: { tags, summary: 'Return from 3-D Secure (the acquirer redirects the browser here)', params: IdParams } }, async (request, reply) => {
    const row = await wallet.advanceTopUp(request.params.id);
    if (row === null) throw new KobanError('top_up_not_found');
    // A cardholder's browser goes back to the wallet's top-up screen (which reads the status itself).
    if (request.headers.accept?.includes('text/html') === true) return reply.redirect(`/wallet/top-up/${row.id}`, 303);
    return { topUpId: row.id, status: row.status };
  });
  app.get('/v1/customer/limits', { schema: { tags, summary: 'The customer\'s tier and what they can still top up, pay, send and withdraw (per transfer, in 24 hours, in 30 days)' } }, async (request) => {
    const session = await identity.guard(request);
    const allowed = await topUpAllowance(wallet.deps, session.customerId);
    const view = (a: typeof allowed.daily) => ({ limit: a.limitMinor.toString(), used: a.usedMinor.toString(), remaining: a.remainingMinor.toString() });
    // Per-tier payment, send and withdrawal limits (issue 19, transfers/money-limits.ts): "you can send ¥X more today".
    const money = await wallet.transfers.allowances(session.customerId);
    return { tier: allowed.tier, topUp: { perTopUpMax: allowed.perTopUpMaxMinor.toString(), daily: view(allowed.daily), monthly: view(allowed.monthly) },
      payment: allowanceView(money.payment), send: allowanceView(money.send), withdrawal: allowanceView(money.withdrawal) };
  });
  registerWebhookRoutes(app, wallet);
}

function registerFundingSourceRoutes(app: App, wallet: Wallet): void {
  const identity = wallet.identity;
  app.post('/v1/customer/funding-sources/cards', {
    schema: { tags, summary: 'Register a card (step-up add_funding_source {kind: "card", last4}); the acquirer tokenises it', headers: GrantHeader, body: CardBody },
  }, async (request, reply) => {
    const session = await identity.guard(request);
    const row = await wallet.addCard(session, request.body, grantOf(request), requestOrigin(request));
    reply.code(201);
    return fundingSourceView(row);
  });
  app.post('/v1/customer/funding-sources/bank-accounts', {
    schema: { tags, summary: 'Start a direct-debit mandate (step-up add_funding_source {kind: "bank", last4}); the bank sends its own code', headers: GrantHeader, body: BankBody },
  }, async (request, reply) => {
    const session = await identity.guard(request);
    const row = await wallet.addBankAccount(session, request.body, grantOf(request), requestOrigin(request));
    reply.code(201);
    return fundingSourceView(row);
  });
  app.post('/v1/customer/funding-sources/:id/confirm', {
    schema: { tags, summary: 'Relay the one-time code the bank sent the account holder', params: IdParams, body: Type.Object({ code: Type.String({ pattern: '^[0-9]{4,8}$' }) }, { additionalProperties: false }) },
  }, async (request) => {
    const session = await identity.guard(request);
    return fundingSourceView(await wallet.confirmBankAccount(session.customerId, request.params.id, request.body.code));
  });
  app.get('/v1/customer/funding-sources', { schema: { tags, summary: 'Registered cards and bank accounts' } }, async (request) => {
    const session = await identity.guard(request);
    return { fundingSources: (await wallet.listFundingSources(session.customerId)).map(fundingSourceView) };
  });
  app.delete('/v1/customer/funding-sources/:id', { schema: { tags, summary: 'Remove a card or bank account', params: IdParams } }, async (request) => {
    const session = await identity.guard(request);
    await wallet.removeFundingSource(session.customerId, request.params.id);
    return { status: 'ok' as const };
  });
}

/** The signature covers the raw bytes, so these routes read the body as a Buffer in their own scope. */
function registerWebhookRoutes(app: App, wallet: Wallet): void {
  void app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: WEBHOOK_BODY_LIMIT_BYTES }, (_request, body, done) => done(null, body));
    for (const provider of ['acquirer', 'bank'] as const satisfies readonly Provider[]) {
      scope.post(`/v1/webhooks/${provider}`, { schema: { tags, summary: `Signed webhook from the ${provider}` } }, async (request) => {
        const header = request.headers[WEBHOOK_SIGNATURE_HEADER];
        const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
        const userAgent = request.headers['user-agent'];
        return { status: await wallet.receiveWebhook(provider, typeof header === 'string' ? header : undefined, raw, { ip: request.ip, userAgent: typeof userAgent === 'string' ? userAgent : null }) };
      });
    }
  });
}
