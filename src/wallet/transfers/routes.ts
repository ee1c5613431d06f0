/**
 * HTTP routes for sending, requesting, splitting and withdrawing money (`/v1/customer/...`). They parse,
 * call the module and map the result; step-up grants come in `X-Step-Up-Grant`, the charge PIN in the body,
 * and every money-moving POST needs an `Idempotency-Key`.
 */
import { Type } from 'typebox';
import type { App } from '../../http/app.ts';
import { requestOrigin } from '../../identity/http/guard.ts';
import { UUID_PATTERN } from '../../platform/ids.ts';
import { parseAmountMinor } from '../../platform/money.ts';
import type { WalletIdentity } from '../identity-port.ts';
import type { MoneyAllowance } from './money-limits.ts';
import { withdrawalView } from './withdrawals.ts';
import type { Transfers } from './transfers.ts';
import { grantOf, idempotencyKeyOf } from '../request-headers.ts';

const tags = ['wallet transfers'];
const Uuid = Type.String({ pattern: UUID_PATTERN });
const IdParams = Type.Object({ id: Uuid });
const TokenParams = Type.Object({ token: Type.String({ pattern: '^[A-Za-z0-9_-]{16,64}$' }) });
const GrantHeader = Type.Object({ 'x-step-up-grant': Type.Optional(Type.String({ maxLength: 128 })) });
const Amount = Type.Union([Type.String({ maxLength: 40 }), Type.Integer()]);
const To = Type.String({ minLength: 1, maxLength: 40 });
const Message = Type.Optional(Type.String({ maxLength: 200 }));
const Pin = Type.Optional(Type.String({ maxLength: 16 }));

const SendBody = Type.Object({ to: To, amount: Amount, message: Message, pin: Pin }, { additionalProperties: false });
const PayBody = Type.Object({ pin: Pin }, { additionalProperties: false });
const RequestBody = Type.Object({ amount: Amount, message: Message }, { additionalProperties: false });
const SplitBody = Type.Object({
  total: Amount, message: Message, participants: Type.Array(To, { minItems: 1, maxItems: 20 }), includeMe: Type.Optional(Type.Boolean()),
}, { additionalProperties: false });
const WithdrawBody = Type.Object({ fundingSourceId: Uuid, amount: Amount, pin: Pin }, { additionalProperties: false });


export function allowanceView(a: MoneyAllowance) {
  const view = (x: MoneyAllowance['daily']) => ({ limit: x.limitMinor.toString(), used: x.usedMinor.toString(), remaining: x.remainingMinor.toString() });
  return { perTransferMax: a.perTransferMax?.toString() ?? null, daily: view(a.daily), monthly: view(a.monthly) };
}

export function registerTransferRoutes(app: App, transfers: Transfers, identity: WalletIdentity, maxAmountMinor: bigint): void {
  const amountOf = (value: string | number, pointer: string) => parseAmountMinor(value, maxAmountMinor, pointer);
  app.get('/v1/customer/koban-id', { schema: { tags, summary: 'This customer\'s Koban ID (what others send to) and its link for a QR code' } }, async (request) => {
    const session = await identity.guard(request);
    const handle = await transfers.handleOf(session.customerId);
    return { kobanId: handle, link: `${transfers.deps.wallet.publicUrl}/wallet/send?to=${handle}` };
  });
  app.get('/v1/customer/recipients', { schema: { tags, summary: 'The Koban ID of a phone number or Koban ID, to confirm before sending', querystring: Type.Object({ to: To }) } }, async (request) => {
    await identity.guard(request);
    return { kobanId: (await transfers.resolveRecipient(request.query.to)).handle };
  });
  app.post('/v1/customer/transfers', {
    schema: { tags, summary: 'Send money from the funds-transfer balance (Idempotency-Key; step-up send {amountMinor, recipient: Koban ID}; charge PIN)', headers: GrantHeader, body: SendBody },
  }, async (request, reply) => {
    const session = await identity.guard(request);
    const body = request.body;
    const sent = await transfers.send(session, {
      idempotencyKey: idempotencyKeyOf(request), to: body.to, amountMinor: amountOf(body.amount, '/body/amount'), message: body.message ?? '', grant: grantOf(request), pin: body.pin,
    }, requestOrigin(request));
    if (sent.replayed) reply.header('idempotent-replayed', 'true');
    reply.code(sent.replayed ? 200 : 201);
    return transfers.view(sent.transfer, session.customerId);
  });
  app.get('/v1/customer/transfers', { schema: { tags, summary: 'Transfers sent and received, newest first' } }, async (request) => {
    const session = await identity.guard(request);
    return { transfers: await Promise.all((await transfers.list(session.customerId)).map((row) => transfers.view(row, session.customerId))) };
  });
  for (const action of ['accept', 'decline'] as const) {
    app.post(`/v1/customer/transfers/:id/${action}`, { schema: { tags, summary: `${action === 'accept' ? 'Accept' : 'Decline'} money sent to you`, params: IdParams } }, async (request) => {
      const session = await identity.guard(request);
      const row = action === 'accept' ? await transfers.accept(session.customerId, request.params.id) : await transfers.decline(session.customerId, request.params.id);
      return transfers.view(row, session.customerId);
    });
  }
  registerRequestRoutes(app, transfers, identity, amountOf);
  registerWithdrawalRoutes(app, transfers, identity, amountOf);
}

function registerRequestRoutes(app: App, transfers: Transfers, identity: WalletIdentity, amountOf: (value: string | number, pointer: string) => bigint): void {
  app.post('/v1/customer/money-requests', { schema: { tags, summary: 'Request money with a link', body: RequestBody } }, async (request, reply) => {
    const session = await identity.guard(request);
    const row = await transfers.createRequest(session.customerId, amountOf(request.body.amount, '/body/amount'), request.body.message ?? '');
    reply.code(201);
    return transfers.requestView(row);
  });
  app.get('/v1/customer/money-requests', { schema: { tags, summary: 'Requests you made and requests addressed to you' } }, async (request) => {
    const session = await identity.guard(request);
    const lists = await transfers.listRequests(session.customerId);
    return { mine: await Promise.all(lists.mine.map(transfers.requestView)), toPay: await Promise.all(lists.toPay.map(transfers.requestView)) };
  });
  app.get('/v1/customer/money-requests/:token', { schema: { tags, summary: 'A money request opened from its link', params: TokenParams } }, async (request) => {
    const session = await identity.guard(request);
    return transfers.requestView(await transfers.requestForPayer(request.params.token, session.customerId));
  });
  app.post('/v1/customer/money-requests/:token/pay', {
    schema: { tags, summary: 'Pay a money request: a send to the requester (Idempotency-Key; step-up send {amountMinor, recipient}; charge PIN)', params: TokenParams, headers: GrantHeader, body: PayBody },
  }, async (request, reply) => {
    const session = await identity.guard(request);
    const sent = await transfers.payRequest(session, request.params.token, { idempotencyKey: idempotencyKeyOf(request), grant: grantOf(request), pin: request.body.pin }, requestOrigin(request));
    if (sent.replayed) reply.header('idempotent-replayed', 'true');
    reply.code(sent.replayed ? 200 : 201);
    return transfers.view(sent.transfer, session.customerId);
  });
  app.post('/v1/customer/money-requests/:id/cancel', { schema: { tags, summary: 'Cancel a request you made', params: IdParams } }, async (request) => {
    const session = await identity.guard(request);
    return transfers.requestView(await transfers.cancelRequest(session.customerId, request.params.id));
  });
  app.post('/v1/customer/splits', { schema: { tags, summary: 'Split a bill (わりかん): each participant gets a request for their share', body: SplitBody } }, async (request, reply) => {
    const session = await identity.guard(request);
    const body = request.body;
    const split = await transfers.createSplit(session.customerId, { totalMinor: amountOf(body.total, '/body/total'), message: body.message ?? '', participants: body.participants, organiserShares: body.includeMe ?? true });
    reply.code(201);
    return { splitId: split.splitId, requests: await Promise.all(split.requests.map(transfers.requestView)) };
  });
  app.get('/v1/customer/splits/:id', { schema: { tags, summary: 'A bill split and who has paid', params: IdParams } }, async (request) => {
    const session = await identity.guard(request);
    const status = await transfers.splitStatus(session.customerId, request.params.id);
    return { splitId: status.split.id, total: status.split.total_minor.toString(), message: status.split.message, participants: await Promise.all(status.requests.map(transfers.requestView)) };
  });
  app.post('/v1/customer/splits/:id/remind', { schema: { tags, summary: 'Remind the participants who have not paid', params: IdParams } }, async (request) => {
    const session = await identity.guard(request);
    return { reminded: await transfers.remindSplit(session.customerId, request.params.id) };
  });
}

function registerWithdrawalRoutes(app: App, transfers: Transfers, identity: WalletIdentity, amountOf: (value: string | number, pointer: string) => bigint): void {
  app.post('/v1/customer/withdrawals', {
    schema: { tags, summary: 'Withdraw to your own confirmed bank account (Idempotency-Key; step-up withdraw {amountMinor, fundingSourceId}; charge PIN)', headers: GrantHeader, body: WithdrawBody },
  }, async (request, reply) => {
    const session = await identity.guard(request);
    const body = request.body;
    const started = await transfers.withdraw(session, {
      idempotencyKey: idempotencyKeyOf(request), fundingSourceId: body.fundingSourceId, amountMinor: amountOf(body.amount, '/body/amount'), grant: grantOf(request), pin: body.pin,
    }, requestOrigin(request));
    if (started.replayed) reply.header('idempotent-replayed', 'true');
    reply.code(started.replayed ? 200 : 201);
    return withdrawalView(started.withdrawal);
  });
  app.get('/v1/customer/withdrawals', { schema: { tags, summary: 'Your withdrawals, newest first' } }, async (request) => {
    const session = await identity.guard(request);
    return { withdrawals: (await transfers.listWithdrawals(session.customerId)).map(withdrawalView) };
  });
  app.get('/v1/customer/withdrawals/:id', { schema: { tags, summary: 'One withdrawal', params: IdParams } }, async (request) => {
    const session = await identity.guard(request);
    return withdrawalView(await transfers.getWithdrawal(session.customerId, request.params.id));
  });
}
